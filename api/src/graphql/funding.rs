//! Funding in GraphQL: funding streams with their ceiling rules, allocations, and the
//! mutations that request, change, award and cancel allocations.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::access::{can_manage_allocation, can_manage_funding_rules};
use domain::funding::{self as model, CeilingCase};
use domain::ids::{ActorId, AllocationId, CeilingRuleId, PartnershipId, StreamId};
use domain::money::{Euros, Rate};
use persistence::SortDirection as Direction;
use persistence::repo::{AllocationChange, NewAllocation, RuleText};

use super::connection::{Count, CountedConnection, connection, page_request};
use super::enums::AllocationStatus;
use super::loaders::RulesOfStream;
use super::partnership::Partnership;
use super::scalars::Decimal;
use super::{db, drafts, load, principal, visible_partnership};
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

    /// The actors that manage this stream: their funder tokens record its allocations.
    async fn managers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<super::actor::Actor>> {
        let ids = db(ctx)?
            .funding()
            .managers(self.0.id)
            .await
            .map_err(ApiError::from)?;
        let loaded = futures_util::future::join_all(ids.into_iter().map(|id| load(ctx, id))).await;
        let mut actors = Vec::new();
        for actor in loaded {
            if let Some(actor) = actor? {
                actors.push(super::actor::Actor(actor));
            }
        }
        Ok(actors)
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
        let drafts = drafts(ctx)?;
        let result = db(ctx)?
            .allocations()
            .of_stream(self.0.id, drafts, &page)
            .await
            .map_err(ApiError::from)?;
        Ok(connection(
            result,
            page.after.is_some(),
            Count::AllocationsOfStream(self.0.id, drafts),
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
        self.0.max_rate.to_decimal().into()
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
        self.0.eligible_cost.to_decimal().into()
    }

    /// EU contribution in euros, two decimals.
    async fn eu_contribution(&self) -> Decimal {
        self.0.eu_contribution.to_decimal().into()
    }

    /// EU contribution / eligible cost, rounded half-even to four decimals (`"0.7500"`).
    /// Rules compare the exact amounts, not this rounded figure.
    async fn co_financing_rate(&self) -> Decimal {
        self.0.co_financing_rate().into()
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
        let code = code.trim();
        let valid = (1..=32).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(ApiError::bad_input(
                "code",
                "is a stream code: upper-case letters, digits and _ (AMIF, ESF_PLUS, ERDF)",
            )
            .into());
        }
        let stream = db(ctx)?
            .funding()
            .stream_by_code(code)
            .await
            .map_err(ApiError::from)?;
        Ok(stream.map(FundingStream))
    }

    /// One allocation by id; null when there is none (or its partnership is hidden).
    async fn allocation(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Allocation>> {
        let id = ids::decode(NodeType::Allocation, &id, "id")?;
        match load(ctx, AllocationId::from_uuid(id)).await? {
            Some(a) if visible_partnership(ctx, a.partnership_id).await?.is_some() => {
                Ok(Some(Allocation(a)))
            }
            _ => Ok(None),
        }
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
    Ok(Euros::parse(field, value.text())?)
}

fn reference(raw: Option<String>) -> ApiResult<Option<String>> {
    Ok(raw.map(|r| model::parse_reference(&r)).transpose()?)
}

/// Checks that the principal may change this allocation: it manages the allocation's stream.
async fn allowed_on_allocation(ctx: &Context<'_>, id: AllocationId) -> ApiResult<()> {
    let allocation = db(ctx)?.allocations().get(id).await?;
    let managers = db(ctx)?.funding().managers(allocation.stream_id).await?;
    can_manage_allocation(principal(ctx)?, &managers)?;
    Ok(())
}

/// An actor that manages (or stops managing) a funding stream.
#[derive(InputObject)]
pub struct StreamManagerInput {
    pub stream_id: ID,
    pub actor_id: ID,
}

#[derive(SimpleObject)]
pub struct FundingStreamPayload {
    pub funding_stream: FundingStream,
}

/// A new ceiling case of a stream.
#[derive(InputObject)]
pub struct CreateCeilingRuleInput {
    pub stream_id: ID,
    /// Upper-case letters, digits and `_` (`OUTERMOST_REGION`).
    pub case: String,
    pub description: String,
    /// A fraction from `"0"` to `"1"` with at most four decimals (`"0.8500"`).
    pub max_rate: Decimal,
    pub legal_reference: String,
    #[graphql(default)]
    pub verified: bool,
    pub note: Option<String>,
}

/// A correction of a ceiling rule; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCeilingRuleInput {
    pub id: ID,
    pub description: Option<String>,
    pub max_rate: Option<Decimal>,
    pub legal_reference: Option<String>,
    pub verified: Option<bool>,
    pub note: MaybeUndefined<String>,
}

#[derive(SimpleObject)]
pub struct CeilingRulePayload {
    pub ceiling_rule: CeilingRule,
}

fn rate(value: &Decimal) -> ApiResult<Rate> {
    Ok(Rate::parse_fraction("maxRate", value.text())?)
}

fn rule_text(field: &str, raw: &str, max: usize) -> ApiResult<String> {
    Ok(domain::text::single_line(field, raw, 1, max)?)
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
            let managers = db(ctx)?.funding().managers(new.stream_id).await?;
            can_manage_allocation(principal(ctx)?, &managers)?;
            if visible_partnership(ctx, new.partnership_id)
                .await?
                .is_none()
            {
                return Err(ApiError::bad_input(
                    "partnershipId",
                    "refers to no partnership",
                ));
            }
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
            allowed_on_allocation(ctx, id).await?;
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
            allowed_on_allocation(ctx, id).await?;
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

    /// Makes an actor a manager of a funding stream (administrators only). Its funder tokens
    /// then record allocations on that stream.
    async fn add_stream_manager(
        &self,
        ctx: &Context<'_>,
        input: StreamManagerInput,
    ) -> async_graphql::Result<FundingStreamPayload> {
        Ok(change_managers(ctx, input, true)
            .await
            .map_err(|e| e.within("input"))?)
    }

    /// Ends an actor's management of a funding stream (administrators only).
    async fn remove_stream_manager(
        &self,
        ctx: &Context<'_>,
        input: StreamManagerInput,
    ) -> async_graphql::Result<FundingStreamPayload> {
        Ok(change_managers(ctx, input, false)
            .await
            .map_err(|e| e.within("input"))?)
    }

    /// Adds a ceiling case to a stream (administrators only).
    async fn create_ceiling_rule(
        &self,
        ctx: &Context<'_>,
        input: CreateCeilingRuleInput,
    ) -> async_graphql::Result<CeilingRulePayload> {
        let created = async {
            can_manage_funding_rules(principal(ctx)?)?;
            let stream = StreamId::from_uuid(ids::decode(
                NodeType::FundingStream,
                &input.stream_id,
                "streamId",
            )?);
            let text = RuleText {
                description: rule_text("description", &input.description, 500)?,
                max_rate: rate(&input.max_rate)?,
                legal_reference: rule_text("legalReference", &input.legal_reference, 300)?,
                verified: input.verified,
                note: input
                    .note
                    .map(|n| rule_text("note", &n, 1000))
                    .transpose()?,
            };
            let case = CeilingCase::parse(&input.case).map_err(|e| e.for_field("case"))?;
            Ok::<_, ApiError>(db(ctx)?.funding().create_rule(stream, case, text).await?)
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(CeilingRulePayload {
            ceiling_rule: CeilingRule(created),
        })
    }

    /// Corrects a ceiling rule (administrators only). Recorded allocations keep their
    /// amounts; new requests and awards are checked against the corrected ceiling.
    async fn update_ceiling_rule(
        &self,
        ctx: &Context<'_>,
        input: UpdateCeilingRuleInput,
    ) -> async_graphql::Result<CeilingRulePayload> {
        let updated = async {
            can_manage_funding_rules(principal(ctx)?)?;
            let id = CeilingRuleId::from_uuid(ids::decode(NodeType::CeilingRule, &input.id, "id")?);
            let current = load(ctx, id)
                .await?
                .ok_or_else(|| ApiError::not_found("no ceiling rule has this id"))?;
            let text = RuleText {
                description: match input.description {
                    Some(d) => rule_text("description", &d, 500)?,
                    None => current.description,
                },
                max_rate: match input.max_rate {
                    Some(r) => rate(&r)?,
                    None => current.max_rate,
                },
                legal_reference: match input.legal_reference {
                    Some(l) => rule_text("legalReference", &l, 300)?,
                    None => current.legal_reference,
                },
                verified: input.verified.unwrap_or(current.verified),
                note: match input.note {
                    MaybeUndefined::Undefined => current.note,
                    MaybeUndefined::Null => None,
                    MaybeUndefined::Value(n) => Some(rule_text("note", &n, 1000)?),
                },
            };
            Ok::<_, ApiError>(db(ctx)?.funding().update_rule(id, text).await?)
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(CeilingRulePayload {
            ceiling_rule: CeilingRule(updated),
        })
    }
}

async fn change_managers(
    ctx: &Context<'_>,
    input: StreamManagerInput,
    add: bool,
) -> ApiResult<FundingStreamPayload> {
    can_manage_funding_rules(principal(ctx)?)?;
    let stream = StreamId::from_uuid(ids::decode(
        NodeType::FundingStream,
        &input.stream_id,
        "streamId",
    )?);
    let actor = ActorId::from_uuid(ids::decode(NodeType::Actor, &input.actor_id, "actorId")?);
    let funding = db(ctx)?.funding();
    if add {
        funding.add_manager(stream, actor).await?;
    } else {
        funding.remove_manager(stream, actor).await?;
    }
    let stream = funding
        .streams_by_ids(&[stream])
        .await?
        .pop()
        .ok_or_else(|| ApiError::bad_input("streamId", "refers to no funding stream"))?;
    Ok(FundingStreamPayload {
        funding_stream: FundingStream(stream),
    })
}
