//! The funder's audit view in GraphQL: `fundingSummary` (database GROUP BY with totals that
//! add up), funding totals of partnerships and actors, and `auditFindings`.

use async_graphql::{Context, ID, Object, SimpleObject};
use domain::access::can_audit;
use domain::funding::AllocationStatus;
use domain::money::cents_to_decimal;
use futures_util::future::BoxFuture;
use persistence::repo::{AllocationFilter, Dimension, SummaryRow};

use super::enums::{FindingRule, SummaryDimension};
use super::funding::AllocationFilterInput;
use super::scalars::Decimal;
use super::{db, drafts, principal};
use crate::error::{ApiError, ApiResult};
use crate::ids::{self, NodeType};

/// Counts and sums of a set of allocations, in euros.
#[derive(SimpleObject)]
pub struct FundingTotals {
    pub allocation_count: i64,
    pub eligible_cost: Decimal,
    pub eu_contribution: Decimal,
    pub paid: Decimal,
}

impl From<&SummaryRow> for FundingTotals {
    fn from(row: &SummaryRow) -> Self {
        Self {
            allocation_count: row.count,
            eligible_cost: cents_to_decimal(row.eligible_cost_cents).into(),
            eu_contribution: cents_to_decimal(row.eu_contribution_cents).into(),
            paid: cents_to_decimal(row.paid_cents).into(),
        }
    }
}

/// An actor's funding: through the partnerships it leads, and through those it is a member of.
#[derive(SimpleObject)]
pub struct FundingReceived {
    pub as_lead: FundingTotals,
    pub as_member: FundingTotals,
}

/// One key of a summary row.
#[derive(SimpleObject)]
pub struct SummaryKey {
    pub dimension: SummaryDimension,
    /// Null where the allocation has no value for the dimension (no programme, no decision).
    pub value: Option<String>,
}

/// One group of a funding summary.
#[derive(SimpleObject)]
pub struct SummaryGroup {
    pub keys: Vec<SummaryKey>,
    #[graphql(flatten)]
    pub totals: FundingTotals,
}

/// Allocations grouped by the database, with totals computed by the same query unGROUPed.
#[derive(SimpleObject)]
pub struct FundingSummary {
    pub rows: Vec<SummaryGroup>,
    /// Each allocation counted once: equal to the sum of the rows.
    pub totals: FundingTotals,
}

/// A rule breach a funder should look at.
#[derive(SimpleObject)]
pub struct AuditFinding {
    pub rule: FindingRule,
    /// `Allocation`, `Partnership` or `Programme`.
    pub entity_type: String,
    pub entity_id: ID,
    pub message: String,
    pub figures: Vec<Figure>,
}

/// A named figure of a finding, as an exact decimal or a date.
#[derive(SimpleObject)]
pub struct Figure {
    pub name: String,
    pub value: String,
}

/// Totals of the AWARDED and CLOSED allocations matching `filter`, as the principal sees them.
/// Boxed, as `super::history::history_of` is, for the size of its callers' futures.
pub(crate) fn awarded_totals<'a>(
    ctx: &'a Context<'a>,
    mut filter: AllocationFilter,
) -> BoxFuture<'a, ApiResult<FundingTotals>> {
    Box::pin(async move {
        filter.drafts = drafts(ctx)?;
        filter.statuses = vec![AllocationStatus::Awarded, AllocationStatus::Closed];
        // Through the request's batcher: the totals of every partnership (or actor) of a page
        // are one statement.
        let totals = super::load(ctx, super::loaders::TotalsOf(filter))
            .await?
            .ok_or_else(|| ApiError::internal("allocation totals were not loaded"))?;
        Ok((&totals).into())
    })
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Allocations matching `filter`, grouped by `groupBy` (at most 4 dimensions) and summed by
    /// the database. Each allocation is in exactly one row (THEME is the partnership's set of
    /// themes), so the rows add up to `totals`.
    async fn funding_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(validator(max_items = 4))] group_by: Vec<SummaryDimension>,
        filter: Option<AllocationFilterInput>,
    ) -> async_graphql::Result<FundingSummary> {
        let mut dims: Vec<Dimension> = Vec::new();
        for d in &group_by {
            let d: Dimension = (*d).into();
            if dims.contains(&d) {
                return Err(ApiError::bad_input("groupBy", "names a dimension twice").into());
            }
            dims.push(d);
        }
        let mut filter = filter
            .unwrap_or_default()
            .parse()
            .map_err(|e| e.within("filter"))?;
        filter.drafts = drafts(ctx)?;
        let _permit = super::heavy_query_permit(ctx).await?;
        let (rows, totals) = db(ctx)?
            .funding_summary(&dims, &filter)
            .await
            .map_err(ApiError::from)?;
        Ok(FundingSummary {
            rows: rows
                .iter()
                .map(|row| SummaryGroup {
                    keys: group_by
                        .iter()
                        .zip(&row.keys)
                        .map(|(d, v)| SummaryKey {
                            dimension: *d,
                            value: v.clone(),
                        })
                        .collect(),
                    totals: row.into(),
                })
                .collect(),
            totals: (&totals).into(),
        })
    }

    /// The rule breaches a funder should look at (funders and administrators): at most
    /// `limit` (1 to 1000, default 100) per rule.
    async fn audit_findings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these rules (all when empty).")] rules: Option<Vec<FindingRule>>,
        limit: Option<i32>,
    ) -> async_graphql::Result<Vec<AuditFinding>> {
        can_audit(principal(ctx)?).map_err(ApiError::from)?;
        let limit = limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::bad_input("limit", "must be between 1 and 1000").into());
        }
        let rules: Vec<domain::funding::FindingRule> = rules
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let _permit = super::heavy_query_permit(ctx).await?;
        let findings = db(ctx)?
            .audit_findings(&rules, u64::try_from(limit).unwrap_or(100))
            .await
            .map_err(ApiError::from)?;
        Ok(findings
            .into_iter()
            .map(|f| {
                let node = match f.entity_type {
                    "Partnership" => NodeType::Partnership,
                    "Programme" => NodeType::Programme,
                    _ => NodeType::Allocation,
                };
                AuditFinding {
                    rule: f.rule.into(),
                    entity_type: f.entity_type.to_owned(),
                    entity_id: ids::encode(node, f.entity_id),
                    message: f.message,
                    figures: f
                        .figures
                        .into_iter()
                        .map(|(name, value)| Figure {
                            name: name.to_owned(),
                            value,
                        })
                        .collect(),
                }
            })
            .collect())
    }
}
