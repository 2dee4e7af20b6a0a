//! Funding in GraphQL: funding streams with their ceiling rules, allocations, and the
//! mutations that request, change, award and cancel allocations.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::access::{can_manage_allocation, can_manage_funding_rules};
use domain::funding::{self as model, CeilingCase};
use domain::ids::{ActorId, AllocationId, CeilingRuleId, PartnershipId, ProgrammeId, StreamId};
use domain::money::{Euros, Rate, cents_to_decimal};
use domain::territory::CountryCode;
use persistence::SortDirection as Direction;
use persistence::repo::{
    AllocationChange, AllocationFilter, DraftVisibility, NewAllocation, RuleText,
};

use super::connection::{Count, CountedConnection, connection, page_request};
use super::enums::{AllocationStatus, BudgetKind, PaymentKind};
use super::in_place::InPlace;
use super::loaders::{BudgetsOf, ManagersOf, PaidOf, PaymentsOf, RulesOfStream};
use super::partnership::Partnership;
use super::scalars::Decimal;
use super::{db, drafts, load, principal, related, visible_partnership};
use crate::error::{ApiError, ApiResult};
use crate::ids::{self, NodeType};

/// An EU funding stream of the 2021-2027 budget: AMIF, ESF+ or ERDF.
pub struct FundingStream(pub model::FundingStream);

#[Object]
impl FundingStream {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::FundingStream, self.0.id.as_uuid())
    }

    /// The record's versions over time, from the audit trail, oldest first (funders and
    /// administrators).
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<super::history::AuditEventConnection> {
        Ok(super::history::history_of(ctx, self.0.id.as_uuid(), first, after).await?)
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
        let ids = load(ctx, ManagersOf(self.0.id)).await?.unwrap_or_default();
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
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn allocations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<Allocation>> {
        let parent = super::loaders::AllocationsOfStream(self.0.id);
        let page = page_request(first, after, Direction::Asc)?;
        let had_cursor = page.after.is_some();
        let drafts = drafts(ctx)?;
        let result = super::nested_page(ctx, parent, drafts, page).await?;
        Ok(connection(
            result,
            had_cursor,
            Count::Allocations(parent.filter(drafts)),
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

    /// The record's versions over time, from the audit trail, oldest first (funders and
    /// administrators).
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<super::history::AuditEventConnection> {
        Ok(super::history::history_of(ctx, self.0.id.as_uuid(), first, after).await?)
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

    /// Raised by every correction; give it as `expectedVersion` to correct safely.
    async fn version(&self) -> i64 {
        self.0.version
    }

    async fn stream(&self, ctx: &Context<'_>) -> async_graphql::Result<InPlace<FundingStream>> {
        related(ctx, self.0.stream_id, FundingStream, "rule without stream").await
    }
}

/// Money of a funding stream allocated to a partnership.
pub struct Allocation(pub model::Allocation);

#[Object]
impl Allocation {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Allocation, self.0.id.as_uuid())
    }

    /// The record's versions over time, from the audit trail, oldest first (funders and
    /// administrators).
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<super::history::AuditEventConnection> {
        Ok(super::history::history_of(ctx, self.0.id.as_uuid(), first, after).await?)
    }

    async fn partnership(&self, ctx: &Context<'_>) -> async_graphql::Result<InPlace<Partnership>> {
        related(
            ctx,
            self.0.partnership_id,
            Partnership,
            "allocation without partnership",
        )
        .await
    }

    async fn stream(&self, ctx: &Context<'_>) -> async_graphql::Result<InPlace<FundingStream>> {
        related(
            ctx,
            self.0.stream_id,
            FundingStream,
            "allocation without stream",
        )
        .await
    }

    /// The ceiling case the allocation claims.
    async fn ceiling_rule(&self, ctx: &Context<'_>) -> async_graphql::Result<InPlace<CeilingRule>> {
        related(
            ctx,
            self.0.ceiling_rule_id,
            CeilingRule,
            "allocation without rule",
        )
        .await
    }

    /// Total eligible cost in euros, two decimals (`"400000.00"`).
    async fn eligible_cost(&self) -> Decimal {
        self.0.eligible_cost.to_decimal().into()
    }

    /// EU contribution in euros, two decimals.
    async fn eu_contribution(&self) -> Decimal {
        self.0.eu_contribution.to_decimal().into()
    }

    /// The national, regional or beneficiary's own contribution, in euros.
    async fn national_contribution(&self) -> Decimal {
        self.0.national_contribution.to_decimal().into()
    }

    /// What the payments ledger sums to, in euros (recoveries are subtracted).
    async fn paid(&self, ctx: &Context<'_>) -> async_graphql::Result<Decimal> {
        let cents = load(ctx, PaidOf(self.0.id)).await?.unwrap_or(0);
        Ok(cents_to_decimal(cents).into())
    }

    /// The programme the allocation draws on.
    async fn programme(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::programme::Programme>> {
        match self.0.programme_id {
            Some(id) => Ok(load(ctx, id).await?.map(super::programme::Programme)),
            None => Ok(None),
        }
    }

    /// Every budget: the original first, then each revision (IATI's Original and Revised).
    async fn budgets(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Budget>> {
        let budgets = load(ctx, BudgetsOf(self.0.id)).await?.unwrap_or_default();
        Ok(budgets.into_iter().map(Budget).collect())
    }

    /// The payments ledger, oldest first. Entries are never edited; a correction is a new
    /// entry (a recovery is negative).
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<PaymentEntry>> {
        let page = page_request(first, after, Direction::Asc)?;
        let had_cursor = page.after.is_some();
        let result =
            super::nested_page(ctx, PaymentsOf(self.0.id), DraftVisibility::All, page).await?;
        Ok(connection(
            result,
            had_cursor,
            Count::PaymentsOfAllocation(self.0.id),
            PaymentEntry,
        ))
    }

    /// EU contribution / eligible cost, rounded half-even to four decimals (`"0.7500"`).
    /// Rules compare the exact amounts, not this rounded figure.
    async fn co_financing_rate(&self) -> Decimal {
        self.0.co_financing_rate().into()
    }

    async fn status(&self) -> AllocationStatus {
        self.0.status.into()
    }

    /// Raised by every change; give it as `expectedVersion` to update safely.
    async fn version(&self) -> i64 {
        self.0.version
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

/// One budget of an allocation.
pub struct Budget(pub model::BudgetEntry);

#[Object]
impl Budget {
    async fn kind(&self) -> BudgetKind {
        self.0.kind.into()
    }

    async fn eligible_cost(&self) -> Decimal {
        self.0.eligible_cost.to_decimal().into()
    }

    async fn eu_contribution(&self) -> Decimal {
        self.0.eu_contribution.to_decimal().into()
    }

    async fn national_contribution(&self) -> Decimal {
        self.0.national_contribution.to_decimal().into()
    }

    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }
}

/// An entry of a payments ledger.
pub struct PaymentEntry(pub model::Payment);

#[Object(name = "Payment")]
impl PaymentEntry {
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Payment, self.0.id.as_uuid())
    }

    /// The record's versions over time, from the audit trail, oldest first (funders and
    /// administrators).
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<super::history::AuditEventConnection> {
        Ok(super::history::history_of(ctx, self.0.id.as_uuid(), first, after).await?)
    }

    async fn allocation(&self, ctx: &Context<'_>) -> async_graphql::Result<InPlace<Allocation>> {
        related(
            ctx,
            self.0.allocation_id,
            Allocation,
            "payment without allocation",
        )
        .await
    }

    async fn kind(&self) -> PaymentKind {
        self.0.kind.into()
    }

    /// In euros; negative for a recovery.
    async fn amount(&self) -> Decimal {
        cents_to_decimal(self.0.amount_cents).into()
    }

    async fn paid_on(&self) -> NaiveDate {
        self.0.paid_on
    }

    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }

    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Which allocations to list, sum or export; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct AllocationFilterInput {
    #[graphql(validator(max_items = 10))]
    pub stream_ids: Option<Vec<ID>>,
    #[graphql(validator(max_items = 100))]
    pub programme_ids: Option<Vec<ID>>,
    /// Countries of the programmes.
    #[graphql(validator(max_items = 50))]
    pub countries: Option<Vec<String>>,
    /// Prefix of the programmes' NUTS codes.
    pub nuts_prefix: Option<String>,
    #[graphql(validator(max_items = 10))]
    pub statuses: Option<Vec<AllocationStatus>>,
    /// Years of the award (or rejection) decision.
    #[graphql(validator(max_items = 20))]
    pub years: Option<Vec<i32>>,
    /// Allocations of partnerships this actor is a current member of.
    pub actor_id: Option<ID>,
    pub partnership_id: Option<ID>,
    /// Smallest EU contribution, euros.
    pub min_eu_contribution: Option<Decimal>,
    /// Largest EU contribution, euros.
    pub max_eu_contribution: Option<Decimal>,
}

impl AllocationFilterInput {
    pub(crate) fn parse(self) -> ApiResult<AllocationFilter> {
        let decode_all = |ids: Option<Vec<ID>>, node: NodeType, field: &str| {
            ids.unwrap_or_default()
                .iter()
                .map(|id| ids::decode(node, id, field))
                .collect::<ApiResult<Vec<_>>>()
        };
        Ok(AllocationFilter {
            streams: decode_all(self.stream_ids, NodeType::FundingStream, "streamIds")?
                .into_iter()
                .map(StreamId::from_uuid)
                .collect(),
            programmes: decode_all(self.programme_ids, NodeType::Programme, "programmeIds")?
                .into_iter()
                .map(ProgrammeId::from_uuid)
                .collect(),
            countries: self
                .countries
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    CountryCode::parse(c).map_err(|e| ApiError::from(e.for_field("countries")))
                })
                .collect::<ApiResult<_>>()?,
            nuts_prefix: self
                .nuts_prefix
                .map(|p| super::actor::parse_nuts_prefix(&p))
                .transpose()?,
            statuses: self
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            years: self
                .years
                .unwrap_or_default()
                .into_iter()
                .map(|y| {
                    if (domain::dates::EARLIEST_YEAR..=domain::dates::LATEST_YEAR).contains(&y) {
                        Ok(y)
                    } else {
                        Err(ApiError::bad_input(
                            "years",
                            format!("{y} is outside 1900 to 2199"),
                        ))
                    }
                })
                .collect::<ApiResult<_>>()?,
            actor: self
                .actor_id
                .map(|id| ids::decode(NodeType::Actor, &id, "actorId").map(ActorId::from_uuid))
                .transpose()?,
            lead_actor: None,
            partnership: self
                .partnership_id
                .map(|id| {
                    ids::decode(NodeType::Partnership, &id, "partnershipId")
                        .map(PartnershipId::from_uuid)
                })
                .transpose()?,
            min_eu_contribution: self
                .min_eu_contribution
                .map(|v| euros("minEuContribution", &v))
                .transpose()?,
            max_eu_contribution: self
                .max_eu_contribution
                .map(|v| euros("maxEuContribution", &v))
                .transpose()?,
            drafts: DraftVisibility::All,
        })
    }
}

/// A page of allocations, as the principal may see them.
pub(crate) async fn list_allocations(
    ctx: &Context<'_>,
    mut filter: AllocationFilter,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<CountedConnection<Allocation>> {
    filter.drafts = drafts(ctx)?;
    let page = page_request(first, after, Direction::Asc)?;
    let result = db(ctx)?.allocations().list(&filter, &page).await?;
    Ok(connection(
        result,
        page.after.is_some(),
        Count::Allocations(filter),
        Allocation,
    ))
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

    /// Allocations, in the order they were created.
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn allocations(
        &self,
        ctx: &Context<'_>,
        filter: Option<AllocationFilterInput>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<CountedConnection<Allocation>> {
        let filter = filter
            .unwrap_or_default()
            .parse()
            .map_err(|e| e.within("filter"))?;
        Ok(list_allocations(ctx, filter, first, after).await?)
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
    /// Makes a retry safe: the same key with the same input returns the first result and
    /// creates nothing; the same key with another input is refused.
    pub idempotency_key: Option<String>,
    pub partnership_id: ID,
    /// The programme the allocation draws on; its stream is the allocation's stream.
    pub programme_id: ID,
    /// A case of the stream's ceiling rules (`STANDARD`, `SPECIFIC_ACTION`, ...). Required
    /// where the programme has no category of region (AMIF); otherwise the programme's
    /// category, which may be omitted.
    pub ceiling_case: Option<String>,
    /// Euros with at most two decimals, as a string.
    pub eligible_cost: Decimal,
    /// Euros with at most two decimals, at most the case's ceiling times the eligible cost.
    pub eu_contribution: Decimal,
    /// National, regional or own contribution (default 0); with the EU contribution at most
    /// the eligible cost.
    pub national_contribution: Option<Decimal>,
    pub reference: Option<String>,
}

impl CreateAllocationInput {
    /// The input as a new allocation, each field checked on its own (the repository checks
    /// the rules that need stored data). Shared with `registry import`.
    pub(crate) fn parse(&self) -> ApiResult<NewAllocation> {
        Ok(NewAllocation {
            partnership_id: PartnershipId::from_uuid(ids::decode(
                NodeType::Partnership,
                &self.partnership_id,
                "partnershipId",
            )?),
            programme_id: ProgrammeId::from_uuid(ids::decode(
                NodeType::Programme,
                &self.programme_id,
                "programmeId",
            )?),
            ceiling_case: self
                .ceiling_case
                .as_deref()
                .map(CeilingCase::parse)
                .transpose()?,
            eligible_cost: euros("eligibleCost", &self.eligible_cost)?,
            eu_contribution: euros("euContribution", &self.eu_contribution)?,
            national_contribution: self
                .national_contribution
                .as_ref()
                .map(|v| euros("nationalContribution", v))
                .transpose()?
                .unwrap_or(Euros::ZERO),
            reference: reference(self.reference.clone())?,
        })
    }
}

/// A change of a REQUESTED allocation's terms, or a revision of an AWARDED allocation's
/// budget: omitted fields stay as they are. Every budget is kept (see `Allocation.budgets`).
#[derive(InputObject)]
pub struct UpdateAllocationInput {
    pub id: ID,
    /// The `version` the change was made against; a stale one is refused with CONFLICT.
    pub expected_version: Option<i64>,
    pub ceiling_case: Option<String>,
    pub eligible_cost: Option<Decimal>,
    pub eu_contribution: Option<Decimal>,
    pub national_contribution: Option<Decimal>,
    pub reference: MaybeUndefined<String>,
    /// Why the budget changes, kept with the revision.
    pub reason: Option<String>,
}

/// A payment, or a recovery, on an allocation's ledger.
#[derive(InputObject)]
pub struct RecordPaymentInput {
    /// Makes a retry safe: the same key with the same input returns the first result and
    /// creates nothing; the same key with another input is refused.
    pub idempotency_key: Option<String>,
    pub allocation_id: ID,
    pub kind: PaymentKind,
    /// Euros, positive; a RECOVERY is subtracted.
    pub amount: Decimal,
    pub paid_on: NaiveDate,
    pub reference: Option<String>,
}

#[derive(SimpleObject)]
pub struct PaymentPayload {
    pub payment: PaymentEntry,
    pub allocation: Allocation,
}

#[derive(InputObject)]
pub struct ChangeAllocationStatusInput {
    pub id: ID,
    /// The `version` the change was made against; a stale one is refused with CONFLICT.
    pub expected_version: Option<i64>,
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
    // An allocation of a DRAFT the principal may not see does not exist for it.
    if visible_partnership(ctx, allocation.partnership_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("no allocation has this id"));
    }
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
    /// Makes a retry safe: the same key with the same input returns the first result and
    /// creates nothing; the same key with another input is refused.
    pub idempotency_key: Option<String>,
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
    /// The `version` the change was made against; a stale one is refused with CONFLICT.
    pub expected_version: Option<i64>,
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
            let new = input.parse()?;
            let programme = load(ctx, new.programme_id)
                .await?
                .ok_or_else(|| ApiError::bad_input("programmeId", "refers to no programme"))?;
            let managers = db(ctx)?
                .funding()
                .managers(programme.details.parts().stream_id)
                .await?;
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
            super::create_once(
                ctx,
                input.idempotency_key.as_deref(),
                |db| async move { Ok(db.allocations().create(new).await?) },
                |db, id| async move { Ok(db.allocations().get(AllocationId::from_uuid(id)).await?) },
            )
            .await
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
                expected_version: input.expected_version,
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
                national_contribution: input
                    .national_contribution
                    .map(|v| euros("nationalContribution", &v))
                    .transpose()?,
                reason: input
                    .reason
                    .map(|r| domain::text::bounded_text("reason", &r, 1, 1000))
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
                    .change_status(
                        id,
                        input.status.into(),
                        input.decision_date,
                        input.expected_version,
                    )
                    .await?,
            )
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(AllocationPayload {
            allocation: Allocation(changed),
        })
    }

    /// Records a payment or a recovery on an allocation's ledger (funders managing its stream,
    /// administrators). The paid total stays between zero and the awarded EU contribution.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        input: RecordPaymentInput,
    ) -> async_graphql::Result<PaymentPayload> {
        let (payment, allocation) = async {
            let id = AllocationId::from_uuid(ids::decode(
                NodeType::Allocation,
                &input.allocation_id,
                "allocationId",
            )?);
            allowed_on_allocation(ctx, id).await?;
            let amount = euros("amount", &input.amount)?;
            let (kind, paid_on, reference) = (
                input.kind.into(),
                input.paid_on,
                reference(input.reference)?,
            );
            let payment = super::create_once(
                ctx,
                input.idempotency_key.as_deref(),
                |db| async move {
                    Ok(db
                        .allocations()
                        .record_payment(id, kind, amount, paid_on, reference)
                        .await?)
                },
                |db, payment_id| async move {
                    db.allocations()
                        .payments_by_ids(&[domain::ids::PaymentId::from_uuid(payment_id)])
                        .await?
                        .pop()
                        .ok_or_else(|| ApiError::internal("idempotent payment is missing"))
                },
            )
            .await?;
            let allocation = db(ctx)?.allocations().get(id).await?;
            Ok::<_, ApiError>((payment, allocation))
        }
        .await
        .map_err(|e| e.within("input"))?;
        Ok(PaymentPayload {
            payment: PaymentEntry(payment),
            allocation: Allocation(allocation),
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
            super::create_once(
                ctx,
                input.idempotency_key.as_deref(),
                |db| async move { Ok(db.funding().create_rule(stream, case, text).await?) },
                |db, id| async move {
                    db.funding()
                        .rules_by_ids(&[CeilingRuleId::from_uuid(id)])
                        .await?
                        .pop()
                        .ok_or_else(|| ApiError::internal("idempotent rule is missing"))
                },
            )
            .await
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
            Ok::<_, ApiError>(
                db(ctx)?
                    .funding()
                    .update_rule(id, text, input.expected_version)
                    .await?,
            )
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
    let db = db(ctx)?;
    let funding = db.funding();
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
