//! The connection pool, migrations, and write transactions.
//!
//! SQLite allows one writer at a time and answers "database is locked" to a second one that
//! upgrades a read transaction; so on SQLite every write transaction first takes a process-wide
//! writer lock, and the database runs in WAL mode so that readers never wait for the writer.
//! PostgreSQL needs no such lock: rows are locked where a rule spans several rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseTransaction, DbErr, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::audit::{AuditContext, IdempotencyKey, PendingChange, snapshot};
use crate::migrations::Migrator;

/// Which database a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool of connections to the registry's database.
#[derive(Clone)]
pub struct Database {
    conn: DatabaseConnection,
    backend: Backend,
    /// Serialises writers on SQLite; `None` on PostgreSQL.
    writer: Option<Arc<Mutex<()>>>,
    /// Who the writes made through this handle are recorded for.
    audit: Arc<AuditContext>,
    /// The client's idempotency key for the create made through this handle.
    idempotency: Option<Arc<IdempotencyKey>>,
    /// Statements executed through this pool, for tests that count them or read their plans.
    statements: Arc<StatementLog>,
}

/// What a pool has executed: how many statements, and while recording is on (tests that read
/// query plans) the statements themselves. Off, it costs one relaxed load a statement.
#[derive(Default)]
struct StatementLog {
    count: AtomicU64,
    recording: AtomicBool,
    recorded: std::sync::Mutex<Vec<Statement>>,
}

/// Connections of the pool: open (idle or in use), idle, and the most it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// How the pool behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a caller waits for a connection; short, so an outage fails fast.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Connects to `url` (`sqlite://registry.db?mode=rwc` or `postgres://...`).
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        Self::connect_with(url, PoolSettings::default()).await
    }

    /// Connects with these pool settings.
    pub async fn connect_with(url: &str, pool: PoolSettings) -> Result<Self, DbErr> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(DbErr::Custom(
                "the database URL must start with sqlite: or postgres:".into(),
            ));
        };
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .connect_timeout(pool.acquire_timeout)
            .acquire_timeout(pool.acquire_timeout)
            // sqlx pings a connection on every checkout by default: a round trip before each
            // statement (six for a nested page). A connection in use seconds ago is alive; one
            // idle for longer may have been dropped by a proxy or the server, and is pinged.
            .test_before_acquire_if_idle_for(Duration::from_secs(10))
            // Statements are traced by the repositories' own spans; sqlx's per-statement log
            // lines would repeat them at INFO.
            .sqlx_logging(false);
        match backend {
            Backend::Sqlite => {
                options
                    .max_connections(pool.max_connections.min(8))
                    .map_sqlx_sqlite_opts(|o| {
                        o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                            .busy_timeout(Duration::from_secs(10))
                            .foreign_keys(true)
                    });
            }
            Backend::Postgres => {
                options.max_connections(pool.max_connections);
            }
        }
        let mut conn = sea_orm::Database::connect(options).await?;
        let statements = Arc::new(StatementLog::default());
        let log = statements.clone();
        conn.set_metric_callback(move |info| {
            log.count.fetch_add(1, Ordering::Relaxed);
            if log.recording.load(Ordering::Relaxed)
                && let Ok(mut recorded) = log.recorded.lock()
            {
                recorded.push(info.statement.clone());
            }
        });
        Ok(Self {
            statements,
            conn,
            backend,
            writer: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            audit: Arc::new(AuditContext::system("direct")),
            idempotency: None,
        })
    }

    /// The connection pool's use right now, for metrics.
    pub fn pool_stats(&self) -> PoolStats {
        fn of<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> PoolStats {
            PoolStats {
                open: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                max: pool.options().get_max_connections(),
            }
        }
        match self.backend {
            Backend::Postgres => of(self.conn.get_postgres_connection_pool()),
            Backend::Sqlite => of(self.conn.get_sqlite_connection_pool()),
        }
    }

    /// Applies the migrations that have not run yet.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        let _guard = self.writer_guard().await;
        Migrator::up(&self.conn, None).await
    }

    /// Names of migrations that the code knows and the database has not applied.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, DbErr> {
        let pending = Migrator::get_pending_migrations(&self.conn).await?;
        Ok(pending.iter().map(|m| m.name().to_owned()).collect())
    }

    /// The same pool, recording its writes' audit events for `context`.
    #[must_use]
    pub fn with_audit(&self, context: AuditContext) -> Self {
        Self {
            audit: Arc::new(context),
            ..self.clone()
        }
    }

    /// The same pool, remembering `key` with the create made through it.
    #[must_use]
    pub fn with_idempotency(&self, key: IdempotencyKey) -> Self {
        Self {
            idempotency: Some(Arc::new(key)),
            ..self.clone()
        }
    }

    /// How many statements this pool has executed so far.
    pub fn statement_count(&self) -> u64 {
        self.statements.count.load(Ordering::Relaxed)
    }

    /// Starts keeping the statements this pool executes, with their values, until
    /// [`Self::recorded_statements`] takes them: for tests that read their query plans. It
    /// records every statement of the pool, so record while nothing else runs on it.
    pub fn record_statements(&self) {
        self.statements.recording.store(true, Ordering::Relaxed);
    }

    /// The statements executed since [`Self::record_statements`], which stops recording.
    pub fn recorded_statements(&self) -> Vec<Statement> {
        self.statements.recording.store(false, Ordering::Relaxed);
        self.statements
            .recorded
            .lock()
            .map(|mut recorded| std::mem::take(&mut *recorded))
            .unwrap_or_default()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The raw connection, for tests and tools that inspect tables directly.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        self.conn.ping().await.is_ok()
    }

    pub async fn close(self) -> Result<(), DbErr> {
        self.conn.close().await
    }

    async fn writer_guard(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        }
    }

    /// Begins a write transaction (after taking the writer lock on SQLite).
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, DbErr> {
        let guard = self.writer_guard().await;
        let txn = match self.backend {
            // IMMEDIATE: the write lock is taken at BEGIN, where SQLite waits for it (the busy
            // timeout). A transaction dropped on an error releases the writer lock at once but
            // is rolled back a moment later on its connection's worker; a DEFERRED transaction
            // that had read before its first write then got "database is locked" at once,
            // since SQLite does not wait to upgrade a read transaction. Found by ten
            // concurrent retries of one idempotent create (about 1 in 100 rounds).
            Backend::Sqlite => {
                self.conn
                    .begin_with_options(sea_orm::TransactionOptions {
                        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                        ..Default::default()
                    })
                    .await?
            }
            Backend::Postgres => self.conn.begin().await?,
        };
        Ok(WriteTx {
            txn,
            _guard: guard,
            backend: self.backend,
            audit: self.audit.clone(),
            idempotency: self.idempotency.clone(),
            pending: std::sync::Mutex::new(Vec::new()),
        })
    }
}

/// A write transaction; dropped without `commit` it rolls back.
pub(crate) struct WriteTx {
    pub(crate) txn: DatabaseTransaction,
    _guard: Option<OwnedMutexGuard<()>>,
    pub(crate) backend: Backend,
    audit: Arc<AuditContext>,
    idempotency: Option<Arc<IdempotencyKey>>,
    pending: std::sync::Mutex<Vec<PendingChange>>,
}

impl WriteTx {
    /// Notes a change for the audit trail; `before` and `after` are the rows (`None` for a
    /// row that did not exist, or no longer does).
    pub(crate) fn record<B: serde::Serialize, A: serde::Serialize>(
        &self,
        entity_type: &'static str,
        entity_id: uuid::Uuid,
        before: Option<&B>,
        after: Option<&A>,
    ) {
        let change = PendingChange {
            entity_type,
            entity_id,
            before: before.and_then(snapshot),
            after: after.and_then(snapshot),
        };
        match self.pending.lock() {
            Ok(mut pending) => pending.push(change),
            Err(poisoned) => poisoned.into_inner().push(change),
        }
    }

    /// Appends the recorded changes to the audit chain and commits, as one transaction.
    pub(crate) async fn commit(self) -> Result<(), crate::RepoError> {
        let pending = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        if let Some(key) = &self.idempotency {
            crate::audit::remember_key(&self, key, &pending).await?;
        }
        crate::audit::append(&self, &self.audit, &pending).await?;
        self.txn.commit().await?;
        Ok(())
    }
}
