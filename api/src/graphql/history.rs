//! The audit trail in GraphQL, for funders and administrators: `auditEvents` (who changed
//! what, when, from what to what) and `verifyAuditChain` (proof that history was not
//! rewritten).

use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::access::can_audit;
use futures_util::future::BoxFuture;
use persistence::audit::{AuditEvent as StoredEvent, AuditFilter};
use persistence::repo::DraftVisibility;
use persistence::{PageRequest, SortDirection};

use super::connection::page_request;
use super::{db, principal};
use crate::error::{ApiError, ApiResult};
use crate::ids::{self, NodeType};

/// One change, as the audit trail recorded it.
pub struct AuditEvent(StoredEvent);

fn node_type(entity_type: &str) -> Option<NodeType> {
    Some(match entity_type {
        "Actor" => NodeType::Actor,
        "Partnership" => NodeType::Partnership,
        "Membership" => NodeType::Membership,
        "Allocation" => NodeType::Allocation,
        "Programme" => NodeType::Programme,
        "Payment" => NodeType::Payment,
        "CeilingRule" => NodeType::CeilingRule,
        "StreamManager" => NodeType::Actor,
        "AllocationBudget" => NodeType::Allocation,
        _ => return None,
    })
}

#[Object]
impl AuditEvent {
    /// Position in the chain, from 1.
    async fn sequence(&self) -> i64 {
        self.0.seq
    }

    /// UTC, RFC 3339 with microseconds.
    async fn occurred_at(&self) -> &str {
        &self.0.occurred_at
    }

    /// The token's `sub`, or `registry` for the registry's own tools.
    async fn subject(&self) -> &str {
        &self.0.subject
    }

    async fn role(&self) -> &str {
        &self.0.role
    }

    /// The actor the token spoke for.
    async fn actor_id(&self) -> Option<ID> {
        self.0
            .actor_id
            .as_deref()
            .and_then(|a| uuid::Uuid::try_parse(a).ok())
            .map(|a| ids::encode(NodeType::Actor, a))
    }

    async fn request_id(&self) -> &str {
        &self.0.request_id
    }

    /// The mutation (`createActor`) or command (`seed-demo`).
    async fn operation(&self) -> &str {
        &self.0.operation
    }

    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }

    /// The changed record's id as the API shows it.
    async fn entity_id(&self) -> Option<ID> {
        let uuid = uuid::Uuid::try_parse(&self.0.entity_id).ok()?;
        node_type(&self.0.entity_type).map(|t| ids::encode(t, uuid))
    }

    /// The stored record before the change; null for a creation.
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .before
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .map(Json)
    }

    /// The stored record after the change; null for a removal.
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0
            .after
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
            .map(Json)
    }

    /// SHA-256 over the previous event's hash and this event's canonical content (hex).
    async fn hash(&self) -> &str {
        &self.0.hash
    }

    async fn previous_hash(&self) -> &str {
        &self.0.prev_hash
    }
}

/// Which events to list; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    pub entity_id: Option<ID>,
    /// `Actor`, `Partnership`, `Membership`, `Allocation`, `Programme`, `Payment`,
    /// `CeilingRule`, `StreamManager`.
    pub entity_type: Option<String>,
    pub subject: Option<String>,
    pub actor_id: Option<ID>,
    pub operation: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct AuditEventEdge {
    pub cursor: String,
    pub node: AuditEvent,
}

/// A page of events, oldest first.
#[derive(SimpleObject)]
pub struct AuditEventConnection {
    pub edges: Vec<AuditEventEdge>,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// The result of walking the chain.
#[derive(SimpleObject)]
pub struct AuditChainReport {
    pub valid: bool,
    pub events_checked: i64,
    /// The sequence number of the first event whose hash or link does not match.
    pub first_broken_sequence: Option<i64>,
    pub reason: Option<String>,
}

/// The events of one record, oldest first: its versions over time. Through the request's
/// batcher: the histories of every record of a page are one statement.
///
/// Boxed, as every field that reads the database itself: a type's field futures are all as
/// large as its largest, and the types a page repeats poll theirs together
/// (`super::in_place`).
pub(crate) fn history_of<'a>(
    ctx: &'a Context<'a>,
    entity: uuid::Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> BoxFuture<'a, ApiResult<AuditEventConnection>> {
    Box::pin(async move {
        can_audit(principal(ctx)?)?;
        let page = page_request(first, after, SortDirection::Asc)?;
        let result = super::nested_page(
            ctx,
            super::loaders::HistoryOf(entity),
            DraftVisibility::All,
            page,
        )
        .await?;
        Ok(connection(result))
    })
}

fn connection(result: persistence::Page<StoredEvent>) -> AuditEventConnection {
    let edges: Vec<AuditEventEdge> = result
        .items
        .into_iter()
        .map(|(cursor, event)| AuditEventEdge {
            cursor: super::connection::encode_cursor(&cursor),
            node: AuditEvent(event),
        })
        .collect();
    AuditEventConnection {
        end_cursor: edges.last().map(|e| e.cursor.clone()),
        edges,
        has_next_page: result.has_next_page,
    }
}

async fn events(
    ctx: &Context<'_>,
    filter: &AuditFilter,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<AuditEventConnection> {
    let page: PageRequest = page_request(first, after, SortDirection::Asc)?;
    Ok(connection(db(ctx)?.audit_events(filter, &page).await?))
}

#[derive(Default)]
pub struct HistoryQuery;

fn parse_filter(f: AuditEventFilter) -> ApiResult<AuditFilter> {
    Ok(AuditFilter {
        entity_id: f
            .entity_id
            .map(|id| {
                ids::decode_any(&id).map(|(_, uuid)| uuid).ok_or_else(|| {
                    ApiError::bad_input("entityId", "is not an id issued by this registry")
                })
            })
            .transpose()?,
        entity_type: f.entity_type,
        subject: f.subject,
        actor_id: f
            .actor_id
            .map(|id| ids::decode(NodeType::Actor, &id, "actorId"))
            .transpose()?,
        operation: f.operation,
        since: f.since,
        until: f.until,
    })
}

#[Object]
impl HistoryQuery {
    /// The audit trail, oldest first (funders and administrators).
    #[graphql(complexity = "super::connection::cost(first, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditEventFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AuditEventConnection> {
        can_audit(principal(ctx)?).map_err(ApiError::from)?;
        let filter = parse_filter(filter.unwrap_or_default()).map_err(|e| e.within("filter"))?;
        Ok(events(ctx, &filter, first, after).await?)
    }

    /// Walks the whole hash chain of the audit trail and names the first event that does not
    /// match (funders and administrators).
    async fn verify_audit_chain(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<AuditChainReport> {
        can_audit(principal(ctx)?).map_err(ApiError::from)?;
        let report = db(ctx)?.verify_chain().await.map_err(ApiError::from)?;
        Ok(AuditChainReport {
            valid: report.first_broken.is_none(),
            events_checked: i64::try_from(report.events_checked).unwrap_or(i64::MAX),
            first_broken_sequence: report.first_broken,
            reason: report.reason,
        })
    }
}
