//! The GraphQL schema: one query and one mutation root per area, merged; the `Node`
//! interface; and the helpers resolvers share. [`schema_builder`] needs no database, so the
//! SDL can be exported anywhere.

pub mod actor;
pub mod audit;
pub mod batcher;
pub(crate) mod coercion;
pub mod connection;
pub mod documents;
pub mod enums;
pub mod error_codes;
pub mod funding;
pub mod history;
pub mod in_place;
pub mod limits;
pub mod loaders;
pub mod partnership;
pub mod programme;
mod response_map;
pub mod scalars;

use std::hash::Hash;

use async_graphql::{
    Context, EmptySubscription, ID, Interface, MergedObject, Object, Schema, SchemaBuilder,
};
use domain::access::{PartnershipFacts, Principal, Role, can_see_partnership};
use domain::ids::{
    ActorId, AllocationId, CeilingRuleId, MembershipId, PartnershipId, PaymentId, ProgrammeId,
    StreamId,
};
use persistence::Database;
use persistence::repo::DraftVisibility;

use crate::error::{ApiError, ApiResult};
use crate::ids::{self, NodeType};
use actor::{Actor, ActorMutation, ActorQuery};
use batcher::Loader;
use funding::{Allocation, CeilingRule, FundingMutation, FundingQuery, FundingStream};
use in_place::InPlace;
use loaders::{Loaders, RepoLoader};
use partnership::{Membership, Partnership, PartnershipMutation, PartnershipQuery};

/// The most ids `nodes(ids:)` takes at once.
pub const MAX_NODES: usize = 100;

/// Anything with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id."))]
pub enum Node {
    Actor(Actor),
    Partnership(Partnership),
    Membership(Membership),
    FundingStream(FundingStream),
    CeilingRule(CeilingRule),
    Allocation(Allocation),
    Programme(programme::Programme),
    Payment(funding::PaymentEntry),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; null when there is none.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        Ok(load_node(ctx, &id, "id").await?)
    }

    /// Up to 100 objects by global id, in the order asked; null for each id that has none.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(ApiError::bad_input(
                "ids",
                format!("at most {MAX_NODES} ids at once (got {})", ids.len()),
            )
            .into());
        }
        // Sequential awaits would still batch: each `load` only registers its key until the
        // loader's tick, but joining them lets the loader see all keys in one batch.
        let loads = ids.iter().map(|id| load_node(ctx, id, "ids"));
        let nodes = futures_util::future::join_all(loads).await;
        Ok(nodes.into_iter().collect::<ApiResult<Vec<_>>>()?)
    }
}

async fn load_node(ctx: &Context<'_>, id: &ID, field: &str) -> ApiResult<Option<Node>> {
    let Some((node, uuid)) = ids::decode_any(id) else {
        return Err(ApiError::bad_input(
            field,
            "is not an id issued by this registry",
        ));
    };
    Ok(match node {
        NodeType::Actor => load(ctx, ActorId::from_uuid(uuid))
            .await?
            .map(|v| Node::Actor(Actor(v))),
        NodeType::Partnership => visible_partnership(ctx, PartnershipId::from_uuid(uuid))
            .await?
            .map(|v| Node::Partnership(Partnership(v))),
        NodeType::Membership => match load(ctx, MembershipId::from_uuid(uuid)).await? {
            Some(m) if visible_partnership(ctx, m.partnership_id).await?.is_some() => {
                Some(Node::Membership(Membership(m)))
            }
            _ => None,
        },
        NodeType::FundingStream => load(ctx, StreamId::from_uuid(uuid))
            .await?
            .map(|v| Node::FundingStream(FundingStream(v))),
        NodeType::CeilingRule => load(ctx, CeilingRuleId::from_uuid(uuid))
            .await?
            .map(|v| Node::CeilingRule(CeilingRule(v))),
        NodeType::Programme => load(ctx, ProgrammeId::from_uuid(uuid))
            .await?
            .map(|v| Node::Programme(programme::Programme(v))),
        NodeType::Payment => match load(ctx, PaymentId::from_uuid(uuid)).await? {
            Some(p) => match load(ctx, p.allocation_id).await? {
                Some(a) if visible_partnership(ctx, a.partnership_id).await?.is_some() => {
                    Some(Node::Payment(funding::PaymentEntry(p)))
                }
                _ => None,
            },
            None => None,
        },
        NodeType::Allocation => match load(ctx, AllocationId::from_uuid(uuid)).await? {
            Some(a) if visible_partnership(ctx, a.partnership_id).await?.is_some() => {
                Some(Node::Allocation(Allocation(a)))
            }
            _ => None,
        },
    })
}

/// The role a token grants.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::access::Role")]
pub enum AccessRole {
    City,
    Region,
    Ngo,
    Funder,
    Admin,
}

/// Who the request acts for, as established from its token.
pub struct Viewer(Principal);

#[Object]
impl Viewer {
    /// The token's `sub` claim.
    async fn subject(&self) -> &str {
        &self.0.subject
    }

    async fn role(&self) -> AccessRole {
        self.0.role.into()
    }

    /// The actor the token speaks for; null for an administrator without one.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Actor>> {
        match self.0.actor_id {
            Some(id) => Ok(load(ctx, id).await?.map(Actor)),
            None => Ok(None),
        }
    }
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The identity of this request.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Viewer> {
        Ok(Viewer(principal(ctx)?.clone()))
    }
}

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    NodeQuery,
    ViewerQuery,
    ActorQuery,
    PartnershipQuery,
    FundingQuery,
    programme::ProgrammeQuery,
    audit::AuditQuery,
    history::HistoryQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    ActorMutation,
    PartnershipMutation,
    FundingMutation,
    programme::ProgrammeMutation,
);

pub type RegistrySchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The schema without data: enough to print the SDL. The server adds the database.
pub fn schema_builder() -> SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// How many whole-table aggregates (`fundingSummary`, `auditFindings`) may run at once in
/// this instance. Each reads every matching allocation (half a second of database CPU over
/// 1,000,000); without a bound, a burst of them held every pooled connection and cheap
/// requests failed with SERVICE_UNAVAILABLE. Beyond it they queue here, holding no
/// connection, until a permit or the request timeout.
#[derive(Clone)]
pub struct HeavyQueries(pub std::sync::Arc<tokio::sync::Semaphore>);

impl HeavyQueries {
    /// A quarter of the pool (at least one).
    pub fn for_pool(max_connections: u32) -> Self {
        let permits = usize::try_from(max_connections / 4).unwrap_or(1).max(1);
        Self(std::sync::Arc::new(tokio::sync::Semaphore::new(permits)))
    }
}

/// Waits for a turn to run a whole-table aggregate (see [`HeavyQueries`]).
pub(crate) async fn heavy_query_permit<'a>(
    ctx: &Context<'a>,
) -> ApiResult<Option<tokio::sync::SemaphorePermit<'a>>> {
    let Ok(heavy) = ctx.data::<HeavyQueries>() else {
        // A schema without the bound (the SDL export) runs them as they come.
        return Ok(None);
    };
    heavy
        .0
        .acquire()
        .await
        .map(Some)
        .map_err(|_| ApiError::internal("the heavy-query semaphore is closed"))
}

/// The principal the request acts for (put there by the HTTP edge).
pub(crate) fn principal<'a>(ctx: &Context<'a>) -> ApiResult<&'a Principal> {
    ctx.data::<Principal>()
        .map_err(|_| ApiError::internal("the request has no principal"))
}

/// Which DRAFT partnerships the principal may see in lists.
pub(crate) fn drafts(ctx: &Context<'_>) -> ApiResult<DraftVisibility> {
    let p = principal(ctx)?;
    Ok(match p.role {
        Role::Funder | Role::Admin => DraftVisibility::All,
        _ => DraftVisibility::MembersOnly(p.actor_id),
    })
}

/// What the rights need to know of a partnership, as the principal sees it.
pub(crate) async fn partnership_facts(
    ctx: &Context<'_>,
    partnership: &domain::partnership::Partnership,
) -> ApiResult<PartnershipFacts> {
    let p = principal(ctx)?;
    let db = db(ctx)?;
    let lead = db.memberships().lead_of(partnership.id).await?;
    let principal_is_member = match p.actor_id {
        Some(actor) => db
            .memberships()
            .current_of(partnership.id, actor)
            .await?
            .is_some(),
        None => false,
    };
    Ok(PartnershipFacts {
        status: partnership.status,
        lead,
        principal_is_member,
    })
}

/// Whether the principal may see a partnership (a DRAFT exists only for its members, funders
/// and administrators).
pub(crate) async fn can_see(
    ctx: &Context<'_>,
    partnership: &domain::partnership::Partnership,
) -> ApiResult<bool> {
    if partnership.status != domain::partnership::PartnershipStatus::Draft
        || drafts(ctx)? == DraftVisibility::All
    {
        return Ok(true);
    }
    let facts = partnership_facts(ctx, partnership).await?;
    Ok(can_see_partnership(principal(ctx)?, &facts))
}

/// A partnership the principal may see, or `None` (hidden and missing look the same).
pub(crate) async fn visible_partnership(
    ctx: &Context<'_>,
    id: PartnershipId,
) -> ApiResult<Option<domain::partnership::Partnership>> {
    match load(ctx, id).await? {
        Some(p) if can_see(ctx, &p).await? => Ok(Some(p)),
        _ => Ok(None),
    }
}

/// As [`visible_partnership`], for mutations: a hidden partnership is NOT_FOUND.
pub(crate) async fn partnership_for_change(
    ctx: &Context<'_>,
    id: PartnershipId,
) -> ApiResult<(domain::partnership::Partnership, PartnershipFacts)> {
    let partnership = visible_partnership(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no partnership has this id"))?;
    let facts = partnership_facts(ctx, &partnership).await?;
    Ok((partnership, facts))
}

/// Runs a create at most once per idempotency key: with a key already used by the same
/// principal for the same request, it returns the first result (via `load`); for a different
/// request under that key, CONFLICT; without a key, it simply creates.
pub(crate) async fn create_once<T, C, CF, L, LF>(
    ctx: &Context<'_>,
    key: Option<&str>,
    create: C,
    load: L,
) -> ApiResult<T>
where
    C: FnOnce(Database) -> CF,
    CF: std::future::Future<Output = ApiResult<T>>,
    L: Fn(Database, uuid::Uuid) -> LF,
    LF: std::future::Future<Output = ApiResult<T>>,
{
    let Some(key) = key else {
        return create(db(ctx)?).await;
    };
    let key = domain::text::single_line("idempotencyKey", key, 1, 200)?;
    // Keys belong to one identity: the subject acting in one role for one actor.
    let p = principal(ctx)?;
    let subject = format!(
        "{}|{}|{}",
        p.subject,
        p.role.code(),
        p.actor_id.map(|a| a.to_string()).unwrap_or_default()
    );
    let operation = ctx.field().name().to_owned();
    let arguments = ctx
        .field()
        .arguments()
        .map_err(|_| ApiError::internal("arguments of a resolved field"))?;
    let mut canonical = String::new();
    for (name, value) in &arguments {
        canonical.push_str(name.as_str());
        canonical.push('=');
        canonical_value(value, &mut canonical);
        canonical.push(';');
    }
    let hash = persistence::audit::input_hash(&canonical);
    let replay = |found: persistence::audit::IdempotentResult| {
        let matches = found.operation == operation && found.input_hash == hash;
        async move {
            if !matches {
                return Err(ApiError::Conflict {
                    field: "idempotencyKey".into(),
                    message: "was used for a different request; a retry repeats the same input"
                        .into(),
                });
            }
            load(db(ctx)?, found.entity_id).await
        }
    };
    let database = db(ctx)?;
    if let Some(found) = database.idempotency_lookup(&subject, &key).await? {
        return replay(found).await;
    }
    let handle = database.with_idempotency(persistence::audit::IdempotencyKey {
        subject: subject.clone(),
        key: key.clone(),
        operation: operation.clone(),
        input_hash: hash.clone(),
    });
    match create(handle).await {
        Err(ApiError::IdempotencyRace) => {
            match database.idempotency_lookup(&subject, &key).await? {
                Some(found) => replay(found).await,
                None => Err(ApiError::IdempotencyRace),
            }
        }
        other => other,
    }
}

/// A request input in one canonical text: object keys sorted, null fields dropped (as if
/// omitted), so a retry that orders or spells its JSON differently hashes the same.
fn canonical_value(value: &async_graphql::Value, out: &mut String) {
    use async_graphql::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map
                .iter()
                .filter(|(_, v)| !matches!(v, Value::Null))
                .collect();
            entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            out.push('{');
            for (k, v) in entries {
                out.push_str(&serde_json::Value::String(k.to_string()).to_string());
                out.push(':');
                canonical_value(v, out);
                out.push(',');
            }
            out.push('}');
        }
        Value::List(items) => {
            out.push('[');
            for v in items {
                canonical_value(v, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The database of this schema, recording the writes made through it in the audit trail for
/// the request's principal, request id and the field being resolved (the mutation's name).
pub(crate) fn db(ctx: &Context<'_>) -> ApiResult<Database> {
    let db = ctx
        .data::<Database>()
        .map_err(|_| ApiError::internal("the schema has no database"))?;
    let Ok(principal) = ctx.data::<Principal>() else {
        return Ok(db.clone());
    };
    let request_id = ctx
        .data::<crate::http::RequestIdValue>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    Ok(db.with_audit(persistence::audit::AuditContext {
        subject: principal.subject.clone(),
        role: principal.role.code().to_owned(),
        actor_id: principal.actor_id.map(|a| a.as_uuid()),
        request_id,
        operation: ctx.field().name().to_owned(),
    }))
}

/// One page of a parent's nested list through its batching loader, with whether the client
/// gave a cursor.
pub(crate) async fn nested_page<P: loaders::NestedList>(
    ctx: &Context<'_>,
    parent: P,
    drafts: DraftVisibility,
    page: persistence::PageRequest,
) -> ApiResult<persistence::Page<P::Item>> {
    let key = loaders::ListOf {
        parent,
        drafts,
        page,
    };
    Ok(load(ctx, key).await?.unwrap_or(persistence::Page {
        items: Vec::new(),
        has_next_page: false,
    }))
}

/// Loads one value through the request's batcher (see `batcher`).
pub(crate) async fn load<K>(
    ctx: &Context<'_>,
    key: K,
) -> ApiResult<Option<<RepoLoader as Loader<K>>::Value>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    RepoLoader: Loader<K, Error = ApiError>,
{
    let loaders = ctx
        .data::<Loaders>()
        .map_err(|_| ApiError::internal("the request has no loaders"))?;
    loaders.load_one(key).await
}

/// A related record that must exist (a membership's actor, an allocation's stream), loaded in
/// its batch and resolved in place, since it repeats down a page; its absence is an internal
/// error that names the relation (`missing`).
pub(crate) async fn related<K, T>(
    ctx: &Context<'_>,
    key: K,
    node: impl FnOnce(<RepoLoader as Loader<K>>::Value) -> T,
    missing: &'static str,
) -> async_graphql::Result<InPlace<T>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    RepoLoader: Loader<K, Error = ApiError>,
{
    match load(ctx, key).await? {
        Some(value) => Ok(InPlace(Box::new(node(value)))),
        None => Err(ApiError::internal(missing).into()),
    }
}

#[cfg(test)]
mod heavy_query_tests {
    use super::HeavyQueries;

    #[test]
    fn heavy_queries_get_a_quarter_of_the_pool_and_at_least_one() {
        for (pool, permits) in [(16, 4), (10, 2), (3, 1), (1, 1)] {
            assert_eq!(
                HeavyQueries::for_pool(pool).0.available_permits(),
                permits,
                "pool of {pool}"
            );
        }
    }
}
