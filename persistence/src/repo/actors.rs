//! Actors: create, update, read by ids, list with filters, and the hierarchy checks that need
//! the stored ancestors.

use domain::ValidationError;
use domain::actor::{Actor, ActorBrief, ActorKind, ActorProfile, HierarchyNode, check_parent};
use domain::ids::ActorId;
use domain::territory::CountryCode;
use sea_orm::sea_query::{Condition, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};
use tracing::instrument;

use crate::by_index::{ActorBriefRow, ByIndex};
use crate::database::WriteTx;
use crate::entities::actor;
use crate::pagination::{Cursor, Page, PageRequest, SortValue, after, direction, order_key};
use crate::{Backend, Database, RepoError};

/// The deepest hierarchy walked: far more levels than any government has, and a bound that
/// keeps a corrupt chain from looping.
const MAX_DEPTH: usize = 32;

/// Which actors to list. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ActorFilter {
    pub kinds: Vec<ActorKind>,
    pub countries: Vec<CountryCode>,
    /// A NUTS code prefix (`ES2` matches `ES21`, `ES211`...), already upper-case.
    pub nuts_prefix: Option<String>,
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    pub parent_id: Option<ActorId>,
    /// Also list archived actors.
    pub include_archived: bool,
}

pub struct Actors<'a> {
    pub(crate) db: &'a Database,
}

fn fold(text: &str) -> String {
    text.to_lowercase()
}

impl Actors<'_> {
    #[instrument(name = "repo.actors.create", skip_all)]
    pub async fn create(
        &self,
        profile: ActorProfile,
        parent_id: Option<ActorId>,
    ) -> Result<Actor, RepoError> {
        let tx = self.db.begin_write().await?;
        let id = ActorId::generate();
        if let Some(parent_id) = parent_id {
            hierarchy_lock(&tx).await?;
            check_hierarchy(&tx, id, &profile, parent_id).await?;
        }
        let now = super::now();
        let mut model = active_model(&profile, parent_id);
        model.id = Set(id.as_uuid());
        model.verified = Set(false);
        model.created_at = Set(now);
        model.updated_at = Set(now);
        let row = model.insert(&tx.txn).await?;
        tx.record("Actor", row.id, None::<&actor::Model>, Some(&row));
        tx.commit().await?;
        super::rows::actor(row)
    }

    /// Replaces an actor's profile and parent. The kind cannot change: other records (roles,
    /// hierarchy) depend on it. With `reset_verified` (an edit by anyone but an administrator)
    /// an earlier verification no longer holds.
    #[instrument(name = "repo.actors.update", skip_all, fields(actor = %id))]
    pub async fn update(
        &self,
        id: ActorId,
        profile: ActorProfile,
        parent_id: Option<ActorId>,
        reset_verified: bool,
        expected_version: Option<i64>,
    ) -> Result<Actor, RepoError> {
        let tx = self.db.begin_write().await?;
        let mut query = actor::Entity::find_by_id(id.as_uuid());
        if tx.backend == Backend::Postgres {
            query = query.lock_exclusive();
        }
        let current = query
            .one(&tx.txn)
            .await?
            .ok_or_else(|| RepoError::not_found("actor", id))?;
        RepoError::check_version(expected_version, current.version)?;
        if current.kind != profile.parts().kind.code() {
            return Err(ValidationError::new(
                "kind",
                format!("an actor's kind cannot change (it is {})", current.kind),
            )
            .into());
        }
        hierarchy_lock(&tx).await?;
        if let Some(parent_id) = parent_id {
            check_hierarchy(&tx, id, &profile, parent_id).await?;
        }
        let country = profile.parts().country.as_str().to_owned();
        if current.country != country {
            let territorial_children = actor::Entity::find()
                .filter(actor::Column::ParentId.eq(id.as_uuid()))
                .filter(actor::Column::Kind.is_in(["MUNICIPALITY", "REGION"]))
                .count(&tx.txn)
                .await?;
            if territorial_children > 0 {
                return Err(ValidationError::new(
                    "country",
                    format!(
                        "cannot move to {country}: {territorial_children} municipalities or regions lie in this actor in {}",
                        current.country
                    ),
                )
                .into());
            }
        }
        let mut model = active_model(&profile, parent_id);
        model.id = sea_orm::Unchanged(id.as_uuid());
        model.updated_at = Set(super::now());
        model.version = Set(current.version + 1);
        if reset_verified {
            model.verified = Set(false);
        }
        let row = model.update(&tx.txn).await?;
        tx.record("Actor", row.id, Some(&current), Some(&row));
        tx.commit().await?;
        super::rows::actor(row)
    }

    /// Marks an actor verified (or not) by an administrator.
    #[instrument(name = "repo.actors.set_verified", skip_all, fields(actor = %id))]
    pub async fn set_verified(
        &self,
        id: ActorId,
        verified: bool,
        expected_version: Option<i64>,
    ) -> Result<Actor, RepoError> {
        let tx = self.db.begin_write().await?;
        let mut query = actor::Entity::find_by_id(id.as_uuid());
        if tx.backend == Backend::Postgres {
            query = query.lock_exclusive();
        }
        let current = query
            .one(&tx.txn)
            .await?
            .ok_or_else(|| RepoError::not_found("actor", id))?;
        RepoError::check_version(expected_version, current.version)?;
        let row = actor::ActiveModel {
            id: sea_orm::Unchanged(id.as_uuid()),
            verified: Set(verified),
            version: Set(current.version + 1),
            updated_at: Set(super::now()),
            ..Default::default()
        }
        .update(&tx.txn)
        .await?;
        tx.record("Actor", row.id, Some(&current), Some(&row));
        tx.commit().await?;
        super::rows::actor(row)
    }

    /// Archives an actor (or brings it back). Archived actors keep their rows, memberships
    /// and history; lists leave them out unless asked.
    #[instrument(name = "repo.actors.archive", skip_all, fields(actor = %id))]
    pub async fn archive(
        &self,
        id: ActorId,
        archived: bool,
        expected_version: Option<i64>,
    ) -> Result<Actor, RepoError> {
        let tx = self.db.begin_write().await?;
        let mut query = actor::Entity::find_by_id(id.as_uuid());
        if tx.backend == Backend::Postgres {
            query = query.lock_exclusive();
        }
        let current = query
            .one(&tx.txn)
            .await?
            .ok_or_else(|| RepoError::not_found("actor", id))?;
        RepoError::check_version(expected_version, current.version)?;
        let now = super::now();
        let row = actor::ActiveModel {
            id: sea_orm::Unchanged(id.as_uuid()),
            archived_at: Set(archived.then_some(current.archived_at.unwrap_or(now))),
            version: Set(current.version + 1),
            updated_at: Set(now),
            ..Default::default()
        }
        .update(&tx.txn)
        .await?;
        tx.record("Actor", row.id, Some(&current), Some(&row));
        tx.commit().await?;
        super::rows::actor(row)
    }

    #[instrument(name = "repo.actors.get", skip_all, fields(actor = %id))]
    pub async fn get(&self, id: ActorId) -> Result<Actor, RepoError> {
        let row = actor::Entity::find_by_id(id.as_uuid())
            .one(self.db.connection())
            .await?
            .ok_or_else(|| RepoError::not_found("actor", id))?;
        super::rows::actor(row)
    }

    /// The actors with these ids that exist, in no particular order.
    #[instrument(name = "repo.actors.find_by_ids", skip_all, fields(n = ids.len()))]
    pub async fn find_by_ids(&self, ids: &[ActorId]) -> Result<Vec<Actor>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = actor::Entity::find()
            .filter(super::any_of(
                self.db.backend(),
                actor::Column::Id,
                ids.iter().map(ActorId::as_uuid),
            ))
            .into_model::<ByIndex<actor::Model>>()
            .all(self.db.connection())
            .await?;
        // Sized ahead: collected through `Result`, the vector would start empty and move its
        // actors at every doubling (a page's members read about 250).
        let mut actors = Vec::with_capacity(rows.len());
        for row in rows {
            actors.push(super::rows::actor(row.0)?);
        }
        Ok(actors)
    }

    /// The briefs of the actors with these ids that exist, in no particular order: the four
    /// columns a list of members shows, not the 21 of [`Self::find_by_ids`].
    #[instrument(name = "repo.actors.briefs_by_ids", skip_all, fields(n = ids.len()))]
    pub async fn briefs_by_ids(&self, ids: &[ActorId]) -> Result<Vec<ActorBrief>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = actor::Entity::find()
            .select_only()
            .columns(ActorBriefRow::COLUMNS)
            .filter(super::any_of(
                self.db.backend(),
                actor::Column::Id,
                ids.iter().map(ActorId::as_uuid),
            ))
            .into_model::<ByIndex<ActorBriefRow>>()
            .all(self.db.connection())
            .await?;
        rows.into_iter()
            .map(|row| super::rows::actor_brief(row.0))
            .collect()
    }

    /// A page of actors, ordered by name (case-insensitively), then id.
    #[instrument(name = "repo.actors.list", skip_all)]
    pub async fn list(
        &self,
        filter: &ActorFilter,
        page: &PageRequest,
    ) -> Result<Page<Actor>, RepoError> {
        let rows = page_query(filter, page)?.all(self.db.connection()).await?;
        page_of(rows, page)
    }

    /// The page of [`Self::list`] for each filter (the children of each actor of a page), in
    /// one statement.
    #[instrument(name = "repo.actors.list_many", skip_all, fields(n = filters.len()))]
    pub async fn list_many(
        &self,
        filters: &[ActorFilter],
        page: &PageRequest,
    ) -> Result<Vec<Page<Actor>>, RepoError> {
        let queries = filters
            .iter()
            .map(|f| page_query(f, page))
            .collect::<Result<Vec<_>, _>>()?;
        let order = direction(page.direction);
        let order = [("name_folded", order.clone()), ("id", order)];
        crate::pagination::rows_of_each(self.db.connection(), queries, &order)
            .await?
            .into_iter()
            .map(|rows| page_of(rows, page))
            .collect()
    }

    /// How many actors match, with exactly the filter of [`Self::list`].
    #[instrument(name = "repo.actors.count", skip_all)]
    pub async fn count(&self, filter: &ActorFilter) -> Result<u64, RepoError> {
        Ok(actor::Entity::find()
            .filter(condition(filter))
            .count(self.db.connection())
            .await?)
    }

    /// [`Self::count`] for each of these filters (the `totalCount` of a nested list for every
    /// parent of a page), in one statement.
    #[instrument(name = "repo.actors.count_many", skip_all, fields(n = filters.len()))]
    pub async fn count_many(&self, filters: &[ActorFilter]) -> Result<Vec<u64>, RepoError> {
        let queries = filters
            .iter()
            .map(|filter| actor::Entity::find().filter(condition(filter)))
            .collect();
        crate::pagination::count_each(self.db.connection(), queries).await
    }

    /// Ids of the ancestors of `id`, nearest first.
    pub async fn ancestors(&self, id: ActorId) -> Result<Vec<ActorId>, RepoError> {
        ancestors(self.db.connection(), id).await
    }
}

/// The statement behind one page of [`Actors::list`].
fn page_query(
    filter: &ActorFilter,
    page: &PageRequest,
) -> Result<Select<actor::Entity>, RepoError> {
    let mut query = actor::Entity::find().filter(condition(filter));
    let key = order_key("actors.name", page.direction);
    if let Some(cursor) = &page.after {
        query = query.filter(after(
            &key,
            SortValue::Text(String::new()),
            Some(actor::Column::NameFolded),
            actor::Column::Id,
            cursor,
            page.direction,
        )?);
    }
    let order = direction(page.direction);
    Ok(query
        .order_by(actor::Column::NameFolded, order.clone())
        .order_by(actor::Column::Id, order)
        .limit(page.first + 1))
}

/// The rows of one page of [`Actors::list`], in its order, as a page with cursors.
fn page_of(rows: Vec<actor::Model>, page: &PageRequest) -> Result<Page<Actor>, RepoError> {
    let key = order_key("actors.name", page.direction);
    let page = Page::from_rows(rows, page.first, |row| Cursor {
        order: key.clone(),
        sort: SortValue::Text(row.name_folded.clone()),
        id: row.id,
    });
    let items = page
        .items
        .into_iter()
        .map(|(c, row)| super::rows::actor(row).map(|a| (c, a)))
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        has_next_page: page.has_next_page,
    })
}

fn condition(filter: &ActorFilter) -> Condition {
    let mut cond = Condition::all();
    if !filter.include_archived {
        cond = cond.add(actor::Column::ArchivedAt.is_null());
    }
    if !filter.kinds.is_empty() {
        cond = cond.add(actor::Column::Kind.is_in(filter.kinds.iter().map(|k| k.code())));
    }
    if !filter.countries.is_empty() {
        cond = cond.add(
            actor::Column::Country.is_in(filter.countries.iter().map(|c| c.as_str().to_owned())),
        );
    }
    if let Some(prefix) = &filter.nuts_prefix {
        cond = cond.add(super::starts_with(actor::Column::NutsCode, prefix));
    }
    if let Some(name) = &filter.name_contains {
        cond = cond
            .add(actor::Column::NameFolded.like(
                LikeExpr::new(format!("%{}%", super::like_escape(&fold(name)))).escape('\\'),
            ));
    }
    if let Some(parent) = filter.parent_id {
        cond = cond.add(actor::Column::ParentId.eq(parent.as_uuid()));
    }
    cond
}

pub(crate) fn active_model(
    profile: &ActorProfile,
    parent_id: Option<ActorId>,
) -> actor::ActiveModel {
    let p = profile.parts();
    actor::ActiveModel {
        id: sea_orm::NotSet,
        kind: Set(p.kind.code().to_owned()),
        name: Set(p.name.clone()),
        name_folded: Set(fold(&p.name)),
        country: Set(p.country.as_str().to_owned()),
        nuts_code: Set(p.nuts.as_ref().map(|n| n.code().to_owned())),
        nuts_version: Set(p.nuts.as_ref().map(|n| i32::from(n.version()))),
        lau_code: Set(p.lau.as_ref().map(|l| l.code().to_owned())),
        lau_year: Set(p.lau.as_ref().map(|l| i32::from(l.year()))),
        population: Set(p.population.map(i64::from)),
        parent_id: Set(parent_id.map(|id| id.as_uuid())),
        pic: Set(p.pic.as_ref().map(|v| v.as_str().to_owned())),
        vat_number: Set(p.vat_number.as_ref().map(|v| v.as_str().to_owned())),
        wikidata_id: Set(p.wikidata_id.as_ref().map(|v| v.as_str().to_owned())),
        website: Set(p.website.as_ref().map(|v| v.as_str().to_owned())),
        email: Set(p.email.as_ref().map(|v| v.as_str().to_owned())),
        verified: sea_orm::NotSet,
        archived_at: sea_orm::NotSet,
        created_at: sea_orm::NotSet,
        updated_at: sea_orm::NotSet,
        version: sea_orm::NotSet,
    }
}

async fn ancestors(conn: &impl ConnectionTrait, id: ActorId) -> Result<Vec<ActorId>, RepoError> {
    let mut chain = Vec::new();
    let mut next = id;
    loop {
        if chain.len() >= MAX_DEPTH {
            // Refuse rather than stop looking: a cycle could hide beyond the limit.
            return Err(ValidationError::new(
                "parentId",
                format!("the hierarchy would be deeper than {MAX_DEPTH} levels"),
            )
            .into());
        }
        let parent = actor::Entity::find_by_id(next.as_uuid())
            .select_only()
            .column(actor::Column::ParentId)
            .into_tuple::<Option<uuid::Uuid>>()
            .one(conn)
            .await?
            .flatten();
        match parent {
            Some(parent) => {
                let parent = ActorId::from_uuid(parent);
                if chain.contains(&parent) {
                    break;
                }
                chain.push(parent);
                next = parent;
            }
            None => break,
        }
    }
    Ok(chain)
}

/// On PostgreSQL, hierarchy changes take turns: two concurrent re-parentings could each pass
/// the cycle check and together form a cycle, and a child created while its parent moves
/// country could end up across a border. (SQLite's writer lock already serialises them.)
async fn hierarchy_lock(tx: &WriteTx) -> Result<(), RepoError> {
    if tx.backend == Backend::Postgres {
        tx.txn
            .execute_unprepared("SELECT pg_advisory_xact_lock(7301001)")
            .await?;
    }
    Ok(())
}

async fn check_hierarchy(
    tx: &WriteTx,
    child_id: ActorId,
    profile: &ActorProfile,
    parent_id: ActorId,
) -> Result<(), RepoError> {
    let parent = actor::Entity::find_by_id(parent_id.as_uuid())
        .one(&tx.txn)
        .await?
        .ok_or_else(|| ValidationError::new("parentId", "refers to no actor"))?;
    let parent = super::rows::actor(parent)?;
    let chain = ancestors(&tx.txn, parent_id).await?;
    let node = |id, profile: &ActorProfile| HierarchyNode {
        id,
        kind: profile.parts().kind,
        country: profile.parts().country,
    };
    check_parent(
        node(child_id, profile),
        node(parent_id, &parent.profile),
        &chain,
    )?;
    Ok(())
}
