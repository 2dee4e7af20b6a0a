//! The funder's audit view, computed by the database: `fundingSummary` (GROUP BY over the
//! allocations that match a filter) and the audit findings (rule breaches with their figures).
//!
//! How an allocation is counted: once. Joins are to-one only (stream, programme, partnership,
//! the partnership's one current LEAD, and the allocation's paid total aggregated in a
//! subquery), so no join multiplies rows. THEME groups by the partnership's whole set of
//! themes (`HOUSING,EMPLOYMENT`), not by single themes, so the rows still add up to the totals.

use domain::funding::{AuditFinding, FindingRule};
use domain::money::cents_to_decimal;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};
use tracing::instrument;

use super::allocations::AllocationFilter;
use crate::entities::{
    actor, allocation, funding_stream, membership, partnership, payment, programme,
};
use crate::{Database, RepoError};

/// What `fundingSummary` can group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Stream,
    Programme,
    Country,
    Region,
    Theme,
    Year,
    ActorKind,
    Status,
}

impl Dimension {
    /// The SQL expression of the key, as text on both databases.
    fn expr(self) -> Expr {
        Expr::cust(self.sql())
    }

    /// Sorts missing keys last on both databases (they disagree on where NULL goes).
    fn nulls_last(self) -> Expr {
        Expr::cust(format!(
            "CASE WHEN {} IS NULL THEN 1 ELSE 0 END",
            self.sql()
        ))
    }

    fn sql(self) -> &'static str {
        match self {
            Self::Stream => "funding_stream.code",
            Self::Programme => "programme.code",
            Self::Country => "programme.country",
            Self::Region => "programme.nuts_code",
            Self::Theme => "partnership.themes_key",
            Self::Year => "CAST(allocation.decision_year AS TEXT)",
            Self::ActorKind => "lead_actor.kind",
            Self::Status => "allocation.status",
        }
    }
}

/// One group: its keys in the order asked, the number of allocations and their sums in cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub keys: Vec<Option<String>>,
    pub count: i64,
    pub eligible_cost_cents: i64,
    pub eu_contribution_cents: i64,
    pub paid_cents: i64,
}

impl Dimension {
    /// The column of `allocation` the key is found from: its own, or the foreign key of the
    /// table the key comes from.
    fn allocation_column(self) -> &'static str {
        match self {
            Self::Stream => "stream_id",
            Self::Programme | Self::Country | Self::Region => "programme_id",
            Self::Theme | Self::ActorKind => "partnership_id",
            Self::Year => "decision_year",
            Self::Status => "status",
        }
    }
}

/// Two steps: the matching allocations are first summed by the `allocation` columns the keys
/// are found from (one pass over the table, no join per row but the paid totals), then the
/// few resulting rows are joined to the tables the keys come from and summed again. The inner
/// query is named `allocation`, so the key expressions read the same in both steps. This
/// halved the statement's time over 1,000,000 allocations, against joining every row.
fn summary_query(dimensions: &[Dimension], filter: &AllocationFilter) -> SelectStatement {
    let paid = Alias::new("paid");
    let lead = Alias::new("lead_membership");
    let lead_actor = Alias::new("lead_actor");
    let mut columns: Vec<&'static str> = dimensions.iter().map(|d| d.allocation_column()).collect();
    columns.sort_unstable();
    columns.dedup();
    let mut sums = Query::select();
    for column in &columns {
        sums.expr_as(
            Expr::cust(format!("allocation.{column}")),
            Alias::new(*column),
        );
    }
    sums.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .expr_as(
            Expr::cust("SUM(allocation.eligible_cost_cents)"),
            Alias::new("eligible_cost_cents"),
        )
        .expr_as(
            Expr::cust("SUM(allocation.eu_contribution_cents)"),
            Alias::new("eu_contribution_cents"),
        )
        .expr_as(Expr::cust("SUM(paid.total)"), Alias::new("paid_cents"))
        .from(allocation::Entity)
        .join_subquery(
            JoinType::LeftJoin,
            Query::select()
                .column(payment::Column::AllocationId)
                .expr_as(Expr::cust("SUM(payment.amount_cents)"), Alias::new("total"))
                .from(payment::Entity)
                .group_by_col(payment::Column::AllocationId)
                .to_owned(),
            paid.clone(),
            Expr::col((paid.clone(), payment::Column::AllocationId))
                .equals((allocation::Entity, allocation::Column::Id)),
        )
        .cond_where(filter.condition());
    for column in &columns {
        sums.add_group_by([Expr::cust(format!("allocation.{column}"))]);
    }

    let mut query = Query::select();
    for (i, d) in dimensions.iter().enumerate() {
        query.expr_as(d.expr(), Alias::new(format!("k{i}")));
    }
    query
        .expr_as(
            Expr::cust("CAST(COALESCE(SUM(allocation.n), 0) AS BIGINT)"),
            Alias::new("n"),
        )
        .expr_as(
            Expr::cust("CAST(COALESCE(SUM(allocation.eligible_cost_cents), 0) AS BIGINT)"),
            Alias::new("eligible"),
        )
        .expr_as(
            Expr::cust("CAST(COALESCE(SUM(allocation.eu_contribution_cents), 0) AS BIGINT)"),
            Alias::new("eu"),
        )
        .expr_as(
            Expr::cust("CAST(COALESCE(SUM(allocation.paid_cents), 0) AS BIGINT)"),
            Alias::new("paid_total"),
        )
        .from_subquery(sums, Alias::new("allocation"));
    // Only the joins a grouping needs: every join is to-one, so leaving one out changes no
    // figure, and the LEAD join alone (a scan of `membership`) doubled the statement's time.
    let needs = |wanted: &[Dimension]| dimensions.iter().any(|d| wanted.contains(d));
    let fk = |column: &str| Expr::cust(format!("allocation.{column}"));
    if needs(&[Dimension::Stream]) {
        query.join(
            JoinType::InnerJoin,
            funding_stream::Entity,
            Expr::col((funding_stream::Entity, funding_stream::Column::Id)).eq(fk("stream_id")),
        );
    }
    if needs(&[Dimension::Theme]) {
        query.join(
            JoinType::InnerJoin,
            partnership::Entity,
            Expr::col((partnership::Entity, partnership::Column::Id)).eq(fk("partnership_id")),
        );
    }
    if needs(&[Dimension::Programme, Dimension::Country, Dimension::Region]) {
        query.join(
            JoinType::LeftJoin,
            programme::Entity,
            Expr::col((programme::Entity, programme::Column::Id)).eq(fk("programme_id")),
        );
    }
    if needs(&[Dimension::ActorKind]) {
        // At most one current LEAD per partnership (a unique index): a to-one join.
        query
            .join_as(
                JoinType::LeftJoin,
                membership::Entity,
                lead.clone(),
                Expr::col((lead.clone(), membership::Column::PartnershipId))
                    .eq(fk("partnership_id"))
                    .and(Expr::col((lead.clone(), membership::Column::IsLead)).eq(true))
                    .and(Expr::col((lead.clone(), membership::Column::LeftOn)).is_null()),
            )
            .join_as(
                JoinType::LeftJoin,
                actor::Entity,
                lead_actor.clone(),
                Expr::col((lead_actor.clone(), actor::Column::Id))
                    .equals((lead.clone(), membership::Column::ActorId)),
            );
    }
    for d in dimensions {
        query.add_group_by([d.expr()]);
    }
    for d in dimensions {
        query.order_by_expr(d.nulls_last(), Order::Asc);
        query.order_by_expr(d.expr(), Order::Asc);
    }
    query.to_owned()
}

fn read_row(row: &QueryResult, dimensions: usize) -> Result<SummaryRow, RepoError> {
    let mut keys = Vec::with_capacity(dimensions);
    for i in 0..dimensions {
        keys.push(row.try_get::<Option<String>>("", &format!("k{i}"))?);
    }
    Ok(SummaryRow {
        keys,
        count: row.try_get("", "n")?,
        eligible_cost_cents: row.try_get("", "eligible")?,
        eu_contribution_cents: row.try_get("", "eu")?,
        paid_cents: row.try_get("", "paid_total")?,
    })
}

impl Database {
    /// Groups the allocations matching `filter` by `dimensions`; returns the rows (by keys)
    /// and the totals, computed by the same query without grouping.
    #[instrument(name = "repo.summary.funding_summary", skip_all)]
    pub async fn funding_summary(
        &self,
        dimensions: &[Dimension],
        filter: &AllocationFilter,
    ) -> Result<(Vec<SummaryRow>, SummaryRow), RepoError> {
        let rows = self
            .connection()
            .query_all(&summary_query(dimensions, filter))
            .await?
            .iter()
            .map(|row| read_row(row, dimensions.len()))
            .collect::<Result<Vec<_>, _>>()?;
        // The groups partition the allocations (each is counted once), so the totals are
        // their sums: no second pass over the data.
        let mut totals = SummaryRow {
            keys: Vec::new(),
            count: 0,
            eligible_cost_cents: 0,
            eu_contribution_cents: 0,
            paid_cents: 0,
        };
        for row in &rows {
            let add = |a: i64, b: i64| {
                a.checked_add(b)
                    .ok_or_else(|| RepoError::Corrupt("funding summary: totals overflow".into()))
            };
            totals.count = add(totals.count, row.count)?;
            totals.eligible_cost_cents = add(totals.eligible_cost_cents, row.eligible_cost_cents)?;
            totals.eu_contribution_cents =
                add(totals.eu_contribution_cents, row.eu_contribution_cents)?;
            totals.paid_cents = add(totals.paid_cents, row.paid_cents)?;
        }
        Ok((rows, totals))
    }

    /// The totals of the allocations matching each of `filters` (a page of partnerships'
    /// awards, a programme's utilisation), in one statement for up to 500 filters: a UNION ALL
    /// of one aggregate per filter. Unlike `funding_summary`, which sums the whole ledger once
    /// for a large group, each allocation's paid total is read from its own payments (the
    /// ledger's index), so a filter of a few allocations reads only their payments.
    #[instrument(name = "repo.summary.totals_each", skip_all)]
    pub async fn allocation_totals_each(
        &self,
        filters: &[AllocationFilter],
    ) -> Result<Vec<SummaryRow>, RepoError> {
        let queries = filters
            .iter()
            .map(|filter| {
                Query::select()
                    .column((allocation::Entity, allocation::Column::EligibleCostCents))
                    .column((allocation::Entity, allocation::Column::EuContributionCents))
                    .expr_as(
                        Expr::cust(
                            "(SELECT COALESCE(SUM(payment.amount_cents), 0) FROM payment \
                             WHERE payment.allocation_id = allocation.id)",
                        ),
                        Alias::new("paid"),
                    )
                    .from(allocation::Entity)
                    .cond_where(filter.condition())
                    .to_owned()
            })
            .collect();
        let rows = crate::pagination::union_each(
            self.connection(),
            queries,
            |branch| {
                for (sum, name) in [
                    ("COUNT(*)", "n"),
                    ("COALESCE(SUM(eligible_cost_cents), 0)", "eligible"),
                    ("COALESCE(SUM(eu_contribution_cents), 0)", "eu"),
                    ("COALESCE(SUM(paid), 0)", "paid_total"),
                ] {
                    branch.expr_as(
                        Expr::cust(format!("CAST({sum} AS BIGINT)")),
                        Alias::new(name),
                    );
                }
            },
            &[],
        )
        .await?;
        rows.iter()
            .map(|rows| match rows.first() {
                Some(row) => read_row(row, 0),
                None => Err(RepoError::Corrupt("allocation totals: no row".into())),
            })
            .collect()
    }

    /// The rule breaches a funder should look at, at most `limit` per rule.
    #[instrument(name = "repo.summary.audit_findings", skip_all)]
    pub async fn audit_findings(
        &self,
        rules: &[FindingRule],
        limit: u64,
    ) -> Result<Vec<AuditFinding>, RepoError> {
        let wanted = |r: FindingRule| rules.is_empty() || rules.contains(&r);
        let conn = self.connection();
        let mut findings = Vec::new();
        let sql = |text: &str| {
            sea_orm::Statement::from_string(
                conn.get_database_backend(),
                format!("{text} LIMIT {limit}"),
            )
        };
        let money = |c: i64| cents_to_decimal(c).to_string();
        if wanted(FindingRule::RateOverCeiling) {
            // Exact: cents x 10,000 against basis points x cents, both far inside BIGINT.
            for row in conn
                .query_all_raw(sql(
                    "SELECT allocation.id AS id, allocation.eligible_cost_cents AS eligible, \
                     allocation.eu_contribution_cents AS eu, ceiling_rule.max_rate_bp AS bp, \
                     ceiling_rule.case_code AS case_code \
                     FROM allocation JOIN ceiling_rule ON ceiling_rule.id = allocation.ceiling_rule_id \
                     WHERE allocation.status NOT IN ('REJECTED', 'CANCELLED') \
                     AND allocation.eu_contribution_cents * 10000 > CAST(ceiling_rule.max_rate_bp AS BIGINT) * allocation.eligible_cost_cents \
                     ORDER BY allocation.id",
                ))
                .await?
            {
                let (eligible, eu): (i64, i64) = (row.try_get("", "eligible")?, row.try_get("", "eu")?);
                let bp: i32 = row.try_get("", "bp")?;
                let case: String = row.try_get("", "case_code")?;
                let ceiling = rust_decimal::Decimal::new(i64::from(bp), 4);
                findings.push(AuditFinding {
                    rule: FindingRule::RateOverCeiling,
                    entity_type: "Allocation",
                    entity_id: row.try_get("", "id")?,
                    message: format!(
                        "EU contribution {} of eligible cost {} is over the {case} ceiling of {ceiling}",
                        money(eu),
                        money(eligible)
                    ),
                    figures: vec![
                        ("eligibleCost", money(eligible)),
                        ("euContribution", money(eu)),
                        ("ceiling", ceiling.to_string()),
                    ],
                });
            }
        }
        if wanted(FindingRule::PaymentsOverAward) {
            for row in conn
                .query_all_raw(sql(
                    "SELECT allocation.id AS id, allocation.eu_contribution_cents AS eu, paid.total AS paid \
                     FROM allocation JOIN (SELECT allocation_id, CAST(SUM(amount_cents) AS BIGINT) AS total \
                     FROM payment GROUP BY allocation_id) paid ON paid.allocation_id = allocation.id \
                     WHERE paid.total > allocation.eu_contribution_cents ORDER BY allocation.id",
                ))
                .await?
            {
                let (eu, paid): (i64, i64) = (row.try_get("", "eu")?, row.try_get("", "paid")?);
                findings.push(AuditFinding {
                    rule: FindingRule::PaymentsOverAward,
                    entity_type: "Allocation",
                    entity_id: row.try_get("", "id")?,
                    message: format!("payments of {} exceed the EU contribution of {}", money(paid), money(eu)),
                    figures: vec![("paid", money(paid)), ("euContribution", money(eu))],
                });
            }
        }
        if wanted(FindingRule::DecidedAfterPartnershipEnded) {
            for row in conn
                .query_all_raw(sql(
                    "SELECT allocation.id AS id, allocation.decision_date AS decided, partnership.end_date AS ended \
                     FROM allocation JOIN partnership ON partnership.id = allocation.partnership_id \
                     WHERE allocation.decision_date IS NOT NULL AND partnership.end_date IS NOT NULL \
                     AND allocation.decision_date > partnership.end_date ORDER BY allocation.id",
                ))
                .await?
            {
                let decided: chrono::NaiveDate = row.try_get("", "decided")?;
                let ended: chrono::NaiveDate = row.try_get("", "ended")?;
                findings.push(AuditFinding {
                    rule: FindingRule::DecidedAfterPartnershipEnded,
                    entity_type: "Allocation",
                    entity_id: row.try_get("", "id")?,
                    message: format!("decided on {decided}, after the partnership ended on {ended}"),
                    figures: vec![("decisionDate", decided.to_string()), ("partnershipEndDate", ended.to_string())],
                });
            }
        }
        if wanted(FindingRule::ActiveWithoutLead) {
            for row in conn
                .query_all_raw(sql(
                    "SELECT partnership.id AS id, partnership.title AS title FROM partnership \
                     WHERE partnership.status = 'ACTIVE' AND NOT EXISTS (SELECT 1 FROM membership \
                     WHERE membership.partnership_id = partnership.id AND membership.is_lead AND membership.left_on IS NULL) \
                     ORDER BY partnership.id",
                ))
                .await?
            {
                let title: String = row.try_get("", "title")?;
                findings.push(AuditFinding {
                    rule: FindingRule::ActiveWithoutLead,
                    entity_type: "Partnership",
                    entity_id: row.try_get("", "id")?,
                    message: format!("the ACTIVE partnership \"{title}\" has no current LEAD"),
                    figures: vec![("leads", "0".into())],
                });
            }
        }
        if wanted(FindingRule::EnvelopeOverdrawn) {
            for row in conn
                .query_all_raw(sql(
                    "SELECT programme.id AS id, programme.code AS code, programme.envelope_cents AS envelope, awarded.total AS awarded \
                     FROM programme JOIN (SELECT programme_id, CAST(SUM(eu_contribution_cents) AS BIGINT) AS total \
                     FROM allocation WHERE status IN ('AWARDED', 'CLOSED') AND programme_id IS NOT NULL GROUP BY programme_id) awarded \
                     ON awarded.programme_id = programme.id WHERE awarded.total > programme.envelope_cents ORDER BY programme.id",
                ))
                .await?
            {
                let (envelope, awarded): (i64, i64) = (row.try_get("", "envelope")?, row.try_get("", "awarded")?);
                let code: String = row.try_get("", "code")?;
                findings.push(AuditFinding {
                    rule: FindingRule::EnvelopeOverdrawn,
                    entity_type: "Programme",
                    entity_id: row.try_get("", "id")?,
                    message: format!(
                        "programme {code} has awarded {} against an envelope of {}",
                        money(awarded),
                        money(envelope)
                    ),
                    figures: vec![("awarded", money(awarded)), ("envelope", money(envelope))],
                });
            }
        }
        Ok(findings)
    }
}
