//! Throw-away databases for tests and benchmarks: a new SQLite file, or a new PostgreSQL
//! database on the server named by `REGISTRY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), dropped again when the value is dropped.
//!
//! When PostgreSQL cannot be reached, [`TestDatabase::postgres`] returns `None` so a developer
//! without it can still run the SQLite half; with `CI=true` it panics instead, so CI never
//! passes by skipping.

use std::path::PathBuf;

use sea_orm::ConnectionTrait;

use crate::Database;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Prefix of every database these helpers create, so leftovers of a killed run can be found.
pub const DATABASE_PREFIX: &str = "registry_test_";

#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// Another value owns the database; this one only points at it.
    None,
    Directory(PathBuf),
    PostgresDatabase {
        admin_url: String,
        name: String,
    },
}

impl TestDatabase {
    /// A new, empty SQLite database file in its own temporary directory.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("registry-test-{}", uuid::Uuid::now_v7()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create a test directory at {}: {e}", dir.display());
        }
        let url = format!("sqlite://{}?mode=rwc", dir.join("registry.db").display());
        Self {
            url,
            cleanup: Cleanup::Directory(dir),
        }
    }

    /// A new, empty PostgreSQL database, or `None` when the server cannot be reached (and
    /// `CI` is not `true`).
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("REGISTRY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
        let admin = match sea_orm::Database::connect(admin_url.as_str()).await {
            Ok(admin) => admin,
            Err(e) => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("CI=true and PostgreSQL at {admin_url} cannot be reached: {e}");
                }
                eprintln!("skipping the PostgreSQL half: {admin_url} cannot be reached: {e}");
                return None;
            }
        };
        let name = format!("{DATABASE_PREFIX}{}", uuid::Uuid::now_v7().simple());
        if let Err(e) = admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
        {
            panic!("cannot create test database {name}: {e}");
        }
        let _ = admin.close().await;
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("REGISTRY_TEST_POSTGRES_URL must end with /<database>"),
        };
        Some(Self {
            url,
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        })
    }

    /// A second handle on a database another `TestDatabase` owns (and will drop), for a
    /// second server over the same data.
    pub fn reuse(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            cleanup: Cleanup::None,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connects and applies the migrations.
    pub async fn connect_migrated(&self) -> Database {
        let db = match Database::connect(&self.url).await {
            Ok(db) => db,
            Err(e) => panic!("cannot connect to test database {}: {e}", self.url),
        };
        if let Err(e) = db.migrate().await {
            panic!("migrations failed on {}: {e}", self.url);
        }
        db
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::None => {}
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime, which cannot be blocked on: use a
                // runtime of our own on a thread of our own.
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    runtime.block_on(async {
                        let admin = sea_orm::Database::connect(admin_url.as_str()).await.ok()?;
                        admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await
                            .ok()?;
                        admin.close().await.ok()
                    })
                })
                .join();
                if !matches!(dropped, Ok(Some(()))) {
                    eprintln!("could not drop a test database; it starts with {DATABASE_PREFIX}");
                }
            }
        }
    }
}

/// Runs each named async test function (taking `&Database`) once on a fresh SQLite file and
/// once on a fresh PostgreSQL database (skipped, with a notice, where PostgreSQL is not
/// reachable outside CI).
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let test_db = $crate::test_db::TestDatabase::sqlite();
                let db = test_db.connect_migrated().await;
                super::$name(&db).await;
            })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(test_db) = $crate::test_db::TestDatabase::postgres().await else {
                    return;
                };
                let db = test_db.connect_migrated().await;
                super::$name(&db).await;
            })+
        }
    };
}
