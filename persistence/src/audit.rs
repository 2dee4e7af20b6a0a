//! The audit trail: who changed what, when, from what to what. Every write transaction
//! collects the rows it changed ([`WriteTx::record`]) and, at commit, appends one event per
//! change, chained by SHA-256: an event's hash covers the previous event's hash and the
//! event's own canonical content, so an edited or deleted event breaks the chain from there on.
//! Events are appended in the transaction of the change: a failed or refused change writes
//! none, and no acknowledged change lacks its event.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::instrument;

use crate::database::WriteTx;
use crate::pagination::{Cursor, Page, PageRequest, SortValue, order_key};
use crate::{Backend, Database, RepoError};

/// The hash before the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acts, for the events a write records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    pub subject: String,
    /// `city`, `region`, `ngo`, `funder`, `admin`, or `system` for the registry's own tools.
    pub role: String,
    pub actor_id: Option<uuid::Uuid>,
    pub request_id: String,
    /// The GraphQL mutation or command (`createActor`, `seed-demo`).
    pub operation: String,
}

impl AuditContext {
    /// The registry's own tools (migrations' seeds, `registry seed-demo`, tests).
    pub fn system(operation: &str) -> Self {
        Self {
            subject: "registry".into(),
            role: "system".into(),
            actor_id: None,
            request_id: "-".into(),
            operation: operation.into(),
        }
    }
}

/// A create made under a client's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub subject: String,
    pub key: String,
    pub operation: String,
    /// SHA-256 (hex) of the request's input.
    pub input_hash: String,
}

/// What an idempotency key already stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentResult {
    pub operation: String,
    pub input_hash: String,
    pub entity_type: String,
    pub entity_id: uuid::Uuid,
}

/// SHA-256 (hex) of a request's canonical input.
pub fn input_hash(canonical_input: &str) -> String {
    hex(&Sha256::digest(canonical_input.as_bytes()))
}

/// Writes the key of a create, in its transaction. A concurrent create under the same key
/// fails here on the primary key, so its transaction (and its record) is rolled back.
pub(crate) async fn remember_key(
    tx: &WriteTx,
    key: &IdempotencyKey,
    changes: &[PendingChange],
) -> Result<(), RepoError> {
    let Some(first) = changes.first() else {
        return Ok(());
    };
    let insert = Query::insert()
        .into_table(sea_orm::sea_query::Alias::new("idempotency_key"))
        .columns(
            [
                "subject",
                "key",
                "operation",
                "input_hash",
                "entity_type",
                "entity_id",
                "created_at",
            ]
            .map(sea_orm::sea_query::Alias::new),
        )
        .values_panic([
            key.subject.clone().into(),
            key.key.clone().into(),
            key.operation.clone().into(),
            key.input_hash.clone().into(),
            first.entity_type.to_owned().into(),
            first.entity_id.to_string().into(),
            Utc::now()
                .to_rfc3339_opts(SecondsFormat::Micros, true)
                .into(),
        ])
        .to_owned();
    match tx.txn.execute(&insert).await {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Err(RepoError::IdempotencyRace)
        }
        Err(e) => Err(e.into()),
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: i64,
    pub occurred_at: String,
    pub subject: String,
    pub role: String,
    pub actor_id: Option<String>,
    pub request_id: String,
    pub operation: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEvent {
    /// The canonical content the hash covers (keys sorted, no whitespace).
    fn canonical(&self) -> String {
        json!({
            "seq": self.seq,
            "occurredAt": self.occurred_at,
            "subject": self.subject,
            "role": self.role,
            "actorId": self.actor_id,
            "requestId": self.request_id,
            "operation": self.operation,
            "entityType": self.entity_type,
            "entityId": self.entity_id,
            "before": self.before,
            "after": self.after,
        })
        .to_string()
    }

    fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(b"\n");
        hasher.update(self.canonical().as_bytes());
        hex(&hasher.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A change a write transaction made, waiting for its commit.
#[derive(Debug, Clone)]
pub(crate) struct PendingChange {
    pub entity_type: &'static str,
    pub entity_id: uuid::Uuid,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The JSON of a row, for `before` and `after`.
pub(crate) fn snapshot<T: serde::Serialize>(row: &T) -> Option<Value> {
    serde_json::to_value(row).ok()
}

/// Appends the pending changes to the chain, inside the transaction.
pub(crate) async fn append(
    tx: &WriteTx,
    context: &AuditContext,
    changes: &[PendingChange],
) -> Result<(), RepoError> {
    if changes.is_empty() {
        return Ok(());
    }
    if tx.backend == Backend::Postgres {
        // Appends take turns so sequence numbers and hashes form one chain.
        tx.txn
            .execute_unprepared("SELECT pg_advisory_xact_lock(7301002)")
            .await?;
    }
    let backend = tx.txn.get_database_backend();
    let last = tx
        .txn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1",
        ))
        .await?;
    let (mut seq, mut prev_hash) = match last {
        Some(row) => (
            row.try_get::<i64>("", "seq")?,
            row.try_get::<String>("", "hash")?,
        ),
        None => (0, GENESIS_HASH.to_owned()),
    };
    let occurred_at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    for change in changes {
        seq += 1;
        let mut event = AuditEvent {
            seq,
            occurred_at: occurred_at.clone(),
            subject: context.subject.clone(),
            role: context.role.clone(),
            actor_id: context.actor_id.map(|a| a.to_string()),
            request_id: context.request_id.clone(),
            operation: context.operation.clone(),
            entity_type: change.entity_type.to_owned(),
            entity_id: change.entity_id.to_string(),
            before: change.before.as_ref().map(Value::to_string),
            after: change.after.as_ref().map(Value::to_string),
            prev_hash: prev_hash.clone(),
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        let insert = Query::insert()
            .into_table(sea_orm::sea_query::Alias::new("audit_event"))
            .columns(
                [
                    "seq",
                    "occurred_at",
                    "subject",
                    "role",
                    "actor_id",
                    "request_id",
                    "operation",
                    "entity_type",
                    "entity_id",
                    "before_json",
                    "after_json",
                    "prev_hash",
                    "hash",
                ]
                .map(sea_orm::sea_query::Alias::new),
            )
            .values_panic([
                event.seq.into(),
                event.occurred_at.clone().into(),
                event.subject.clone().into(),
                event.role.clone().into(),
                event.actor_id.clone().into(),
                event.request_id.clone().into(),
                event.operation.clone().into(),
                event.entity_type.clone().into(),
                event.entity_id.clone().into(),
                event.before.clone().into(),
                event.after.clone().into(),
                event.prev_hash.clone().into(),
                event.hash.clone().into(),
            ])
            .to_owned();
        tx.txn.execute(&insert).await?;
        prev_hash = event.hash;
    }
    Ok(())
}

/// What `verify_chain` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub events_checked: u64,
    /// The first event whose hash or link does not match, if any.
    pub first_broken: Option<i64>,
    pub reason: Option<String>,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_id: Option<uuid::Uuid>,
    pub entity_type: Option<String>,
    pub subject: Option<String>,
    pub actor_id: Option<uuid::Uuid>,
    pub operation: Option<String>,
    /// RFC 3339, UTC, inclusive.
    pub since: Option<DateTime<Utc>>,
    /// RFC 3339, UTC, exclusive.
    pub until: Option<DateTime<Utc>>,
}

fn read_event(row: &sea_orm::QueryResult) -> Result<AuditEvent, RepoError> {
    Ok(AuditEvent {
        seq: row.try_get("", "seq")?,
        occurred_at: row.try_get("", "occurred_at")?,
        subject: row.try_get("", "subject")?,
        role: row.try_get("", "role")?,
        actor_id: row.try_get("", "actor_id")?,
        request_id: row.try_get("", "request_id")?,
        operation: row.try_get("", "operation")?,
        entity_type: row.try_get("", "entity_type")?,
        entity_id: row.try_get("", "entity_id")?,
        before: row.try_get("", "before_json")?,
        after: row.try_get("", "after_json")?,
        prev_hash: row.try_get("", "prev_hash")?,
        hash: row.try_get("", "hash")?,
    })
}

const COLUMNS: &str = "seq, occurred_at, subject, role, actor_id, request_id, operation, entity_type, entity_id, before_json, after_json, prev_hash, hash";

impl Database {
    /// What `key` of `subject` already stands for, if it was used.
    #[instrument(name = "repo.audit.idempotency_lookup", skip_all)]
    pub async fn idempotency_lookup(
        &self,
        subject: &str,
        key: &str,
    ) -> Result<Option<IdempotentResult>, RepoError> {
        use sea_orm::sea_query::ExprTrait;
        let col = |c: &str| Expr::col(sea_orm::sea_query::Alias::new(c));
        let query = Query::select()
            .exprs(
                ["operation", "input_hash", "entity_type", "entity_id"]
                    .map(|c| Expr::cust(c.to_owned())),
            )
            .from(sea_orm::sea_query::Alias::new("idempotency_key"))
            .and_where(col("subject").eq(subject.to_owned()))
            .and_where(col("key").eq(key.to_owned()))
            .to_owned();
        let Some(row) = self.connection().query_one(&query).await? else {
            return Ok(None);
        };
        let entity_id: String = row.try_get("", "entity_id")?;
        Ok(Some(IdempotentResult {
            operation: row.try_get("", "operation")?,
            input_hash: row.try_get("", "input_hash")?,
            entity_type: row.try_get("", "entity_type")?,
            entity_id: uuid::Uuid::try_parse(&entity_id)
                .map_err(|_| RepoError::Corrupt("idempotency key with a bad entity id".into()))?,
        }))
    }

    /// Walks the whole chain in order, 1,000 events at a time, and names the first event
    /// whose stored hash, link or sequence does not match.
    #[instrument(name = "repo.audit.verify_chain", skip_all)]
    pub async fn verify_chain(&self) -> Result<ChainReport, RepoError> {
        let conn = self.connection();
        let backend = conn.get_database_backend();
        let mut prev_hash = GENESIS_HASH.to_owned();
        let mut expected_seq = 1_i64;
        let mut checked = 0_u64;
        loop {
            let rows = conn
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "SELECT {COLUMNS} FROM audit_event WHERE seq >= $1 ORDER BY seq LIMIT 1000"
                    )
                    .replace(
                        "$1",
                        if backend == sea_orm::DbBackend::Postgres {
                            "$1"
                        } else {
                            "?"
                        },
                    ),
                    [expected_seq.into()],
                ))
                .await?;
            if rows.is_empty() {
                return Ok(ChainReport {
                    events_checked: checked,
                    first_broken: None,
                    reason: None,
                });
            }
            for row in &rows {
                let event = read_event(row)?;
                let broken = |reason: &str| ChainReport {
                    events_checked: checked,
                    first_broken: Some(event.seq),
                    reason: Some(reason.to_owned()),
                };
                if event.seq != expected_seq {
                    return Ok(ChainReport {
                        events_checked: checked,
                        first_broken: Some(expected_seq),
                        reason: Some(format!("event {expected_seq} is missing")),
                    });
                }
                if event.prev_hash != prev_hash {
                    return Ok(broken("its link to the previous event does not match"));
                }
                if event.compute_hash() != event.hash {
                    return Ok(broken("its content does not match its hash"));
                }
                checked += 1;
                prev_hash = event.hash;
                expected_seq += 1;
            }
        }
    }

    /// A page of events matching `filter`, oldest first.
    #[instrument(name = "repo.audit.events", skip_all)]
    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, RepoError> {
        let rows = self
            .connection()
            .query_all(&events_query(filter, page)?)
            .await?;
        events_page(&rows, page)
    }

    /// A page of events for each of `filters` (the histories of a page of records), in one
    /// statement for up to 500 filters: a UNION ALL of the single-filter page queries.
    #[instrument(name = "repo.audit.events_each", skip_all)]
    pub async fn audit_events_each(
        &self,
        filters: &[AuditFilter],
        page: &PageRequest,
    ) -> Result<Vec<Page<AuditEvent>>, RepoError> {
        let queries = filters
            .iter()
            .map(|filter| events_query(filter, page))
            .collect::<Result<Vec<_>, _>>()?;
        let rows = crate::pagination::all_rows_of_each(
            self.connection(),
            queries,
            &[("seq", sea_orm::Order::Asc)],
        )
        .await?;
        rows.iter().map(|rows| events_page(rows, page)).collect()
    }
}

/// The order of the audit trail's pages, as their cursors name it.
fn events_order() -> String {
    order_key("audit.seq", crate::SortDirection::Asc)
}

/// One page of the events matching `filter`: the page's rows and one more, oldest first.
fn events_query(
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<sea_orm::sea_query::SelectStatement, RepoError> {
    let key = events_order();
    let mut query = Query::select();
    query
        .exprs(COLUMNS.split(", ").map(|c| Expr::cust(c.to_owned())))
        .from(sea_orm::sea_query::Alias::new("audit_event"));
    let col = |c: &str| Expr::col(sea_orm::sea_query::Alias::new(c));
    use sea_orm::sea_query::ExprTrait;
    if let Some(id) = filter.entity_id {
        query.and_where(col("entity_id").eq(id.to_string()));
    }
    if let Some(t) = &filter.entity_type {
        query.and_where(col("entity_type").eq(t.clone()));
    }
    if let Some(s) = &filter.subject {
        query.and_where(col("subject").eq(s.clone()));
    }
    if let Some(a) = filter.actor_id {
        query.and_where(col("actor_id").eq(a.to_string()));
    }
    if let Some(o) = &filter.operation {
        query.and_where(col("operation").eq(o.clone()));
    }
    if let Some(since) = filter.since {
        query.and_where(col("occurred_at").gte(since.to_rfc3339_opts(SecondsFormat::Micros, true)));
    }
    if let Some(until) = filter.until {
        query.and_where(col("occurred_at").lt(until.to_rfc3339_opts(SecondsFormat::Micros, true)));
    }
    if let Some(cursor) = &page.after {
        let SortValue::Text(seq) = &cursor.sort else {
            return Err(domain::ValidationError::new(
                "after",
                "is not a cursor returned by this list",
            )
            .into());
        };
        let seq: i64 = seq.parse().map_err(|_| {
            domain::ValidationError::new("after", "is not a cursor returned by this list")
        })?;
        if cursor.order != key {
            return Err(domain::ValidationError::new(
                "after",
                "is not a cursor returned by this list",
            )
            .into());
        }
        query.and_where(col("seq").gt(seq));
    }
    query
        .order_by(sea_orm::sea_query::Alias::new("seq"), sea_orm::Order::Asc)
        .limit(page.first + 1);
    Ok(query)
}

fn events_page(
    rows: &[sea_orm::QueryResult],
    page: &PageRequest,
) -> Result<Page<AuditEvent>, RepoError> {
    let key = events_order();
    let events = rows.iter().map(read_event).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(events, page.first, |e| Cursor {
        order: key.clone(),
        sort: SortValue::Text(e.seq.to_string()),
        id: uuid::Uuid::nil(),
    }))
}
