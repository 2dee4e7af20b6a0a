//! Allocations: a partnership's draw on a programme of a stream. Created REQUESTED under the
//! co-financing ceiling of the claimed case; budgets revised while REQUESTED or AWARDED, each
//! budget kept (ORIGINAL, then REVISED); awards held within the programme's envelope, also when
//! they race; payments recorded in an append-only ledger.

// foldhash's map (`crate::Map`), under the name the code reads best with.
use crate::Map as HashMap;

use chrono::{Datelike, NaiveDate};
use domain::ValidationError;
use domain::funding::{
    Allocation, AllocationStatus, AllocationTerms, AllocationTermsParts, BudgetEntry, BudgetKind,
    CeilingCase, CeilingRule, Payment, PaymentKind, case_for, check_envelope, ledger_entry,
};
use domain::ids::{ActorId, AllocationId, PartnershipId, PaymentId, ProgrammeId, StreamId};
use domain::money::{Euros, Rate};
use domain::partnership::PartnershipStatus;
use domain::territory::CountryCode;
use sea_orm::sea_query::{Condition, Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use tracing::instrument;

use super::DraftVisibility;
use crate::by_index::ByIndex;
use crate::database::WriteTx;
use crate::entities::{
    allocation, allocation_budget, ceiling_rule, membership, partnership, payment, programme,
};
use crate::pagination::{Cursor, Page, PageRequest, SortDirection, SortValue, order_key};
use crate::{Backend, Database, RepoError};

/// A new allocation: REQUESTED, drawing on a programme.
#[derive(Debug, Clone)]
pub struct NewAllocation {
    pub partnership_id: PartnershipId,
    pub programme_id: ProgrammeId,
    /// Required where the programme has no category of region (AMIF).
    pub ceiling_case: Option<CeilingCase>,
    pub eligible_cost: Euros,
    pub eu_contribution: Euros,
    pub national_contribution: Euros,
    pub reference: Option<String>,
}

/// A budget revision or a change of terms; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AllocationChange {
    pub ceiling_case: Option<CeilingCase>,
    pub eligible_cost: Option<Euros>,
    pub eu_contribution: Option<Euros>,
    pub national_contribution: Option<Euros>,
    /// `Some(None)` clears the reference.
    pub reference: Option<Option<String>>,
    /// Why the budget changed, kept with the revision.
    pub reason: Option<String>,
    /// The version the change was made against; a stale one is refused.
    pub expected_version: Option<i64>,
}

/// Which allocations to list, count, sum or export. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AllocationFilter {
    pub streams: Vec<StreamId>,
    pub programmes: Vec<ProgrammeId>,
    /// The programme's country.
    pub countries: Vec<CountryCode>,
    /// A prefix of the programme's NUTS code, upper-case.
    pub nuts_prefix: Option<String>,
    pub statuses: Vec<AllocationStatus>,
    /// Years of the decision.
    pub years: Vec<i32>,
    /// Allocations of partnerships this actor is a current member of.
    pub actor: Option<ActorId>,
    /// Allocations of partnerships this actor currently leads.
    pub lead_actor: Option<ActorId>,
    pub partnership: Option<PartnershipId>,
    pub min_eu_contribution: Option<Euros>,
    pub max_eu_contribution: Option<Euros>,
    pub drafts: DraftVisibility,
}

impl AllocationFilter {
    /// The filter as a condition on the `allocation` table; subqueries, never joins, so each
    /// allocation is counted once.
    pub(crate) fn condition(&self) -> Condition {
        let mut cond = Condition::all();
        if !self.streams.is_empty() {
            cond = cond.add(
                allocation::Column::StreamId.is_in(self.streams.iter().map(StreamId::as_uuid)),
            );
        }
        if !self.programmes.is_empty() {
            cond = cond.add(
                allocation::Column::ProgrammeId
                    .is_in(self.programmes.iter().map(ProgrammeId::as_uuid)),
            );
        }
        if !self.countries.is_empty() || self.nuts_prefix.is_some() {
            let mut programmes = Query::select()
                .column(programme::Column::Id)
                .from(programme::Entity)
                .to_owned();
            if !self.countries.is_empty() {
                programmes.and_where(
                    programme::Column::Country
                        .is_in(self.countries.iter().map(|c| c.as_str().to_owned())),
                );
            }
            if let Some(prefix) = &self.nuts_prefix {
                programmes.cond_where(super::starts_with(programme::Column::NutsCode, prefix));
            }
            cond = cond.add(allocation::Column::ProgrammeId.in_subquery(programmes));
        }
        if !self.statuses.is_empty() {
            cond =
                cond.add(allocation::Column::Status.is_in(self.statuses.iter().map(|s| s.code())));
        }
        if !self.years.is_empty() {
            cond = cond.add(allocation::Column::DecisionYear.is_in(self.years.iter().copied()));
        }
        if let Some(actor) = self.actor {
            cond = cond.add(
                allocation::Column::PartnershipId.in_subquery(
                    Query::select()
                        .column(membership::Column::PartnershipId)
                        .from(membership::Entity)
                        .and_where(membership::Column::ActorId.eq(actor.as_uuid()))
                        .and_where(membership::Column::LeftOn.is_null())
                        .to_owned(),
                ),
            );
        }
        if let Some(lead) = self.lead_actor {
            cond = cond.add(
                allocation::Column::PartnershipId.in_subquery(
                    Query::select()
                        .column(membership::Column::PartnershipId)
                        .from(membership::Entity)
                        .and_where(membership::Column::ActorId.eq(lead.as_uuid()))
                        .and_where(membership::Column::IsLead.eq(true))
                        .and_where(membership::Column::LeftOn.is_null())
                        .to_owned(),
                ),
            );
        }
        if let Some(p) = self.partnership {
            cond = cond.add(allocation::Column::PartnershipId.eq(p.as_uuid()));
        }
        if let Some(min) = self.min_eu_contribution {
            cond = cond.add(allocation::Column::EuContributionCents.gte(min.cents()));
        }
        if let Some(max) = self.max_eu_contribution {
            cond = cond.add(allocation::Column::EuContributionCents.lte(max.cents()));
        }
        if let Some(visible) = self.drafts.on_column(allocation::Column::PartnershipId) {
            cond = cond.add(visible);
        }
        cond
    }
}

pub struct Allocations<'a> {
    pub(crate) db: &'a Database,
}

impl Allocations<'_> {
    #[instrument(name = "repo.allocations.create", skip_all)]
    pub async fn create(&self, new: NewAllocation) -> Result<Allocation, RepoError> {
        let tx = self.db.begin_write().await?;
        let partnership = partnership::Entity::find_by_id(new.partnership_id.as_uuid())
            .one(&tx.txn)
            .await?
            .ok_or_else(|| ValidationError::new("partnershipId", "refers to no partnership"))?;
        if partnership.status == PartnershipStatus::Withdrawn.code() {
            return Err(ValidationError::new(
                "partnershipId",
                "the partnership is WITHDRAWN and can receive no allocation",
            )
            .into());
        }
        let programme = programme::Entity::find_by_id(new.programme_id.as_uuid())
            .one(&tx.txn)
            .await?
            .ok_or_else(|| ValidationError::new("programmeId", "refers to no programme"))?;
        let details = super::rows::programme(programme)?;
        let case = case_for(details.details.parts(), new.ceiling_case.clone())?;
        let stream_id = details.details.parts().stream_id;
        let rule = rule_for(&tx.txn, stream_id, &case).await?;
        let terms = AllocationTerms::new(AllocationTermsParts {
            eligible_cost: new.eligible_cost,
            eu_contribution: new.eu_contribution,
            national_contribution: new.national_contribution,
            ceiling_case: rule.case.clone(),
            ceiling: rule.max_rate,
            status: AllocationStatus::Requested,
            decision_date: None,
            reference: new.reference.clone(),
        })?;
        let now = super::now();
        let parts = terms.parts();
        let id = AllocationId::generate();
        let row = new_row(id, &new, stream_id, rule.id, parts, now)
            .insert(&tx.txn)
            .await?;
        record_budget(&tx, id, BudgetKind::Original, parts, None).await?;
        tx.record("Allocation", row.id, None::<&allocation::Model>, Some(&row));
        tx.commit().await?;
        super::rows::allocation(row)
    }

    /// Changes the terms of a REQUESTED allocation or revises the budget of an AWARDED one
    /// (checked again against the ceiling, the envelope and what was paid). The new budget is
    /// recorded beside the earlier ones.
    #[instrument(name = "repo.allocations.change", skip_all, fields(allocation = %id))]
    pub async fn change(
        &self,
        id: AllocationId,
        change: AllocationChange,
    ) -> Result<Allocation, RepoError> {
        let tx = self.db.begin_write().await?;
        let (before, current) = load_locked(&tx, id).await?;
        RepoError::check_version(change.expected_version, before.version)?;
        if !current.status.budget_is_open() {
            return Err(RepoError::conflict(
                "id",
                format!(
                    "the budget of a {} allocation can no longer change",
                    current.status.code()
                ),
            ));
        }
        let programme = match current.programme_id {
            Some(p) => Some(lock_programme(&tx, p).await?),
            None => None,
        };
        let rule = match (&change.ceiling_case, &programme) {
            (Some(case), Some(p)) => {
                let case = case_for(p.details.parts(), Some(case.clone()))?;
                rule_for(&tx.txn, current.stream_id, &case).await?
            }
            (Some(case), None) => rule_for(&tx.txn, current.stream_id, case).await?,
            (None, _) => rule_by_id(&tx.txn, current.ceiling_rule_id.as_uuid()).await?,
        };
        let eligible_cost = change.eligible_cost.unwrap_or(current.eligible_cost);
        let eu_contribution = change.eu_contribution.unwrap_or(current.eu_contribution);
        // A revision that raises neither the EU contribution nor the rate is always allowed:
        // it is how a budget comes back within a lowered ceiling or envelope.
        let raises = eu_contribution > current.eu_contribution
            || i128::from(eu_contribution.cents()) * i128::from(current.eligible_cost.cents())
                > i128::from(current.eu_contribution.cents()) * i128::from(eligible_cost.cents())
            || rule.id != current.ceiling_rule_id;
        let terms = AllocationTerms::new(AllocationTermsParts {
            eligible_cost,
            eu_contribution,
            national_contribution: change
                .national_contribution
                .unwrap_or(current.national_contribution),
            ceiling_case: rule.case.clone(),
            ceiling: if raises { rule.max_rate } else { Rate::FULL },
            status: current.status,
            decision_date: current.decision_date,
            reference: change
                .reference
                .clone()
                .unwrap_or(current.reference.clone()),
        })?;
        let parts = terms.parts();
        if current.status.holds_award() {
            if let Some(p) = &programme
                && parts.eu_contribution > current.eu_contribution
            {
                let others = awarded_total(&tx.txn, p.id, Some(id)).await?;
                check_envelope(
                    p.details.parts().envelope,
                    others + parts.eu_contribution.cents(),
                )?;
            }
            let paid = paid_total(&tx.txn, id).await?;
            if paid > parts.eu_contribution.cents() {
                return Err(ValidationError::new(
                    "euContribution",
                    format!(
                        "{} euros have been paid already; the EU contribution cannot fall below that",
                        domain::money::cents_to_decimal(paid)
                    ),
                )
                .into());
            }
        }
        let row = allocation::ActiveModel {
            id: sea_orm::Unchanged(id.as_uuid()),
            ceiling_rule_id: Set(rule.id.as_uuid()),
            eligible_cost_cents: Set(parts.eligible_cost.cents()),
            eu_contribution_cents: Set(parts.eu_contribution.cents()),
            national_contribution_cents: Set(parts.national_contribution.cents()),
            reference: Set(parts.reference.clone()),
            version: Set(before.version + 1),
            updated_at: Set(super::now()),
            ..Default::default()
        }
        .update(&tx.txn)
        .await?;
        let budget_changed = parts.eligible_cost != current.eligible_cost
            || parts.eu_contribution != current.eu_contribution
            || parts.national_contribution != current.national_contribution;
        if budget_changed {
            record_budget(&tx, id, BudgetKind::Revised, parts, change.reason.clone()).await?;
        }
        tx.record("Allocation", row.id, Some(&before), Some(&row));
        tx.commit().await?;
        super::rows::allocation(row)
    }

    /// Moves an allocation through its lifecycle; a decision carries its date. An award is
    /// checked against today's ceiling and, with the programme row locked, its envelope.
    #[instrument(name = "repo.allocations.change_status", skip_all, fields(allocation = %id))]
    pub async fn change_status(
        &self,
        id: AllocationId,
        next: AllocationStatus,
        decision_date: Option<NaiveDate>,
        expected_version: Option<i64>,
    ) -> Result<Allocation, RepoError> {
        let tx = self.db.begin_write().await?;
        let (before, current) = load_locked(&tx, id).await?;
        RepoError::check_version(expected_version, before.version)?;
        let next = current.status.transition(next)?;
        let rule = rule_by_id(&tx.txn, current.ceiling_rule_id.as_uuid()).await?;
        // A decision date records the award (or rejection): closing or cancelling later keeps it.
        let decision_date = current.decision_date.or(decision_date);
        if next == AllocationStatus::Cancelled {
            let paid = paid_total(&tx.txn, id).await?;
            if paid > 0 {
                return Err(ValidationError::new(
                    "status",
                    format!(
                        "{} euros have been paid: record their recovery before cancelling, so the envelope stays whole",
                        domain::money::cents_to_decimal(paid)
                    ),
                )
                .into());
            }
        }
        let ceiling = if next == AllocationStatus::Awarded {
            rule.max_rate
        } else {
            // Closing, rejecting or cancelling is never refused because a ceiling was
            // lowered since.
            Rate::FULL
        };
        AllocationTerms::new(AllocationTermsParts {
            eligible_cost: current.eligible_cost,
            eu_contribution: current.eu_contribution,
            national_contribution: current.national_contribution,
            ceiling_case: rule.case.clone(),
            ceiling,
            status: next,
            decision_date,
            reference: current.reference.clone(),
        })?;
        if next == AllocationStatus::Awarded
            && let Some(programme_id) = current.programme_id
        {
            let programme = lock_programme(&tx, programme_id).await?;
            let others = awarded_total(&tx.txn, programme_id, Some(id)).await?;
            check_envelope(
                programme.details.parts().envelope,
                others + current.eu_contribution.cents(),
            )?;
        }
        let row = allocation::ActiveModel {
            id: sea_orm::Unchanged(id.as_uuid()),
            status: Set(next.code().to_owned()),
            decision_date: Set(decision_date),
            decision_year: Set(decision_date.map(|d| d.year())),
            version: Set(before.version + 1),
            updated_at: Set(super::now()),
            ..Default::default()
        }
        .update(&tx.txn)
        .await?;
        tx.record("Allocation", row.id, Some(&before), Some(&row));
        tx.commit().await?;
        super::rows::allocation(row)
    }

    /// Appends a payment to an allocation's ledger.
    #[instrument(name = "repo.allocations.record_payment", skip_all, fields(allocation = %id))]
    pub async fn record_payment(
        &self,
        id: AllocationId,
        kind: PaymentKind,
        amount: Euros,
        paid_on: NaiveDate,
        reference: Option<String>,
    ) -> Result<Payment, RepoError> {
        domain::dates::check_date("paidOn", paid_on)?;
        let tx = self.db.begin_write().await?;
        let (_, current) = load_locked(&tx, id).await?;
        let paid = paid_total(&tx.txn, id).await?;
        let signed = ledger_entry(kind, amount, current.status, current.eu_contribution, paid)?;
        let row = payment::ActiveModel {
            id: Set(PaymentId::generate().as_uuid()),
            allocation_id: Set(id.as_uuid()),
            kind: Set(kind.code().to_owned()),
            amount_cents: Set(signed),
            paid_on: Set(paid_on),
            reference: Set(reference),
            created_at: Set(super::now()),
        }
        .insert(&tx.txn)
        .await?;
        // The ledger entry is the change; the allocation row itself is untouched.
        tx.record("Payment", row.id, None::<&payment::Model>, Some(&row));
        tx.commit().await?;
        super::rows::payment(row)
    }

    /// Payments by id (for `node(id:)`), in no particular order.
    #[instrument(name = "repo.allocations.payments_by_ids", skip_all, fields(n = ids.len()))]
    pub async fn payments_by_ids(&self, ids: &[PaymentId]) -> Result<Vec<Payment>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        payment::Entity::find()
            .filter(super::any_of(
                self.db.backend(),
                payment::Column::Id,
                ids.iter().map(PaymentId::as_uuid),
            ))
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::payment)
            .collect()
    }

    /// A page of each allocation's ledger, oldest first, in one statement.
    #[instrument(name = "repo.allocations.payment_pages", skip_all, fields(n = ids.len()))]
    pub async fn payment_pages(
        &self,
        ids: &[AllocationId],
        page: &PageRequest,
    ) -> Result<Vec<Page<Payment>>, RepoError> {
        let queries = ids.iter().map(|id| ledger_of(*id)).collect();
        crate::pagination::id_pages_of_each(
            self.db.connection(),
            queries,
            payment::Column::Id,
            "payments.recorded",
            page,
            super::rows::payment,
            |p| p.id.as_uuid(),
        )
        .await
    }

    /// How many entries each of these allocations' ledgers has, in one statement.
    #[instrument(name = "repo.allocations.payment_counts", skip_all, fields(n = ids.len()))]
    pub async fn payment_counts(&self, ids: &[AllocationId]) -> Result<Vec<u64>, RepoError> {
        let queries = ids.iter().map(|id| ledger_of(*id)).collect();
        crate::pagination::count_each(self.db.connection(), queries).await
    }

    /// The ledger of an allocation, oldest first.
    #[instrument(name = "repo.allocations.payments", skip_all)]
    pub async fn payments(&self, id: AllocationId) -> Result<Vec<Payment>, RepoError> {
        ledger_of(id)
            .order_by_asc(payment::Column::Id)
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::payment)
            .collect()
    }

    /// Paid totals (the ledger's sum) of these allocations; those without payments are absent.
    #[instrument(name = "repo.allocations.paid_totals", skip_all, fields(n = ids.len()))]
    pub async fn paid_totals(
        &self,
        ids: &[AllocationId],
    ) -> Result<HashMap<AllocationId, i64>, RepoError> {
        if ids.is_empty() {
            return Ok(HashMap::default());
        }
        let rows: Vec<(uuid::Uuid, i64)> = payment::Entity::find()
            .select_only()
            .column(payment::Column::AllocationId)
            .expr(Expr::cust("CAST(SUM(payment.amount_cents) AS BIGINT)"))
            .filter(super::any_of(
                self.db.backend(),
                payment::Column::AllocationId,
                ids.iter().map(AllocationId::as_uuid),
            ))
            .group_by(payment::Column::AllocationId)
            .into_tuple()
            .all(self.db.connection())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, total)| (AllocationId::from_uuid(id), total))
            .collect())
    }

    /// Every budget of an allocation: the original first, then each revision.
    #[instrument(name = "repo.allocations.budgets", skip_all)]
    pub async fn budgets(&self, id: AllocationId) -> Result<Vec<BudgetEntry>, RepoError> {
        Ok(self
            .budgets_of(&[id])
            .await?
            .remove(&id)
            .unwrap_or_default())
    }

    /// The budgets of each of these allocations, each oldest first, in one statement (an
    /// allocation without budgets is absent).
    #[instrument(name = "repo.allocations.budgets_of", skip_all, fields(n = ids.len()))]
    pub async fn budgets_of(
        &self,
        ids: &[AllocationId],
    ) -> Result<HashMap<AllocationId, Vec<BudgetEntry>>, RepoError> {
        let rows = allocation_budget::Entity::find()
            .filter(super::any_of(
                self.db.backend(),
                allocation_budget::Column::AllocationId,
                ids.iter().map(AllocationId::as_uuid),
            ))
            .order_by_asc(allocation_budget::Column::AllocationId)
            .order_by_asc(allocation_budget::Column::RecordedAt)
            .order_by_asc(allocation_budget::Column::Id)
            .all(self.db.connection())
            .await?;
        let mut out: HashMap<AllocationId, Vec<BudgetEntry>> = HashMap::default();
        for row in rows {
            let cents = |c: i64| {
                Euros::from_cents(c)
                    .ok_or_else(|| RepoError::Corrupt(format!("budget {}: amount", row.id)))
            };
            let entry = BudgetEntry {
                kind: BudgetKind::from_code(&row.kind)
                    .ok_or_else(|| RepoError::Corrupt(format!("budget {}: kind", row.id)))?,
                eligible_cost: cents(row.eligible_cost_cents)?,
                eu_contribution: cents(row.eu_contribution_cents)?,
                national_contribution: cents(row.national_contribution_cents)?,
                reason: row.reason.clone(),
                recorded_at: row.recorded_at,
            };
            out.entry(AllocationId::from_uuid(row.allocation_id))
                .or_default()
                .push(entry);
        }
        Ok(out)
    }

    #[instrument(name = "repo.allocations.get", skip_all, fields(allocation = %id))]
    pub async fn get(&self, id: AllocationId) -> Result<Allocation, RepoError> {
        let row = allocation::Entity::find_by_id(id.as_uuid())
            .one(self.db.connection())
            .await?
            .ok_or_else(|| RepoError::not_found("allocation", id))?;
        super::rows::allocation(row)
    }

    #[instrument(name = "repo.allocations.find_by_ids", skip_all, fields(n = ids.len()))]
    pub async fn find_by_ids(&self, ids: &[AllocationId]) -> Result<Vec<Allocation>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        allocation::Entity::find()
            .filter(super::any_of(
                self.db.backend(),
                allocation::Column::Id,
                ids.iter().map(AllocationId::as_uuid),
            ))
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::allocation)
            .collect()
    }

    /// A page of allocations matching `filter`, in the order they were created.
    #[instrument(name = "repo.allocations.list", skip_all)]
    pub async fn list(
        &self,
        filter: &AllocationFilter,
        page: &PageRequest,
    ) -> Result<Page<Allocation>, RepoError> {
        crate::pagination::page_by_id(
            self.db.connection(),
            allocation::Entity::find().filter(filter.condition()),
            allocation::Column::Id,
            "allocations.created",
            page,
            super::rows::allocation,
            |a| a.id.as_uuid(),
        )
        .await
    }

    /// The page of [`Self::list`] for each filter (the allocations of each stream or
    /// programme of a page), in one statement.
    #[instrument(name = "repo.allocations.list_many", skip_all, fields(n = filters.len()))]
    pub async fn list_many(
        &self,
        filters: &[AllocationFilter],
        page: &PageRequest,
    ) -> Result<Vec<Page<Allocation>>, RepoError> {
        let queries = filters
            .iter()
            .map(|f| allocation::Entity::find().filter(f.condition()))
            .collect();
        crate::pagination::id_pages_of_each(
            self.db.connection(),
            queries,
            allocation::Column::Id,
            "allocations.created",
            page,
            super::rows::allocation,
            |a| a.id.as_uuid(),
        )
        .await
    }

    /// The first page of the allocations of each of these partnerships, in one statement (see
    /// `Memberships::pages_of_partnerships`).
    #[instrument(name = "repo.allocations.pages_of_partnerships", skip_all, fields(n = ids.len()))]
    pub async fn pages_of_partnerships(
        &self,
        ids: &[PartnershipId],
        first: u64,
        after: Option<uuid::Uuid>,
    ) -> Result<HashMap<PartnershipId, Page<Allocation>>, RepoError> {
        let mut condition = Condition::all().add(super::any_of(
            self.db.backend(),
            allocation::Column::PartnershipId,
            ids.iter().map(PartnershipId::as_uuid),
        ));
        if let Some(after) = after {
            condition = condition.add(allocation::Column::Id.gt(after));
        }
        let outer = crate::pagination::ranked_by_parent(
            allocation::Entity,
            "allocation.partnership_id",
            "allocation.id",
            condition,
            first,
        );
        let conn = self.db.connection();
        let statement = conn.get_database_backend().build(&outer);
        let rows = allocation::Entity::find()
            .from_raw_sql(statement)
            .into_model::<ByIndex<allocation::Model>>()
            .all(conn)
            .await?;
        let mut grouped: HashMap<PartnershipId, Vec<Allocation>> =
            ids.iter().map(|id| (*id, Vec::new())).collect();
        for row in rows {
            let a = super::rows::allocation(row.0)?;
            grouped.entry(a.partnership_id).or_default().push(a);
        }
        let key = order_key("allocations.created", SortDirection::Asc);
        Ok(grouped
            .into_iter()
            .map(|(id, mut items)| {
                items.sort_by_key(|a| a.id);
                let page = Page::from_rows(items, first, |a| Cursor {
                    order: key.clone(),
                    sort: SortValue::None,
                    id: a.id.as_uuid(),
                });
                (id, page)
            })
            .collect())
    }

    /// How many allocations match, with exactly the filter of [`Self::list`].
    pub async fn count(&self, filter: &AllocationFilter) -> Result<u64, RepoError> {
        Ok(allocation::Entity::find()
            .filter(filter.condition())
            .count(self.db.connection())
            .await?)
    }

    /// [`Self::count`] for each of these filters (the `totalCount` of a nested list for every
    /// parent of a page), in one statement.
    #[instrument(name = "repo.allocations.count_many", skip_all, fields(n = filters.len()))]
    pub async fn count_many(&self, filters: &[AllocationFilter]) -> Result<Vec<u64>, RepoError> {
        let queries = filters
            .iter()
            .map(|filter| allocation::Entity::find().filter(filter.condition()))
            .collect();
        crate::pagination::count_each(self.db.connection(), queries).await
    }
}

/// The row of a new REQUESTED allocation (shared by `create` and the bulk import).
pub(crate) fn new_row(
    id: AllocationId,
    new: &NewAllocation,
    stream_id: StreamId,
    rule_id: domain::ids::CeilingRuleId,
    parts: &AllocationTermsParts,
    now: chrono::DateTime<chrono::Utc>,
) -> allocation::ActiveModel {
    allocation::ActiveModel {
        id: Set(id.as_uuid()),
        partnership_id: Set(new.partnership_id.as_uuid()),
        stream_id: Set(stream_id.as_uuid()),
        ceiling_rule_id: Set(rule_id.as_uuid()),
        programme_id: Set(Some(new.programme_id.as_uuid())),
        eligible_cost_cents: Set(parts.eligible_cost.cents()),
        eu_contribution_cents: Set(parts.eu_contribution.cents()),
        national_contribution_cents: Set(parts.national_contribution.cents()),
        status: Set(parts.status.code().to_owned()),
        decision_date: Set(None),
        decision_year: Set(None),
        reference: Set(parts.reference.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
}

/// The row of one budget record of an allocation.
pub(crate) fn budget_row(
    id: AllocationId,
    kind: BudgetKind,
    parts: &AllocationTermsParts,
    reason: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> allocation_budget::ActiveModel {
    allocation_budget::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        allocation_id: Set(id.as_uuid()),
        kind: Set(kind.code().to_owned()),
        eligible_cost_cents: Set(parts.eligible_cost.cents()),
        eu_contribution_cents: Set(parts.eu_contribution.cents()),
        national_contribution_cents: Set(parts.national_contribution.cents()),
        reason: Set(reason),
        recorded_at: Set(now),
    }
}

/// Writes one budget record.
async fn record_budget(
    tx: &WriteTx,
    id: AllocationId,
    kind: BudgetKind,
    parts: &AllocationTermsParts,
    reason: Option<String>,
) -> Result<(), RepoError> {
    let row = budget_row(id, kind, parts, reason, super::now())
        .insert(&tx.txn)
        .await?;
    tx.record(
        "AllocationBudget",
        row.allocation_id,
        None::<&allocation_budget::Model>,
        Some(&row),
    );
    Ok(())
}

/// Reads an allocation in a write transaction, locking its row on PostgreSQL so concurrent
/// changes of one allocation take turns (an award and a cancellation cannot both win).
async fn load_locked(
    tx: &WriteTx,
    id: AllocationId,
) -> Result<(allocation::Model, Allocation), RepoError> {
    let mut query = allocation::Entity::find_by_id(id.as_uuid());
    if tx.backend == Backend::Postgres {
        query = query.lock_exclusive();
    }
    let row = query
        .one(&tx.txn)
        .await?
        .ok_or_else(|| RepoError::not_found("allocation", id))?;
    let allocation = super::rows::allocation(row.clone())?;
    Ok((row, allocation))
}

/// Reads a programme, locking its row on PostgreSQL: awards that draw on one envelope take
/// turns, so two that each fit alone cannot together overdraw it.
async fn lock_programme(
    tx: &WriteTx,
    id: ProgrammeId,
) -> Result<domain::funding::Programme, RepoError> {
    let mut query = programme::Entity::find_by_id(id.as_uuid());
    if tx.backend == Backend::Postgres {
        query = query.lock_exclusive();
    }
    let row = query
        .one(&tx.txn)
        .await?
        .ok_or_else(|| RepoError::Corrupt(format!("programme {id} is missing")))?;
    super::rows::programme(row)
}

/// The EU contributions the programme's awards hold, without `except`.
pub(crate) async fn awarded_total(
    conn: &impl ConnectionTrait,
    programme_id: ProgrammeId,
    except: Option<AllocationId>,
) -> Result<i64, RepoError> {
    let mut query = allocation::Entity::find()
        .select_only()
        .expr(Expr::cust(
            "CAST(COALESCE(SUM(allocation.eu_contribution_cents), 0) AS BIGINT)",
        ))
        .filter(allocation::Column::ProgrammeId.eq(programme_id.as_uuid()))
        .filter(allocation::Column::Status.is_in(["AWARDED", "CLOSED"]));
    if let Some(except) = except {
        query = query.filter(allocation::Column::Id.ne(except.as_uuid()));
    }
    Ok(query.into_tuple::<i64>().one(conn).await?.unwrap_or(0))
}

async fn paid_total(conn: &impl ConnectionTrait, id: AllocationId) -> Result<i64, RepoError> {
    Ok(ledger_of(id)
        .select_only()
        .expr(Expr::cust(
            "CAST(COALESCE(SUM(payment.amount_cents), 0) AS BIGINT)",
        ))
        .into_tuple::<i64>()
        .one(conn)
        .await?
        .unwrap_or(0))
}

async fn rule_by_id(conn: &impl ConnectionTrait, id: uuid::Uuid) -> Result<CeilingRule, RepoError> {
    let row = ceiling_rule::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| RepoError::Corrupt(format!("ceiling rule {id} is missing")))?;
    super::rows::rule(row)
}

/// The rule of `case` for `stream`; an unknown case is the client's error, and the message
/// lists the cases the stream has.
pub(crate) async fn rule_for(
    conn: &impl ConnectionTrait,
    stream: StreamId,
    case: &CeilingCase,
) -> Result<CeilingRule, RepoError> {
    let rules = ceiling_rule::Entity::find()
        .filter(ceiling_rule::Column::StreamId.eq(stream.as_uuid()))
        .order_by_asc(ceiling_rule::Column::CaseCode)
        .all(conn)
        .await?;
    let cases: Vec<&str> = rules.iter().map(|r| r.case_code.as_str()).collect();
    let Some(row) = rules.iter().find(|r| r.case_code == case.as_str()) else {
        return Err(ValidationError::new(
            "ceilingCase",
            format!(
                "the programme's stream has no ceiling case {} (its cases: {})",
                case.as_str(),
                cases.join(", ")
            ),
        )
        .into());
    };
    super::rows::rule(row.clone())
}

/// The payments of one allocation's ledger.
fn ledger_of(id: AllocationId) -> sea_orm::Select<payment::Entity> {
    payment::Entity::find().filter(payment::Column::AllocationId.eq(id.as_uuid()))
}
