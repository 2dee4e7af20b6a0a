//! Funding in GraphQL: funding streams with their ceiling rules, allocations, and the
//! mutations that request, change, award and cancel allocations.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::funding::{self as model, CeilingCase};
use domain::ids::{AllocationId, PartnershipId, StreamId};
use domain::money::Euros;
use persistence::SortDirection as Direction;
use persistence::repo::{AllocationChange, NewAllocation};

use super::connection::{Count, CountedConnection, connection, page_request};
use super::enums::AllocationStatus;
use super::loaders::RulesOfStream;
use super::partnership::Partnership;
use super::scalars::Decimal;
use super::{db, load};
use crate::error::{ApiError, ApiResult};
use crate::ids::{self, NodeType};

/// An EU funding stream of the 2021-2027 budget: AMIF, ESF+ or ERDF.
pub struct FundingStream(pub model::FundingStream);

#[Object]
impl FundingStream {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::FundingStream, self.0.id.as_uuid())
    }

    /// `AMIF`, `ESF_PLUS` or `ERDF`.
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn legal_basis(&self) -> &str {
        &self.0.legal_basis
    }

    async fn period_start(&self) -> NaiveDate {
        self.0.period_start
    }

    async fn period_end(&self) -> NaiveDate {
        self.0.period_end
    }

    /// The co-financing ceilings of this stream, one per case, by case name.
    async fn ceiling_rules(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CeilingRule>> {
        let rules = load(ctx, RulesOfStream(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rules.into_iter().map(CeilingRule).collect())
    }

    /// The stream's allocations, in the order they were created.
    async fn allocations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<Allocation>> {
        let page = page_request(first, after, Direction::Asc)?;
        let result = db(ctx)?
            .allocations()
            .of_stream(self.0.id, &page)
            .await
            .map_err(ApiError::from)?;
        Ok(connection(
            result,
            page.after.is_some(),
            Count::AllocationsOfStream(self.0.id),
            Allocation,
        ))
    }
}

/// The highest EU share of the eligible cost for one case of one stream, with its legal
/// reference. Rows, not constants: a correction is a data change.
pub struct CeilingRule(pub model::CeilingRule);

#[Object]
impl CeilingRule {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::CeilingRule, self.0.id.as_uuid())
    }

    /// The case name an allocation claims (`STANDARD`, `LESS_DEVELOPED_REGION`...).
    async fn case(&self) -> &str {
        self.0.case.as_str()
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The ceiling as a fraction (`"0.7500"` for 75%).
    async fn max_rate(&self) -> Decimal {
        Decimal(self.0.max_rate.to_decimal())
    }

    async fn legal_reference(&self) -> &str {
        &self.0.legal_reference
    }

    /// False while the figure awaits a check against the regulation's text.
    async fn verified(&self) -> bool {
        self.0.verified
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    async fn stream(&self, ctx: &Context<'_>) -> async_graphql::Result<FundingStream> {
        load(ctx, self.0.stream_id)
            .await?
            .map(FundingStream)
            .ok_or_else(|| ApiError::internal("rule without stream").into())
    }
}

/// Money of a funding stream allocated to a partnership.
pub struct Allocation(pub model::Allocation);

#[Object]
impl Allocation {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Allocation, self.0.id.as_uuid())
    }

    async fn partnership(&self, ctx: &Context<'_>) -> async_graphql::Result<Partnership> {
        load(ctx, self.0.partnership_id)
            .await?
            .map(Partnership)
            .ok_or_else(|| ApiError::internal("allocation without partnership").into())
    }

    async fn stream(&self, ctx: &Context<'_>) -> async_graphql::Result<FundingStream> {
        load(ctx, self.0.stream_id)
            .await?
            .map(FundingStream)
            .ok_or_else(|| ApiError::internal("allocation without stream").into())
    }

    /// The ceiling case the allocation claims.
    async fn ceiling_rule(&self, ctx: &Context<'_>) -> async_graphql::Result<CeilingRule> {
        load(ctx, self.0.ceiling_rule_id)
            .await?
            .map(CeilingRule)
            .ok_or_else(|| ApiError::internal("allocation without rule").into())
    }

    /// Total eligible cost in euros, two decimals (`"400000.00"`).
    async fn eligible_cost(&self) -> Decimal {
        Decimal(self.0.eligible_cost.to_decimal())
    }

    /// EU contribution in euros, two decimals.
    async fn eu_contribution(&self) -> Decimal {
        Decimal(self.0.eu_contribution.to_decimal())
    }

    /// EU contribution / eligible cost, rounded half-even to four decimals (`"0.7500"`).
    /// Rules compare the exact amounts, not this rounded figure.
    async fn co_financing_rate(&self) -> Decimal {
        Decimal(self.0.co_financing_rate())
    }

    async fn status(&self) -> AllocationStatus {
        self.0.status.into()
    }

    /// The date of the award or cancellation decision.
    async fn decision_date(&self) -> Option<NaiveDate> {
        self.0.decision_date
    }

    /// The funder's reference, unique within the stream.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(Default)]
pub struct FundingQuery;

#[Object]
impl FundingQuery {
    /// The funding streams, by code.
    async fn funding_streams(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<FundingStream>> {
        let streams = db(ctx)?.funding().streams().await.map_err(ApiError::from)?;
        Ok(streams.into_iter().map(FundingStream).collect())
    }

    /// One funding stream by code (`AMIF`, `ESF_PLUS`, `ERDF`); null when there is none.
    async fn funding_stream(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Option<FundingStream>> {
        let stream = db(ctx)?
            .funding()
            .stream_by_code(code.trim())
            .await
            .map_err(ApiError::from)?;
        Ok(stream.map(FundingStream))
    }

    /// One allocation by id; null when there is none.
    async fn allocation(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Allocation>> {
        let id = ids::decode(NodeType::Allocation, &id, "id")?;
        Ok(load(ctx, AllocationId::from_uuid(id))
            .await?
            .map(Allocation))
    }
}

/// A request for money from a stream, under one of the stream's ceiling cases.
#[derive(InputObject)]
pub struct CreateAllocationInput {
    pub partnership_id: ID,
    pub stream_id: ID,
    /// A case of the stream's ceiling rules (`STANDARD`, `SPECIFIC_ACTION`, ...).
    pub ceiling_case: String,
    /// Euros with at most two decimals, as a string.
    pub eligible_cost: Decimal,
    /// Euros with at most two decimals, at most the case's ceiling times the eligible cost.
    pub eu_contribution: Decimal,
    pub reference: Option<String>,
}

/// A change of a REQUESTED allocation's terms: omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateAllocationInput {
    pub id: ID,
    pub ceiling_case: Option<String>,
    pub eligible_cost: Option<Decimal>,
    pub eu_contribution: Option<Decimal>,
    pub reference: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct ChangeAllocationStatusInput {
    pub id: ID,
    pub status: AllocationStatus,
    /// Required to award; the date of the decision.
    pub decision_date: Option<NaiveDate>,
}

#[derive(SimpleObject)]
pub struct AllocationPayload {
    pub allocation: Allocation,
}

fn euros(field: &str, value: &Decimal) -> ApiResult<Euros> {
    Ok(Euros::parse(field, &value.text())?)
}

fn reference(raw: Option<String>) -> ApiResult<Option<String>> {
    Ok(raw.map(|r| model::parse_reference(&r)).transpose()?)
}

#[derive(Default)]
pub struct FundingMutation;

#[Object]
impl FundingMutation {
    /// Requests money from a stream for a partnership. The EU contribution may not exceed the
    /// ceiling of the claimed case.
    async fn create_allocation(
        &self,
        ctx: &Context<'_>,
        input: CreateAllocationInput,
    ) -> async_graphql::Result<AllocationPayload> {
        let created = async {
            let new = NewAllocation {
                partnership_id: PartnershipId::from_uuid(ids::decode(
                    NodeType::Partnership,
                    &input.partnership_id,
                    "partnershipId",
                )?),
                stream_id: StreamId::from_uuid(ids::decode(
                    NodeType::FundingStream,
                    &input.stream_id,
                    "streamId",
                )?),
                ceiling_case: CeilingCase::parse(&input.ceiling_case)?,
                eligible_cost: euros("eligibleCost", &input.eligible_cost)?,
                eu_contribution: euros("euContribution", &input.eu_contribution)?,
                reference: reference(input.reference)?,
            };
            Ok::<_, ApiError>(db(ctx)?.allocations().create(new).await?)
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(AllocationPayload {
            allocation: Allocation(created),
        })
    }

    /// Changes the terms of a REQUESTED allocation.
    async fn update_allocation(
        &self,
        ctx: &Context<'_>,
        input: UpdateAllocationInput,
    ) -> async_graphql::Result<AllocationPayload> {
        let changed = async {
            let id = AllocationId::from_uuid(ids::decode(NodeType::Allocation, &input.id, "id")?);
            let change = AllocationChange {
                ceiling_case: input
                    .ceiling_case
                    .map(|c| CeilingCase::parse(&c))
                    .transpose()?,
                eligible_cost: input
                    .eligible_cost
                    .map(|v| euros("eligibleCost", &v))
                    .transpose()?,
                eu_contribution: input
                    .eu_contribution
                    .map(|v| euros("euContribution", &v))
                    .transpose()?,
                reference: match input.reference {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => Some(None),
                    MaybeUndefined::Value(r) => Some(reference(Some(r))?),
                },
            };
            Ok::<_, ApiError>(db(ctx)?.allocations().change(id, change).await?)
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(AllocationPayload {
            allocation: Allocation(changed),
        })
    }

    /// Awards or cancels an allocation.
    async fn change_allocation_status(
        &self,
        ctx: &Context<'_>,
        input: ChangeAllocationStatusInput,
    ) -> async_graphql::Result<AllocationPayload> {
        let changed = async {
            let id = AllocationId::from_uuid(ids::decode(NodeType::Allocation, &input.id, "id")?);
            Ok::<_, ApiError>(
                db(ctx)?
                    .allocations()
                    .change_status(id, input.status.into(), input.decision_date)
                    .await?,
            )
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(AllocationPayload {
            allocation: Allocation(changed),
        })
    }
}
