//! Memberships: add an actor to a partnership, change its roles or dates, record that it left.
//! Each change re-checks the rules on the whole set of current members, inside the
//! transaction, with the partnership row locked.

use chrono::NaiveDate;
use domain::ValidationError;
use domain::ids::{ActorId, MembershipId, PartnershipId};
use domain::membership::{Membership, Role, RoleSet, check_members, check_membership_dates};
use domain::partnership::{PartnershipKind, PartnershipStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use tracing::instrument;

use super::DraftVisibility;
use crate::by_index::ByIndex;
use crate::database::WriteTx;
use crate::entities::{actor, membership};
use crate::pagination::{Cursor, Page, PageRequest, SortDirection, SortValue, order_key};
use crate::{Database, RepoError};

/// A change to one membership; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MembershipChange {
    pub roles: Option<RoleSet>,
    pub joined_on: Option<NaiveDate>,
    /// `Some(None)` clears the date the member left (it rejoins).
    pub left_on: Option<Option<NaiveDate>>,
    /// The version the change was made against; a stale one is refused.
    pub expected_version: Option<i64>,
}

pub struct Memberships<'a> {
    pub(crate) db: &'a Database,
}

impl Memberships<'_> {
    #[instrument(name = "repo.memberships.add", skip_all, fields(partnership = %partnership_id))]
    pub async fn add(
        &self,
        partnership_id: PartnershipId,
        actor_id: ActorId,
        roles: RoleSet,
        joined_on: NaiveDate,
    ) -> Result<Membership, RepoError> {
        check_membership_dates(joined_on, None)?;
        let tx = self.db.begin_write().await?;
        let (kind, status) = open_partnership(&tx, partnership_id).await?;
        if actor::Entity::find_by_id(actor_id.as_uuid())
            .count(&tx.txn)
            .await?
            == 0
        {
            return Err(ValidationError::new("actorId", "refers to no actor").into());
        }
        let existing = membership::Entity::find()
            .filter(membership::Column::PartnershipId.eq(partnership_id.as_uuid()))
            .filter(membership::Column::ActorId.eq(actor_id.as_uuid()))
            .count(&tx.txn)
            .await?;
        if existing > 0 {
            return Err(RepoError::conflict(
                "actorId",
                "the actor is already a member of this partnership (change that membership instead)",
            ));
        }
        let mut members = super::partnerships::current_members(&tx.txn, partnership_id).await?;
        members.push(roles.clone());
        check_members(kind, status, members.iter())?;
        let row = new_row(partnership_id, actor_id, &roles, joined_on, super::now())
            .insert(&tx.txn)
            .await?;
        tx.record("Membership", row.id, None::<&membership::Model>, Some(&row));
        tx.commit().await?;
        super::rows::membership(row)
    }

    #[instrument(name = "repo.memberships.change", skip_all, fields(membership = %id))]
    pub async fn change(
        &self,
        id: MembershipId,
        change: MembershipChange,
    ) -> Result<Membership, RepoError> {
        let tx = self.db.begin_write().await?;
        // Read without lock to learn the partnership, then lock it and read again: the row
        // may have changed in between.
        let partnership_id = membership::Entity::find_by_id(id.as_uuid())
            .one(&tx.txn)
            .await?
            .map(|m| PartnershipId::from_uuid(m.partnership_id))
            .ok_or_else(|| RepoError::not_found("membership", id))?;
        let (kind, status) = open_partnership(&tx, partnership_id).await?;
        let before = membership::Entity::find_by_id(id.as_uuid())
            .one(&tx.txn)
            .await?
            .ok_or_else(|| RepoError::not_found("membership", id))?;
        RepoError::check_version(change.expected_version, before.version)?;
        let current = super::rows::membership(before.clone())?;
        let roles = change.roles.unwrap_or_else(|| current.roles.clone());
        let joined_on = change.joined_on.unwrap_or(current.joined_on);
        let left_on = change.left_on.unwrap_or(current.left_on);
        check_membership_dates(joined_on, left_on)?;
        let mut members: Vec<RoleSet> = membership::Entity::find()
            .filter(membership::Column::PartnershipId.eq(partnership_id.as_uuid()))
            .filter(membership::Column::LeftOn.is_null())
            .filter(membership::Column::Id.ne(id.as_uuid()))
            .all(&tx.txn)
            .await?
            .into_iter()
            .map(|m| super::rows::membership(m).map(|m| m.roles))
            .collect::<Result<_, _>>()?;
        if left_on.is_none() {
            members.push(roles.clone());
        }
        check_members(kind, status, members.iter()).map_err(|e| {
            if left_on.is_some() && change.left_on.is_some() {
                e.for_field("leftOn")
            } else {
                e
            }
        })?;
        let row = membership::ActiveModel {
            id: sea_orm::Unchanged(id.as_uuid()),
            is_lead: Set(roles.contains(Role::Lead)),
            roles: Set(roles.to_stored()),
            joined_on: Set(joined_on),
            left_on: Set(left_on),
            version: Set(before.version + 1),
            updated_at: Set(super::now()),
            ..Default::default()
        }
        .update(&tx.txn)
        .await?;
        tx.record("Membership", row.id, Some(&before), Some(&row));
        tx.commit().await?;
        super::rows::membership(row)
    }

    #[instrument(name = "repo.memberships.get", skip_all, fields(membership = %id))]
    pub async fn get(&self, id: MembershipId) -> Result<Membership, RepoError> {
        let row = membership::Entity::find_by_id(id.as_uuid())
            .one(self.db.connection())
            .await?
            .ok_or_else(|| RepoError::not_found("membership", id))?;
        super::rows::membership(row)
    }

    #[instrument(name = "repo.memberships.find_by_ids", skip_all, fields(n = ids.len()))]
    pub async fn find_by_ids(&self, ids: &[MembershipId]) -> Result<Vec<Membership>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        membership::Entity::find()
            .filter(super::any_of(
                self.db.backend(),
                membership::Column::Id,
                ids.iter().map(MembershipId::as_uuid),
            ))
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::membership)
            .collect()
    }

    /// A page of a partnership's members, in the order they were added.
    #[instrument(name = "repo.memberships.of_partnership", skip_all)]
    pub async fn of_partnership(
        &self,
        id: PartnershipId,
        include_former: bool,
        page: &PageRequest,
    ) -> Result<Page<Membership>, RepoError> {
        let column = membership::Column::PartnershipId;
        self.page(
            column,
            id.as_uuid(),
            include_former,
            DraftVisibility::All,
            page,
        )
        .await
    }

    /// A page of an actor's memberships, in the order they were added, in the partnerships
    /// the reader may see.
    #[instrument(name = "repo.memberships.of_actor", skip_all)]
    pub async fn of_actor(
        &self,
        id: ActorId,
        include_former: bool,
        drafts: DraftVisibility,
        page: &PageRequest,
    ) -> Result<Page<Membership>, RepoError> {
        let column = membership::Column::ActorId;
        self.page(column, id.as_uuid(), include_former, drafts, page)
            .await
    }

    /// The current membership of `actor` in `partnership`, if any.
    #[instrument(name = "repo.memberships.current_of", skip_all)]
    pub async fn current_of(
        &self,
        partnership: PartnershipId,
        actor: ActorId,
    ) -> Result<Option<Membership>, RepoError> {
        membership::Entity::find()
            .filter(membership::Column::PartnershipId.eq(partnership.as_uuid()))
            .filter(membership::Column::ActorId.eq(actor.as_uuid()))
            .filter(membership::Column::LeftOn.is_null())
            .one(self.db.connection())
            .await?
            .map(super::rows::membership)
            .transpose()
    }

    /// The current members of these partnerships, in the order they were added.
    #[instrument(name = "repo.memberships.current_of_partnerships", skip_all, fields(n = ids.len()))]
    pub async fn current_of_partnerships(
        &self,
        ids: &[PartnershipId],
    ) -> Result<Vec<Membership>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        membership::Entity::find()
            .filter(super::any_of(
                self.db.backend(),
                membership::Column::PartnershipId,
                ids.iter().map(PartnershipId::as_uuid),
            ))
            .filter(membership::Column::LeftOn.is_null())
            .order_by_asc(membership::Column::Id)
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(super::rows::membership)
            .collect()
    }

    /// The first page of the members of each of these partnerships, in one statement (a
    /// window function ranks each partnership's members), for DataLoaders: a page of 100
    /// partnerships costs what a page of 10 does.
    #[instrument(name = "repo.memberships.pages_of_partnerships", skip_all, fields(n = ids.len()))]
    pub async fn pages_of_partnerships(
        &self,
        ids: &[PartnershipId],
        include_former: bool,
        first: u64,
        after: Option<uuid::Uuid>,
    ) -> Result<crate::Map<PartnershipId, Page<Membership>>, RepoError> {
        let parents: Vec<uuid::Uuid> = ids.iter().map(PartnershipId::as_uuid).collect();
        let condition = sea_orm::sea_query::Condition::all().add(super::any_of(
            self.db.backend(),
            membership::Column::PartnershipId,
            parents.iter().copied(),
        ));
        let pages = self
            .ranked_pages(
                condition,
                "membership.partnership_id",
                &parents,
                include_former,
                first,
                after,
                |m| m.partnership_id.as_uuid(),
            )
            .await?;
        Ok(pages
            .into_iter()
            .map(|(id, page)| (PartnershipId::from_uuid(id), page))
            .collect())
    }

    /// The first page of the memberships of each of these actors, in one statement, in the
    /// partnerships the reader may see.
    #[instrument(name = "repo.memberships.pages_of_actors", skip_all, fields(n = ids.len()))]
    pub async fn pages_of_actors(
        &self,
        ids: &[ActorId],
        include_former: bool,
        drafts: DraftVisibility,
        first: u64,
        after: Option<uuid::Uuid>,
    ) -> Result<crate::Map<ActorId, Page<Membership>>, RepoError> {
        let parents: Vec<uuid::Uuid> = ids.iter().map(ActorId::as_uuid).collect();
        let mut condition = sea_orm::sea_query::Condition::all().add(super::any_of(
            self.db.backend(),
            membership::Column::ActorId,
            parents.iter().copied(),
        ));
        if let Some(visible) = drafts.on_column(membership::Column::PartnershipId) {
            condition = condition.add(visible);
        }
        let pages = self
            .ranked_pages(
                condition,
                "membership.actor_id",
                &parents,
                include_former,
                first,
                after,
                |m| m.actor_id.as_uuid(),
            )
            .await?;
        Ok(pages
            .into_iter()
            .map(|(id, page)| (ActorId::from_uuid(id), page))
            .collect())
    }

    /// Ranks the memberships matching `condition` within each parent and cuts each parent's
    /// first page.
    #[allow(clippy::too_many_arguments)]
    async fn ranked_pages(
        &self,
        mut condition: sea_orm::sea_query::Condition,
        partition: &str,
        parents: &[uuid::Uuid],
        include_former: bool,
        first: u64,
        after: Option<uuid::Uuid>,
        parent_of: impl Fn(&Membership) -> uuid::Uuid,
    ) -> Result<crate::Map<uuid::Uuid, Page<Membership>>, RepoError> {
        if !include_former {
            condition = condition.add(membership::Column::LeftOn.is_null());
        }
        if let Some(after) = after {
            condition = condition.add(membership::Column::Id.gt(after));
        }
        let outer = crate::pagination::ranked_by_parent(
            membership::Entity,
            partition,
            "membership.id",
            condition,
            first,
        );
        let conn = self.db.connection();
        let statement = conn.get_database_backend().build(&outer);
        let rows = membership::Entity::find()
            .from_raw_sql(statement)
            .into_model::<ByIndex<membership::Model>>()
            .all(conn)
            .await?;
        let mut grouped: crate::Map<uuid::Uuid, Vec<Membership>> =
            parents.iter().map(|id| (*id, Vec::new())).collect();
        for row in rows {
            let m = super::rows::membership(row.0)?;
            grouped.entry(parent_of(&m)).or_default().push(m);
        }
        let key = order_key("memberships.added", SortDirection::Asc);
        Ok(grouped
            .into_iter()
            .map(|(id, mut members)| {
                members.sort_by_key(|m| m.id);
                let page = Page::from_rows(members, first, |m| Cursor {
                    order: key.clone(),
                    sort: SortValue::None,
                    id: m.id.as_uuid(),
                });
                (id, page)
            })
            .collect())
    }

    /// How many members each of these partnerships has, in one statement.
    #[instrument(name = "repo.memberships.counts_of_partnerships", skip_all, fields(n = ids.len()))]
    pub async fn counts_of_partnerships(
        &self,
        ids: &[PartnershipId],
        include_former: bool,
    ) -> Result<crate::Map<PartnershipId, u64>, RepoError> {
        let mut query = membership::Entity::find()
            .select_only()
            .column(membership::Column::PartnershipId)
            .column_as(membership::Column::Id.count(), "n")
            .filter(super::any_of(
                self.db.backend(),
                membership::Column::PartnershipId,
                ids.iter().map(PartnershipId::as_uuid),
            ))
            .group_by(membership::Column::PartnershipId);
        if !include_former {
            query = query.filter(membership::Column::LeftOn.is_null());
        }
        let rows: Vec<(uuid::Uuid, i64)> = query.into_tuple().all(self.db.connection()).await?;
        Ok(rows
            .into_iter()
            .map(|(id, n)| (PartnershipId::from_uuid(id), u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    /// The current LEAD of a partnership, if it has one.
    #[instrument(name = "repo.memberships.lead_of", skip_all)]
    pub async fn lead_of(&self, partnership: PartnershipId) -> Result<Option<ActorId>, RepoError> {
        Ok(membership::Entity::find()
            .filter(membership::Column::PartnershipId.eq(partnership.as_uuid()))
            .filter(membership::Column::IsLead.eq(true))
            .filter(membership::Column::LeftOn.is_null())
            .one(self.db.connection())
            .await?
            .map(|m| ActorId::from_uuid(m.actor_id)))
    }

    pub async fn count_of_actor(
        &self,
        id: ActorId,
        include_former: bool,
        drafts: DraftVisibility,
    ) -> Result<u64, RepoError> {
        self.count(
            membership::Column::ActorId,
            id.as_uuid(),
            include_former,
            drafts,
        )
        .await
    }

    /// [`Self::count_of_actor`] for each of these actors, in one statement.
    #[instrument(name = "repo.memberships.counts_of_actors", skip_all, fields(n = ids.len()))]
    pub async fn counts_of_actors(
        &self,
        ids: &[ActorId],
        include_former: bool,
        drafts: DraftVisibility,
    ) -> Result<Vec<u64>, RepoError> {
        let queries = ids
            .iter()
            .map(|id| {
                count_query(
                    membership::Column::ActorId,
                    id.as_uuid(),
                    include_former,
                    drafts,
                )
            })
            .collect();
        crate::pagination::count_each(self.db.connection(), queries).await
    }

    async fn count(
        &self,
        column: membership::Column,
        value: uuid::Uuid,
        include_former: bool,
        drafts: DraftVisibility,
    ) -> Result<u64, RepoError> {
        Ok(count_query(column, value, include_former, drafts)
            .count(self.db.connection())
            .await?)
    }

    async fn page(
        &self,
        column: membership::Column,
        value: uuid::Uuid,
        include_former: bool,
        drafts: DraftVisibility,
        page: &PageRequest,
    ) -> Result<Page<Membership>, RepoError> {
        let mut query = membership::Entity::find().filter(column.eq(value));
        if let Some(visible) = drafts.on_column(membership::Column::PartnershipId) {
            query = query.filter(visible);
        }
        if !include_former {
            query = query.filter(membership::Column::LeftOn.is_null());
        }
        crate::pagination::page_by_id(
            self.db.connection(),
            query,
            membership::Column::Id,
            "memberships.added",
            page,
            super::rows::membership,
            |m| m.id.as_uuid(),
        )
        .await
    }
}

/// Locks the partnership and refuses changes to a COMPLETED or WITHDRAWN one.
/// The row of a new current member (shared by `add`, a partnership's LEAD at creation, and
/// the bulk import).
pub(crate) fn new_row(
    partnership_id: PartnershipId,
    actor_id: ActorId,
    roles: &RoleSet,
    joined_on: NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> membership::ActiveModel {
    membership::ActiveModel {
        id: Set(MembershipId::generate().as_uuid()),
        partnership_id: Set(partnership_id.as_uuid()),
        actor_id: Set(actor_id.as_uuid()),
        is_lead: Set(roles.contains(Role::Lead)),
        roles: Set(roles.to_stored()),
        joined_on: Set(joined_on),
        left_on: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
}

async fn open_partnership(
    tx: &WriteTx,
    id: PartnershipId,
) -> Result<(PartnershipKind, PartnershipStatus), RepoError> {
    let row = super::partnerships::lock(&tx.txn, tx.backend, id).await?;
    let status = PartnershipStatus::from_code(&row.status)
        .ok_or_else(|| RepoError::Corrupt(format!("partnership {id}: status")))?;
    let kind = PartnershipKind::from_code(&row.kind)
        .ok_or_else(|| RepoError::Corrupt(format!("partnership {id}: kind")))?;
    if status.is_closed() {
        return Err(RepoError::conflict(
            "partnershipId",
            format!(
                "the partnership is {}: its members can no longer change",
                status.code()
            ),
        ));
    }
    Ok((kind, status))
}

/// The memberships [`Memberships::count`] counts.
fn count_query(
    column: membership::Column,
    value: uuid::Uuid,
    include_former: bool,
    drafts: DraftVisibility,
) -> sea_orm::Select<membership::Entity> {
    let mut query = membership::Entity::find().filter(column.eq(value));
    if let Some(visible) = drafts.on_column(membership::Column::PartnershipId) {
        query = query.filter(visible);
    }
    if !include_former {
        query = query.filter(membership::Column::LeftOn.is_null());
    }
    query
}
