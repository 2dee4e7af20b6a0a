//! Hand-written schema migrations, run at start-up and by `registry migrate`.
//!
//! Each migration is one SQL file written once for both databases (one, of indexes SQLite has
//! no kind of, runs on PostgreSQL alone); the few types that differ
//! (UUIDs, timestamps, booleans) are placeholders that [`render`] fills for the backend, so the
//! constraint and index names that error mapping relies on are the same on both.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(SqlMigration {
                name: "m20261125_000001_core",
                sql: include_str!("m20261125_000001_core.sql"),
                postgres_only: false,
            }),
            Box::new(SqlMigration {
                name: "m20261125_000002_access",
                sql: include_str!("m20261125_000002_access.sql"),
                postgres_only: false,
            }),
            Box::new(SqlMigration {
                name: "m20261125_000003_ledger",
                sql: include_str!("m20261125_000003_ledger.sql"),
                postgres_only: false,
            }),
            Box::new(SqlMigration {
                name: "m20261125_000004_audit",
                sql: include_str!("m20261125_000004_audit.sql"),
                postgres_only: false,
            }),
            Box::new(SqlMigration {
                name: "m20261125_000005_versions",
                sql: include_str!("m20261125_000005_versions.sql"),
                postgres_only: false,
            }),
            Box::new(SqlMigration {
                name: "m20261125_000006_idempotency",
                sql: include_str!("m20261125_000006_idempotency.sql"),
                postgres_only: false,
            }),
            Box::new(SqlMigration {
                name: "m20261125_000007_archive",
                sql: include_str!("m20261125_000007_archive.sql"),
                postgres_only: false,
            }),
            Box::new(SqlMigration {
                name: "m20261126_000008_live_actors",
                sql: include_str!("m20261126_000008_live_actors.sql"),
                postgres_only: false,
            }),
            Box::new(SqlMigration {
                name: "m20261126_000009_filter_indexes",
                sql: include_str!("m20261126_000009_filter_indexes.sql"),
                postgres_only: false,
            }),
            Box::new(SqlMigration {
                name: "m20261126_000010_trigram",
                sql: include_str!("m20261126_000010_trigram.sql"),
                postgres_only: true,
            }),
        ]
    }
}

struct SqlMigration {
    name: &'static str,
    sql: &'static str,
    /// Indexes SQLite has no kind of (trigram GIN): recorded as applied there, running nothing.
    postgres_only: bool,
}

impl MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SqlMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if self.postgres_only && db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let sql = render(self.sql, db.get_database_backend());
        for statement in statements(&sql) {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The registry never drops history; a rollback is a restore from backup.
        Err(DbErr::Migration(format!(
            "{} cannot be reverted: restore a backup instead",
            self.name
        )))
    }
}

/// Fills the backend-specific placeholders of a migration's SQL.
pub fn render(sql: &str, backend: DbBackend) -> String {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
    let (uuid, timestamp, bool_type) = match backend {
        DbBackend::Postgres => ("UUID", "TIMESTAMPTZ", "BOOLEAN"),
        _ => ("BLOB", "TEXT", "BOOLEAN"),
    };
    let mut out = sql
        .replace("{uuid}", uuid)
        .replace("{timestamp}", timestamp)
        .replace("{bool}", bool_type)
        .replace("{true}", "TRUE")
        .replace("{false}", "FALSE")
        .replace("{now}", &format!("'{now}'"));
    // `{id:<uuid>}`: a fixed id literal, a UUID on PostgreSQL, 16 bytes on SQLite (as sqlx
    // stores `Uuid` there).
    while let Some(start) = out.find("{id:") {
        let Some(len) = out[start..].find('}') else {
            break;
        };
        let literal = &out[start + 4..start + len];
        let rendered = match backend {
            DbBackend::Postgres => format!("'{literal}'"),
            _ => format!("X'{}'", literal.replace('-', "")),
        };
        out.replace_range(start..=start + len, &rendered);
    }
    out
}

/// Splits a script into statements at `;` ending a line (never inside string literals here).
fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(";\n")
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
        })
        .zip(sql.split(";\n"))
        .filter(|(code, _)| code.iter().any(|l| !l.trim().is_empty()))
        .map(|(_, raw)| raw.trim().trim_end_matches(';'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_ids_per_backend() {
        let sql = "INSERT INTO t VALUES ({id:0195a2b0-0000-7000-8000-000000000001}, {true});\n";
        assert_eq!(
            render(sql, DbBackend::Postgres),
            "INSERT INTO t VALUES ('0195a2b0-0000-7000-8000-000000000001', TRUE);\n"
        );
        assert_eq!(
            render(sql, DbBackend::Sqlite),
            "INSERT INTO t VALUES (X'0195a2b0000070008000000000000001', TRUE);\n"
        );
    }

    #[test]
    fn splits_statements_and_skips_comment_only_chunks() {
        let sql = "-- a comment\nCREATE TABLE a (x INT);\n-- only a comment;\nINSERT INTO a VALUES ('x;y');\n";
        let parts: Vec<_> = statements(sql).collect();
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts[1].ends_with("('x;y')"));
    }
}
