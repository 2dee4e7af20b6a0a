//! The migrations on PostgreSQL under a role that may create tables but not extensions (a
//! locked-down managed database): the trigram indexes are skipped with a warning instead of
//! keeping the service from starting, and the substring filters still answer, by walking.

use persistence::repo::ActorFilter;
use persistence::test_db::TestDatabase;
use persistence::{Database, PageRequest};
use sea_orm::{ConnectionTrait, Statement};

/// `url` with `user` and no password (the test server trusts local connections).
fn as_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}@{host}")
}

async fn strings(db: &Database, sql: &str) -> Vec<String> {
    db.connection()
        .query_all_raw(Statement::from_string(
            db.connection().get_database_backend(),
            sql,
        ))
        .await
        .expect("query")
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("text"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_right_to_create_extensions_the_trigram_indexes_are_skipped() {
    let Some(test_db) = TestDatabase::postgres().await else {
        return;
    };
    let admin = Database::connect(test_db.url()).await.expect("admin");
    let role = format!("registry_test_limited_{}", uuid::Uuid::now_v7().simple());
    let database = test_db.url().rsplit_once('/').expect("url").1.to_owned();
    // Tables in the public schema, nothing on the database itself: CREATE EXTENSION needs the
    // database's CREATE privilege, even for a trusted extension.
    for sql in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("REVOKE CREATE ON DATABASE {database} FROM PUBLIC"),
        format!("GRANT CREATE, USAGE ON SCHEMA public TO {role}"),
    ] {
        admin
            .connection()
            .execute_unprepared(&sql)
            .await
            .expect("set up the role");
    }
    let url = as_user(test_db.url(), &role);

    let limited = Database::connect(&url).await.expect("connect as the role");
    limited
        .migrate()
        .await
        .expect("the migrations finish without pg_trgm");
    let trigram = "SELECT indexname::text FROM pg_indexes WHERE indexdef LIKE '%gin_trgm_ops%'";
    assert_eq!(strings(&limited, trigram).await, Vec::<String>::new());
    assert!(
        strings(&limited, "SELECT extname::text FROM pg_extension")
            .await
            .iter()
            .all(|e| e != "pg_trgm")
    );
    limited.seed_synthetic(0.01).await.expect("seed");
    let found = limited
        .actors()
        .list(
            &ActorFilter {
                name_contains: Some("NETWORK 0000".into()),
                ..Default::default()
            },
            &PageRequest::first(20),
        )
        .await
        .expect("list");
    let names: Vec<&str> = found
        .items
        .iter()
        .map(|(_, actor)| actor.profile.parts().name.as_str())
        .collect();
    assert!(
        !names.is_empty(),
        "the seed has networks among its 100 actors"
    );
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("Synthetic network 0000")),
        "{names:?}"
    );
    limited.close().await.expect("close");

    // The same database migrated by a role that may: the indexes are there.
    let full = TestDatabase::postgres().await.expect("a second database");
    let db = full.connect_migrated().await;
    let mut indexes = strings(&db, trigram).await;
    indexes.sort();
    assert_eq!(indexes, ["ix_actor_name_trgm", "ix_partnership_title_trgm"]);
    db.close().await.expect("close");

    admin
        .connection()
        .execute_unprepared(&format!("DROP OWNED BY {role}"))
        .await
        .expect("drop the role's objects");
    admin.close().await.expect("close");
    drop(test_db);
    let server_url = std::env::var("REGISTRY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| persistence::test_db::DEFAULT_POSTGRES_URL.into());
    let server = Database::connect(&server_url).await.expect("server");
    server
        .connection()
        .execute_unprepared(&format!("DROP ROLE IF EXISTS {role}"))
        .await
        .expect("drop the role");
}
