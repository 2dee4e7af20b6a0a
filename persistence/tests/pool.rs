//! The pool against a PostgreSQL server that drops its connections: a pooled connection
//! terminated while idle costs at most one failed statement, reported as the database being
//! unavailable (never as an internal error), and the next statement runs on a new connection.

use persistence::test_db::TestDatabase;
use persistence::{Database, PoolSettings};
use sea_orm::{ConnectionTrait, Statement};

async fn backend_pid(db: &Database) -> i32 {
    let row = db
        .connection()
        .query_one_raw(Statement::from_string(
            db.connection().get_database_backend(),
            "SELECT pg_backend_pid() AS pid",
        ))
        .await
        .expect("pid")
        .expect("a row");
    row.try_get("", "pid").expect("pid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_terminated_while_idle_fails_once_as_unavailable_then_the_pool_recovers() {
    let Some(test_db) = TestDatabase::postgres().await else {
        return;
    };
    test_db
        .connect_migrated()
        .await
        .close()
        .await
        .expect("close");
    let pool = PoolSettings {
        max_connections: 1,
        ..PoolSettings::default()
    };
    let db = Database::connect_with(test_db.url(), pool)
        .await
        .expect("connect");
    let first = backend_pid(&db).await;
    // The pool takes a released connection back in a task of its own (sqlx checks it on the
    // way): wait until it is idle, or on a busy machine that check could meet the terminated
    // backend below and the pool would open a new connection before the test looks.
    for _ in 0..500 {
        if db.pool_stats().idle == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        db.pool_stats().idle,
        1,
        "the connection is back in the pool"
    );

    // What a restart or a failover does to an idle connection: the server ends it.
    let admin = Database::connect(test_db.url()).await.expect("admin");
    let terminated: bool = admin
        .connection()
        .query_one_raw(Statement::from_string(
            admin.connection().get_database_backend(),
            // Waits (up to 5 s) until the backend is gone.
            format!("SELECT pg_terminate_backend({first}, 5000) AS done"),
        ))
        .await
        .expect("terminate")
        .expect("a row")
        .try_get("", "done")
        .expect("done");
    assert!(terminated);

    // The connection was in use a moment ago, so the pool hands it out without a ping: the
    // statement fails, as "unavailable" (HTTP 503, retryable), not as an internal error.
    let mut failures = 0;
    let second = loop {
        match db.actors().count(&Default::default()).await {
            Ok(_) => break backend_pid(&db).await,
            Err(e) => {
                assert!(e.is_unavailable(), "reported as unavailable: {e:?}");
                failures += 1;
                assert!(
                    failures <= 1,
                    "the broken connection is not handed out again"
                );
            }
        }
    };
    assert_eq!(
        failures, 1,
        "the idle connection was handed out unpinged, and failed"
    );
    assert_ne!(first, second, "a new connection");
}
