//! Allocations of a stream's money to a partnership: create under the co-financing ceiling of
//! the claimed case, change terms while REQUESTED, move through the lifecycle.

use chrono::NaiveDate;
use domain::ValidationError;
use domain::funding::{
    Allocation, AllocationStatus, AllocationTerms, AllocationTermsParts, CeilingCase, CeilingRule,
};
use domain::ids::{AllocationId, PartnershipId, StreamId};
use domain::money::Euros;
use domain::partnership::PartnershipStatus;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use tracing::instrument;

use super::DraftVisibility;
use crate::database::WriteTx;
use crate::entities::{allocation, ceiling_rule, funding_stream, partnership};
use crate::pagination::{Cursor, Page, PageRequest, SortDirection, SortValue, after, order_key};
use crate::{Backend, Database, RepoError};

/// A new allocation: always REQUESTED at first.
#[derive(Debug, Clone)]
pub struct NewAllocation {
    pub partnership_id: PartnershipId,
    pub stream_id: StreamId,
    pub ceiling_case: CeilingCase,
    pub eligible_cost: Euros,
    pub eu_contribution: Euros,
    pub reference: Option<String>,
}

/// A change of an allocation; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AllocationChange {
    pub ceiling_case: Option<CeilingCase>,
    pub eligible_cost: Option<Euros>,
    pub eu_contribution: Option<Euros>,
    /// `Some(None)` clears the reference.
    pub reference: Option<Option<String>>,
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
        let rule = rule_for(&tx.txn, new.stream_id, &new.ceiling_case).await?;
        let terms = AllocationTerms::new(AllocationTermsParts {
            eligible_cost: new.eligible_cost,
            eu_contribution: new.eu_contribution,
            ceiling_case: rule.case.clone(),
            ceiling: rule.max_rate,
            status: AllocationStatus::Requested,
            decision_date: None,
            reference: new.reference.clone(),
        })?;
        let now = super::now();
        let parts = terms.parts();
        let row = allocation::ActiveModel {
            id: Set(AllocationId::generate().as_uuid()),
            partnership_id: Set(new.partnership_id.as_uuid()),
            stream_id: Set(new.stream_id.as_uuid()),
            ceiling_rule_id: Set(rule.id.as_uuid()),
            eligible_cost_cents: Set(parts.eligible_cost.cents()),
            eu_contribution_cents: Set(parts.eu_contribution.cents()),
            status: Set(parts.status.code().to_owned()),
            decision_date: Set(None),
            reference: Set(parts.reference.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&tx.txn)
        .await?;
        tx.commit().await?;
        super::rows::allocation(row)
    }

    /// Changes the terms of a REQUESTED allocation, re-checked against the ceiling.
    #[instrument(name = "repo.allocations.change", skip_all, fields(allocation = %id))]
    pub async fn change(
        &self,
        id: AllocationId,
        change: AllocationChange,
    ) -> Result<Allocation, RepoError> {
        let tx = self.db.begin_write().await?;
        let current = load_locked(&tx, id).await?;
        if current.status != AllocationStatus::Requested {
            return Err(RepoError::conflict(
                "id",
                format!(
                    "the terms of a {} allocation can no longer change",
                    current.status.code()
                ),
            ));
        }
        let rule = match &change.ceiling_case {
            Some(case) => rule_for(&tx.txn, current.stream_id, case).await?,
            None => rule_by_id(&tx.txn, current.ceiling_rule_id.as_uuid()).await?,
        };
        let terms = AllocationTerms::new(AllocationTermsParts {
            eligible_cost: change.eligible_cost.unwrap_or(current.eligible_cost),
            eu_contribution: change.eu_contribution.unwrap_or(current.eu_contribution),
            ceiling_case: rule.case.clone(),
            ceiling: rule.max_rate,
            status: current.status,
            decision_date: current.decision_date,
            reference: change.reference.clone().unwrap_or(current.reference),
        })?;
        let parts = terms.parts();
        let row = allocation::ActiveModel {
            id: sea_orm::Unchanged(id.as_uuid()),
            ceiling_rule_id: Set(rule.id.as_uuid()),
            eligible_cost_cents: Set(parts.eligible_cost.cents()),
            eu_contribution_cents: Set(parts.eu_contribution.cents()),
            reference: Set(parts.reference.clone()),
            updated_at: Set(super::now()),
            ..Default::default()
        }
        .update(&tx.txn)
        .await?;
        tx.commit().await?;
        super::rows::allocation(row)
    }

    /// Moves an allocation through its lifecycle; a decision (award, cancellation) carries its
    /// date. Awarding re-checks the ceiling as the rule row reads today.
    #[instrument(name = "repo.allocations.change_status", skip_all, fields(allocation = %id))]
    pub async fn change_status(
        &self,
        id: AllocationId,
        next: AllocationStatus,
        decision_date: Option<NaiveDate>,
    ) -> Result<Allocation, RepoError> {
        let tx = self.db.begin_write().await?;
        let current = load_locked(&tx, id).await?;
        let next = current.status.transition(next)?;
        let rule = rule_by_id(&tx.txn, current.ceiling_rule_id.as_uuid()).await?;
        let decision_date = decision_date.or(current.decision_date);
        let ceiling = if next == AllocationStatus::Cancelled {
            // A cancellation is never refused because a ceiling was lowered since.
            domain::money::Rate::FULL
        } else {
            rule.max_rate
        };
        AllocationTerms::new(AllocationTermsParts {
            eligible_cost: current.eligible_cost,
            eu_contribution: current.eu_contribution,
            ceiling_case: rule.case.clone(),
            ceiling,
            status: next,
            decision_date,
            reference: current.reference.clone(),
        })?;
        let row = allocation::ActiveModel {
            id: sea_orm::Unchanged(id.as_uuid()),
            status: Set(next.code().to_owned()),
            decision_date: Set(decision_date),
            updated_at: Set(super::now()),
            ..Default::default()
        }
        .update(&tx.txn)
        .await?;
        tx.commit().await?;
        super::rows::allocation(row)
    }

    #[instrument(name = "repo.allocations.get", skip_all, fields(allocation = %id))]
    pub async fn get(&self, id: AllocationId) -> Result<Allocation, RepoError> {
        self.load(self.db.connection(), id).await
    }

    #[instrument(name = "repo.allocations.find_by_ids", skip_all, fields(n = ids.len()))]
    pub async fn find_by_ids(&self, ids: &[AllocationId]) -> Result<Vec<Allocation>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        allocation::Entity::find()
            .filter(allocation::Column::Id.is_in(ids.iter().map(AllocationId::as_uuid)))
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::allocation)
            .collect()
    }

    /// A page of a partnership's allocations, in the order they were created.
    #[instrument(name = "repo.allocations.of_partnership", skip_all)]
    pub async fn of_partnership(
        &self,
        id: PartnershipId,
        page: &PageRequest,
    ) -> Result<Page<Allocation>, RepoError> {
        self.page(
            allocation::Column::PartnershipId,
            id.as_uuid(),
            DraftVisibility::All,
            page,
        )
        .await
    }

    /// A page of a stream's allocations, in the order they were created, to partnerships the
    /// reader may see.
    #[instrument(name = "repo.allocations.of_stream", skip_all)]
    pub async fn of_stream(
        &self,
        id: StreamId,
        drafts: DraftVisibility,
        page: &PageRequest,
    ) -> Result<Page<Allocation>, RepoError> {
        self.page(allocation::Column::StreamId, id.as_uuid(), drafts, page)
            .await
    }

    pub async fn count_of_partnership(&self, id: PartnershipId) -> Result<u64, RepoError> {
        Ok(allocation::Entity::find()
            .filter(allocation::Column::PartnershipId.eq(id.as_uuid()))
            .count(self.db.connection())
            .await?)
    }

    pub async fn count_of_stream(
        &self,
        id: StreamId,
        drafts: DraftVisibility,
    ) -> Result<u64, RepoError> {
        let mut query =
            allocation::Entity::find().filter(allocation::Column::StreamId.eq(id.as_uuid()));
        if let Some(visible) = drafts.on_column(allocation::Column::PartnershipId) {
            query = query.filter(visible);
        }
        Ok(query.count(self.db.connection()).await?)
    }

    async fn page(
        &self,
        column: allocation::Column,
        value: uuid::Uuid,
        drafts: DraftVisibility,
        page: &PageRequest,
    ) -> Result<Page<Allocation>, RepoError> {
        let mut query = allocation::Entity::find().filter(column.eq(value));
        if let Some(visible) = drafts.on_column(allocation::Column::PartnershipId) {
            query = query.filter(visible);
        }
        let key = order_key("allocations.created", page.direction);
        if let Some(cursor) = &page.after {
            query = query.filter(after(
                &key,
                SortValue::None,
                None,
                allocation::Column::Id,
                cursor,
                page.direction,
            )?);
        }
        let order = match page.direction {
            SortDirection::Asc => sea_orm::Order::Asc,
            SortDirection::Desc => sea_orm::Order::Desc,
        };
        let rows = query
            .order_by(allocation::Column::Id, order)
            .limit(page.first + 1)
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::allocation)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(rows, page.first, |a| Cursor {
            order: key.clone(),
            sort: SortValue::None,
            id: a.id.as_uuid(),
        }))
    }

    async fn load(
        &self,
        conn: &impl ConnectionTrait,
        id: AllocationId,
    ) -> Result<Allocation, RepoError> {
        let row = allocation::Entity::find_by_id(id.as_uuid())
            .one(conn)
            .await?
            .ok_or_else(|| RepoError::not_found("allocation", id))?;
        super::rows::allocation(row)
    }
}

/// Reads an allocation in a write transaction, locking its row on PostgreSQL so concurrent
/// changes of one allocation take turns (an award and a cancellation cannot both win).
async fn load_locked(tx: &WriteTx, id: AllocationId) -> Result<Allocation, RepoError> {
    let mut query = allocation::Entity::find_by_id(id.as_uuid());
    if tx.backend == Backend::Postgres {
        query = query.lock_exclusive();
    }
    let row = query
        .one(&tx.txn)
        .await?
        .ok_or_else(|| RepoError::not_found("allocation", id))?;
    super::rows::allocation(row)
}

async fn rule_by_id(conn: &impl ConnectionTrait, id: uuid::Uuid) -> Result<CeilingRule, RepoError> {
    let row = ceiling_rule::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| RepoError::Corrupt(format!("ceiling rule {id} is missing")))?;
    super::rows::rule(row)
}

/// The rule of `case` for `stream`; an unknown stream or case is the client's error, and the
/// message lists the cases the stream has.
async fn rule_for(
    conn: &impl ConnectionTrait,
    stream: StreamId,
    case: &CeilingCase,
) -> Result<CeilingRule, RepoError> {
    let stream_row = funding_stream::Entity::find_by_id(stream.as_uuid())
        .one(conn)
        .await?
        .ok_or_else(|| ValidationError::new("streamId", "refers to no funding stream"))?;
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
                "{} has no ceiling case {} (its cases: {})",
                stream_row.code,
                case.as_str(),
                cases.join(", ")
            ),
        )
        .into());
    };
    super::rows::rule(row.clone())
}
