//! Partnerships: create (with the LEAD membership, in one transaction), update, status
//! changes under the membership rules, read by ids, and list with filters and orderings.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use domain::ValidationError;
use domain::ids::{ActorId, PartnershipId, StreamId};
use domain::membership::{RoleSet, check_members};
use domain::partnership::{
    Partnership, PartnershipDetails, PartnershipKind, PartnershipStatus, Theme,
};
use domain::territory::CountryCode;
use sea_orm::sea_query::{Condition, Expr, ExprTrait, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use tracing::instrument;

use crate::by_index::ByIndex;
use crate::entities::{actor, allocation, membership, partnership, partnership_theme};
use crate::pagination::{Cursor, Page, PageRequest, SortValue, after, direction, order_key};
use crate::{Backend, Database, RepoError};

/// Which partnerships to list. Empty lists mean "any"; several values of one list mean "any
/// of them"; different fields must all hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PartnershipFilter {
    pub themes: Vec<Theme>,
    pub kinds: Vec<PartnershipKind>,
    pub statuses: Vec<PartnershipStatus>,
    /// Has a current member in one of these countries.
    pub countries: Vec<CountryCode>,
    /// Has this actor as a current member.
    pub member_actor: Option<ActorId>,
    /// Has an allocation from this stream.
    pub funding_stream: Option<StreamId>,
    /// Runs on this date: started, not ended, and neither DRAFT nor WITHDRAWN.
    pub active_on: Option<NaiveDate>,
    /// Case-insensitive substring of the title.
    pub title_contains: Option<String>,
    /// Which DRAFT partnerships the reader may see.
    pub drafts: DraftVisibility,
}

/// Which DRAFT partnerships a reader may see (see `domain::access::can_see_partnership`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DraftVisibility {
    /// Funders and administrators see every partnership.
    #[default]
    All,
    /// Others see a DRAFT partnership only while this actor is a current member of it.
    MembersOnly(Option<ActorId>),
}

impl DraftVisibility {
    /// The condition on a column holding partnership ids; `None` when everything is visible.
    /// Written as "not one of the drafts the reader may not see": drafts are few and found
    /// by the status index, where "not a draft" would match nearly every partnership and no
    /// index serves `<>` (persistence/tests/plans.rs).
    pub(crate) fn on_column(self, column: impl ColumnTrait) -> Option<Condition> {
        let DraftVisibility::MembersOnly(actor) = self else {
            return None;
        };
        let mut hidden = Query::select()
            .column(partnership::Column::Id)
            .from(partnership::Entity)
            .and_where(partnership::Column::Status.eq(PartnershipStatus::Draft.code()))
            .to_owned();
        if let Some(actor) = actor {
            hidden.and_where(partnership::Column::Id.not_in_subquery(member_of(actor)));
        }
        Some(Condition::all().add(column.not_in_subquery(hidden)))
    }

    /// The condition on the partnership table itself: the same, on its id (a count of the
    /// visible partnerships then reads an index, not every row for `status <> 'DRAFT'`).
    fn on_partnership(self) -> Option<Condition> {
        self.on_column(partnership::Column::Id)
    }
}

/// `SELECT partnership_id FROM membership WHERE actor_id = ? AND left_on IS NULL`
fn member_of(actor: ActorId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(membership::Column::PartnershipId)
        .from(membership::Entity)
        .and_where(membership::Column::ActorId.eq(actor.as_uuid()))
        .and_where(membership::Column::LeftOn.is_null())
        .to_owned()
}

/// The orders a list of partnerships can have; each ends with the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartnershipOrder {
    Title,
    StartDate,
    #[default]
    Created,
}

pub struct Partnerships<'a> {
    pub(crate) db: &'a Database,
}

impl Partnerships<'_> {
    /// Creates a DRAFT partnership with `lead` as its LEAD member (roles `lead_roles`, which
    /// include LEAD).
    #[instrument(name = "repo.partnerships.create", skip_all)]
    pub async fn create(
        &self,
        details: PartnershipDetails,
        lead: ActorId,
        lead_roles: RoleSet,
        joined_on: NaiveDate,
    ) -> Result<Partnership, RepoError> {
        if !lead_roles.contains(domain::membership::Role::Lead) {
            return Err(ValidationError::new("leadRoles", "must include LEAD").into());
        }
        domain::membership::check_membership_dates(joined_on, None)?;
        let tx = self.db.begin_write().await?;
        let lead_exists = actor::Entity::find_by_id(lead.as_uuid())
            .count(&tx.txn)
            .await?
            > 0;
        if !lead_exists {
            return Err(ValidationError::new("leadActorId", "refers to no actor").into());
        }
        let id = PartnershipId::generate();
        let now = super::now();
        let parts = details.parts();
        let row = new_row(id, parts, PartnershipStatus::Draft, now)
            .insert(&tx.txn)
            .await?;
        write_themes(&tx.txn, id, &parts.themes, false).await?;
        let lead_row = super::memberships::new_row(id, lead, &lead_roles, joined_on, now)
            .insert(&tx.txn)
            .await?;
        tx.record(
            "Partnership",
            row.id,
            None::<&partnership::Model>,
            Some(&row),
        );
        tx.record(
            "Membership",
            lead_row.id,
            None::<&membership::Model>,
            Some(&lead_row),
        );
        tx.commit().await?;
        super::rows::partnership(row, parts.themes.clone())
    }

    /// Replaces a partnership's details; its status does not change here.
    #[instrument(name = "repo.partnerships.update", skip_all, fields(partnership = %id))]
    pub async fn update(
        &self,
        id: PartnershipId,
        details: PartnershipDetails,
        expected_version: Option<i64>,
    ) -> Result<Partnership, RepoError> {
        let tx = self.db.begin_write().await?;
        let current = lock(&tx.txn, tx.backend, id).await?;
        RepoError::check_version(expected_version, current.version)?;
        let status = current.status.clone();
        if PartnershipStatus::from_code(&status).is_some_and(PartnershipStatus::is_closed) {
            return Err(RepoError::conflict(
                "id",
                format!("a {status} partnership can no longer change"),
            ));
        }
        let parts = details.parts();
        if current.kind != parts.kind.code() {
            let members = current_members(&tx.txn, id).await?;
            let status = PartnershipStatus::from_code(&status)
                .ok_or_else(|| RepoError::Corrupt(format!("partnership {id}: status")))?;
            check_members(parts.kind, status, members.iter()).map_err(|e| e.for_field("kind"))?;
        }
        let row = partnership::ActiveModel {
            id: sea_orm::Unchanged(id.as_uuid()),
            version: Set(current.version + 1),
            updated_at: Set(super::now()),
            ..details_columns(parts)
        }
        .update(&tx.txn)
        .await?;
        write_themes(&tx.txn, id, &parts.themes, true).await?;
        tx.record("Partnership", row.id, Some(&current), Some(&row));
        tx.commit().await?;
        super::rows::partnership(row, parts.themes.clone())
    }

    /// Moves a partnership to `next` if the lifecycle allows it and, for ACTIVE, if its
    /// current members satisfy the membership rules.
    #[instrument(name = "repo.partnerships.change_status", skip_all, fields(partnership = %id))]
    pub async fn change_status(
        &self,
        id: PartnershipId,
        next: PartnershipStatus,
        expected_version: Option<i64>,
    ) -> Result<Partnership, RepoError> {
        let tx = self.db.begin_write().await?;
        let current = lock(&tx.txn, tx.backend, id).await?;
        RepoError::check_version(expected_version, current.version)?;
        let status = PartnershipStatus::from_code(&current.status)
            .ok_or_else(|| RepoError::Corrupt(format!("partnership {id}: status")))?;
        let kind = PartnershipKind::from_code(&current.kind)
            .ok_or_else(|| RepoError::Corrupt(format!("partnership {id}: kind")))?;
        let next = status.transition(next)?;
        let members = current_members(&tx.txn, id).await?;
        check_members(kind, next, members.iter())?;
        let row = partnership::ActiveModel {
            id: sea_orm::Unchanged(id.as_uuid()),
            status: Set(next.code().to_owned()),
            version: Set(current.version + 1),
            updated_at: Set(super::now()),
            ..Default::default()
        }
        .update(&tx.txn)
        .await?;
        tx.record("Partnership", row.id, Some(&current), Some(&row));
        tx.commit().await?;
        self.get(id).await
    }

    #[instrument(name = "repo.partnerships.get", skip_all, fields(partnership = %id))]
    pub async fn get(&self, id: PartnershipId) -> Result<Partnership, RepoError> {
        self.find_by_ids(&[id])
            .await?
            .pop()
            .ok_or_else(|| RepoError::not_found("partnership", id))
    }

    #[instrument(name = "repo.partnerships.find_by_ids", skip_all, fields(n = ids.len()))]
    pub async fn find_by_ids(&self, ids: &[PartnershipId]) -> Result<Vec<Partnership>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = partnership::Entity::find()
            .filter(super::any_of(
                self.db.backend(),
                partnership::Column::Id,
                ids.iter().map(PartnershipId::as_uuid),
            ))
            .all(self.db.connection())
            .await?;
        with_themes(rows)
    }

    #[instrument(name = "repo.partnerships.list", skip_all)]
    pub async fn list(
        &self,
        filter: &PartnershipFilter,
        order: PartnershipOrder,
        page: &PageRequest,
    ) -> Result<Page<Partnership>, RepoError> {
        let rows = page_query(filter, order, page)?
            .into_model::<ByIndex<partnership::Model>>()
            .all(self.db.connection())
            .await?
            .into_iter()
            .map(|row| row.0)
            .collect();
        let mut pages = pages_of(vec![rows], order, page)?;
        Ok(pages.pop().unwrap_or(Page {
            items: Vec::new(),
            has_next_page: false,
        }))
    }

    /// The page of [`Self::list`] for each filter (the partnerships of each actor of a page),
    /// in one statement.
    #[instrument(name = "repo.partnerships.list_many", skip_all, fields(n = filters.len()))]
    pub async fn list_many(
        &self,
        filters: &[PartnershipFilter],
        order: PartnershipOrder,
        page: &PageRequest,
    ) -> Result<Vec<Page<Partnership>>, RepoError> {
        let queries = filters
            .iter()
            .map(|f| page_query(f, order, page))
            .collect::<Result<Vec<_>, _>>()?;
        let (column, _, _) = order_spec(order);
        let dir = direction(page.direction);
        let rows = crate::pagination::rows_of_each(
            self.db.connection(),
            queries,
            &[(column.as_str(), dir.clone()), ("id", dir)],
        )
        .await?;
        pages_of(rows, order, page)
    }

    /// How many partnerships match, with exactly the filter of [`Self::list`]. Filters on
    /// members, countries and streams are `EXISTS` subqueries, so a partnership with several
    /// matching members is counted once.
    #[instrument(name = "repo.partnerships.count", skip_all)]
    pub async fn count(&self, filter: &PartnershipFilter) -> Result<u64, RepoError> {
        Ok(partnership::Entity::find()
            .filter(condition(filter))
            .count(self.db.connection())
            .await?)
    }

    /// [`Self::count`] for each of these filters (the `totalCount` of a nested list for every
    /// parent of a page), in one statement.
    #[instrument(name = "repo.partnerships.count_many", skip_all, fields(n = filters.len()))]
    pub async fn count_many(&self, filters: &[PartnershipFilter]) -> Result<Vec<u64>, RepoError> {
        let queries = filters
            .iter()
            .map(|filter| partnership::Entity::find().filter(condition(filter)))
            .collect();
        crate::pagination::count_each(self.db.connection(), queries).await
    }
}

/// The sort column of an order, the list's name in cursors, and a sort value of its kind.
fn order_spec(order: PartnershipOrder) -> (partnership::Column, &'static str, SortValue) {
    match order {
        PartnershipOrder::Title => (
            partnership::Column::TitleFolded,
            "partnerships.title",
            SortValue::Text(String::new()),
        ),
        PartnershipOrder::StartDate => (
            partnership::Column::StartDate,
            "partnerships.start_date",
            SortValue::Date(NaiveDate::MIN),
        ),
        PartnershipOrder::Created => (
            partnership::Column::CreatedAt,
            "partnerships.created",
            SortValue::Time(chrono::DateTime::UNIX_EPOCH),
        ),
    }
}

/// The statement behind one page of [`Partnerships::list`].
fn page_query(
    filter: &PartnershipFilter,
    order: PartnershipOrder,
    page: &PageRequest,
) -> Result<Select<partnership::Entity>, RepoError> {
    let mut query = partnership::Entity::find().filter(condition(filter));
    let (sort_column, name, kind) = order_spec(order);
    let key = order_key(name, page.direction);
    if let Some(cursor) = &page.after {
        query = query.filter(after(
            &key,
            kind,
            Some(sort_column),
            partnership::Column::Id,
            cursor,
            page.direction,
        )?);
    }
    let dir = direction(page.direction);
    Ok(query
        .order_by(sort_column, dir.clone())
        .order_by(partnership::Column::Id, dir)
        .limit(page.first + 1))
}

/// Pages of [`Partnerships::list`] from their rows, in order.
fn pages_of(
    pages: Vec<Vec<partnership::Model>>,
    order: PartnershipOrder,
    page: &PageRequest,
) -> Result<Vec<Page<Partnership>>, RepoError> {
    let (_, name, _) = order_spec(order);
    let key = order_key(name, page.direction);
    let mut shapes = Vec::with_capacity(pages.len());
    let mut all_rows = Vec::new();
    for rows in pages {
        let page = Page::from_rows(rows, page.first, |row| Cursor {
            order: key.clone(),
            sort: match order {
                PartnershipOrder::Title => SortValue::Text(row.title_folded.clone()),
                PartnershipOrder::StartDate => SortValue::Date(row.start_date),
                PartnershipOrder::Created => SortValue::Time(row.created_at),
            },
            id: row.id,
        });
        let (cursors, rows): (Vec<_>, Vec<_>) = page.items.into_iter().unzip();
        all_rows.extend(rows);
        shapes.push((cursors, page.has_next_page));
    }
    let mut items = with_themes(all_rows)?.into_iter();
    Ok(shapes
        .into_iter()
        .map(|(cursors, has_next_page)| Page {
            items: cursors.into_iter().zip(items.by_ref()).collect(),
            has_next_page,
        })
        .collect())
}

/// Reads the partnership row, locking it on PostgreSQL so that membership and status changes
/// of one partnership take turns (SQLite's writer lock already serialises them).
pub(crate) async fn lock(
    conn: &impl ConnectionTrait,
    backend: Backend,
    id: PartnershipId,
) -> Result<partnership::Model, RepoError> {
    let mut query = partnership::Entity::find_by_id(id.as_uuid());
    if backend == Backend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(conn)
        .await?
        .ok_or_else(|| RepoError::not_found("partnership", id))
}

/// The role sets of the members who have not left.
pub(crate) async fn current_members(
    conn: &impl ConnectionTrait,
    id: PartnershipId,
) -> Result<Vec<RoleSet>, RepoError> {
    membership::Entity::find()
        .filter(membership::Column::PartnershipId.eq(id.as_uuid()))
        .filter(membership::Column::LeftOn.is_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|m| super::rows::membership(m).map(|m| m.roles))
        .collect()
}

/// The themes as one key, in the domain's order (`HOUSING,COMMUNITY_SPONSORSHIP`); empty
/// when none is known.
pub(crate) fn themes_key(themes: &BTreeSet<Theme>) -> String {
    themes
        .iter()
        .map(|t| t.code())
        .collect::<Vec<_>>()
        .join(",")
}

/// The columns of a partnership's details (shared by a new row and an update), with
/// `themes_key` from the same set the theme rows are written from.
fn details_columns(
    parts: &domain::partnership::PartnershipDetailsParts,
) -> partnership::ActiveModel {
    partnership::ActiveModel {
        title: Set(parts.title.clone()),
        title_folded: Set(parts.title.to_lowercase()),
        description: Set(parts.description.clone()),
        kind: Set(parts.kind.code().to_owned()),
        governance_levels: Set(super::rows::levels_to_stored(&parts.governance_levels)),
        themes_key: Set(themes_key(&parts.themes)),
        start_date: Set(parts.start_date),
        end_date: Set(parts.end_date),
        ..Default::default()
    }
}

/// The row of a new partnership in `status` (shared by `create` and the bulk import).
pub(crate) fn new_row(
    id: PartnershipId,
    parts: &domain::partnership::PartnershipDetailsParts,
    status: PartnershipStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> partnership::ActiveModel {
    partnership::ActiveModel {
        id: Set(id.as_uuid()),
        status: Set(status.code().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..details_columns(parts)
    }
}

/// The theme rows of a partnership.
pub(crate) fn theme_rows(
    id: PartnershipId,
    themes: &BTreeSet<Theme>,
) -> impl Iterator<Item = partnership_theme::ActiveModel> + '_ {
    themes.iter().map(move |t| partnership_theme::ActiveModel {
        partnership_id: Set(id.as_uuid()),
        theme: Set(t.code().to_owned()),
    })
}

async fn write_themes(
    conn: &impl ConnectionTrait,
    id: PartnershipId,
    themes: &BTreeSet<Theme>,
    replace: bool,
) -> Result<(), RepoError> {
    if replace {
        partnership_theme::Entity::delete_many()
            .filter(partnership_theme::Column::PartnershipId.eq(id.as_uuid()))
            .exec(conn)
            .await?;
    }
    if themes.is_empty() {
        return Ok(());
    }
    partnership_theme::Entity::insert_many(theme_rows(id, themes))
        .exec(conn)
        .await?;
    Ok(())
}

/// The partnerships of rows, their themes read from `themes_key`: it is written with the
/// `partnership_theme` rows in the same statement group of every writer (create, update, the
/// import, the synthetic data), so a page needs no second statement for its themes. The
/// theme rows stay for the theme filter's index.
fn with_themes(rows: Vec<partnership::Model>) -> Result<Vec<Partnership>, RepoError> {
    rows.into_iter()
        .map(|row| {
            let themes = themes_of_key(&row.themes_key)
                .ok_or_else(|| RepoError::Corrupt(format!("partnership {}: themes", row.id)))?;
            super::rows::partnership(row, themes)
        })
        .collect()
}

/// The themes of a `themes_key` (any order of codes; empty for none).
pub(crate) fn themes_of_key(key: &str) -> Option<BTreeSet<Theme>> {
    key.split(',')
        .filter(|code| !code.is_empty())
        .map(Theme::from_code)
        .collect()
}

fn condition(filter: &PartnershipFilter) -> Condition {
    let pid = || Expr::col((partnership::Entity, partnership::Column::Id));
    let mut cond = Condition::all();
    if let Some(visible) = filter.drafts.on_partnership() {
        cond = cond.add(visible);
    }
    if !filter.themes.is_empty() {
        cond = cond.add(Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(partnership_theme::Entity)
                .and_where(
                    Expr::col((
                        partnership_theme::Entity,
                        partnership_theme::Column::PartnershipId,
                    ))
                    .eq(pid()),
                )
                .and_where(
                    Expr::col((partnership_theme::Entity, partnership_theme::Column::Theme))
                        .is_in(filter.themes.iter().map(|t| t.code())),
                )
                .to_owned(),
        ));
    }
    if !filter.kinds.is_empty() {
        cond = cond.add(partnership::Column::Kind.is_in(filter.kinds.iter().map(|k| k.code())));
    }
    if !filter.statuses.is_empty() {
        cond =
            cond.add(partnership::Column::Status.is_in(filter.statuses.iter().map(|s| s.code())));
    }
    if !filter.countries.is_empty() || filter.member_actor.is_some() {
        let mut members = Query::select()
            .expr(Expr::val(1))
            .from(membership::Entity)
            .and_where(Expr::col((membership::Entity, membership::Column::PartnershipId)).eq(pid()))
            .and_where(Expr::col((membership::Entity, membership::Column::LeftOn)).is_null())
            .to_owned();
        if let Some(actor_id) = filter.member_actor {
            members.and_where(
                Expr::col((membership::Entity, membership::Column::ActorId)).eq(actor_id.as_uuid()),
            );
        }
        if !filter.countries.is_empty() {
            members
                .inner_join(
                    actor::Entity,
                    Expr::col((actor::Entity, actor::Column::Id))
                        .equals((membership::Entity, membership::Column::ActorId)),
                )
                .and_where(
                    Expr::col((actor::Entity, actor::Column::Country))
                        .is_in(filter.countries.iter().map(|c| c.as_str().to_owned())),
                );
        }
        cond = cond.add(Expr::exists(members));
    }
    if let Some(stream) = filter.funding_stream {
        cond = cond.add(Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from(allocation::Entity)
                .and_where(
                    Expr::col((allocation::Entity, allocation::Column::PartnershipId)).eq(pid()),
                )
                .and_where(
                    Expr::col((allocation::Entity, allocation::Column::StreamId))
                        .eq(stream.as_uuid()),
                )
                .to_owned(),
        ));
    }
    if let Some(day) = filter.active_on {
        cond = cond
            .add(partnership::Column::StartDate.lte(day))
            .add(
                Condition::any()
                    .add(partnership::Column::EndDate.is_null())
                    .add(partnership::Column::EndDate.gte(day)),
            )
            .add(partnership::Column::Status.is_in(["ACTIVE", "COMPLETED"]));
    }
    if let Some(title) = &filter.title_contains {
        cond = cond.add(partnership::Column::TitleFolded.like(
            LikeExpr::new(format!("%{}%", super::like_escape(&title.to_lowercase()))).escape('\\'),
        ));
    }
    cond
}
