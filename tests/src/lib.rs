//! End-to-end test support: `TestApp::spawn` starts the real router on 127.0.0.1:0 over a
//! fresh database (a new SQLite file, or a new PostgreSQL database) and speaks HTTP to it.

use std::net::SocketAddr;
use std::sync::Arc;

use api::auth::{AuthConfig, MintRequest, Secret, Verifier};
pub use api::config::Settings;

use persistence::Database;
use persistence::test_db::TestDatabase;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The HS256 secret of every test server.
pub const TEST_SECRET: &str = "e2e-test-secret-that-is-long-enough-0123456789";
pub const ISSUER: &str = "partnership-registry";
pub const AUDIENCE: &str = "partnership-registry";

/// The verifier configuration of the test servers: the test secret, and optionally a key file.
pub fn auth_config(keys_file: Option<std::path::PathBuf>) -> AuthConfig {
    AuthConfig {
        secret: Some(Secret::new(TEST_SECRET.to_owned())),
        keys_file,
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        leeway_seconds: 5,
    }
}

/// A valid HS256 token for `role` (and the actor's API id).
pub fn token(role: &str, actor_id: Option<&str>) -> String {
    let request = MintRequest {
        subject: format!("{role}-tester"),
        role: role.to_owned(),
        actor_id: actor_id.map(str::to_owned),
        ttl_seconds: 3600,
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
    };
    match api::auth::mint(TEST_SECRET, &request) {
        Ok(token) => token,
        Err(e) => panic!("cannot mint a test token: {e}"),
    }
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server and the database behind it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// A direct connection, for counting rows behind the API's back.
    pub db: Database,
    /// The token `graphql` and `ok` send: an administrator's.
    pub admin_token: String,
    test_db: Option<TestDatabase>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// The settings of test servers: the production defaults (so the statement-counting tests see
/// the batching of the service as it runs), with GraphiQL on.
pub fn test_settings() -> Settings {
    Settings {
        graphiql: true,
        ..Settings::default()
    }
}

impl TestApp {
    /// A server on a fresh database; `None` when PostgreSQL is wanted but not reachable
    /// outside CI (see `persistence::test_db`).
    pub async fn spawn(backend: Backend) -> Option<Self> {
        let test_db = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await?,
        };
        Some(Self::spawn_on(test_db).await)
    }

    /// A server on an existing test database (migrations run again, as at a real start).
    pub async fn spawn_on(test_db: TestDatabase) -> Self {
        Self::spawn_with(test_db, auth_config(None)).await
    }

    /// A server with its own token configuration.
    pub async fn spawn_with(test_db: TestDatabase, auth: AuthConfig) -> Self {
        Self::spawn_configured(test_db, auth, test_settings()).await
    }

    /// A server with its own settings (limits, rate limits, allow-list...).
    pub async fn spawn_with_settings(backend: Backend, settings: Settings) -> Option<Self> {
        let test_db = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await?,
        };
        Some(Self::spawn_configured(test_db, auth_config(None), settings).await)
    }

    /// A server with its own token configuration and settings.
    pub async fn spawn_configured(
        test_db: TestDatabase,
        auth: AuthConfig,
        settings: Settings,
    ) -> Self {
        let verifier = match Verifier::new(&auth) {
            Ok(v) => Arc::new(v),
            Err(e) => panic!("bad test auth configuration: {e}"),
        };
        let db = test_db.connect_migrated().await;
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("cannot bind 127.0.0.1:0: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("no local address: {e}"),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(api::http::serve(
            listener,
            db.clone(),
            verifier,
            settings,
            async move {
                let _ = stopped.await;
            },
        ));
        let client = match reqwest::Client::builder().build() {
            Ok(c) => c,
            Err(e) => panic!("no HTTP client: {e}"),
        };
        Self {
            addr,
            client,
            db,
            admin_token: token("admin", None),
            test_db: Some(test_db),
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// The URL of the database under this server.
    pub fn db_url(&self) -> String {
        match &self.test_db {
            Some(db) => db.url().to_owned(),
            None => panic!("the test database was already taken"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the server gracefully and closes its pool; returns the database for a restart.
    pub async fn stop(mut self) -> TestDatabase {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            match server.await {
                Ok(Ok(())) => {}
                other => panic!("the server did not stop cleanly: {other:?}"),
            }
        }
        let _ = self.db.clone().close().await;
        match self.test_db.take() {
            Some(test_db) => test_db,
            None => panic!("the test database was already taken"),
        }
    }

    /// POSTs a GraphQL document as an administrator; returns the whole JSON response.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(&self.admin_token, query, variables).await
    }

    /// As [`Self::ok`], with `token`.
    pub async fn ok_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self.graphql_as(token, query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}"
        );
        response["data"].clone()
    }

    /// POSTs a GraphQL document with `token`; returns the whole JSON response.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => panic!("POST /graphql failed: {e}"),
        };
        assert_eq!(response.status(), 200, "GraphQL over HTTP answers 200");
        match response.json().await {
            Ok(v) => v,
            Err(e) => panic!("the response is not JSON: {e}"),
        }
    }

    /// As [`Self::graphql`], and fails the test when the response has errors.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let response = self.graphql(query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}"
        );
        response["data"].clone()
    }

    /// Rows in a table, counted directly in the database.
    pub async fn count_rows(&self, table: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let backend = self.db.connection().get_database_backend();
        let statement =
            sea_orm::Statement::from_string(backend, format!("SELECT COUNT(*) AS n FROM {table}"));
        let row = match self.db.connection().query_one_raw(statement).await {
            Ok(Some(row)) => row,
            other => panic!("cannot count {table}: {other:?}"),
        };
        match row.try_get::<i64>("", "n") {
            Ok(n) => n,
            Err(e) => panic!("cannot read the count of {table}: {e}"),
        }
    }

    /// Row counts of every registry table, to show that a refused mutation changed nothing.
    pub async fn all_counts(&self) -> Vec<(String, i64)> {
        let mut counts = Vec::new();
        for table in [
            "actor",
            "partnership",
            "partnership_theme",
            "membership",
            "allocation",
            "funding_stream",
            "ceiling_rule",
            "programme",
            "allocation_budget",
            "payment",
            "stream_manager",
            // A refused mutation writes no audit event either.
            "audit_event",
        ] {
            counts.push((table.to_owned(), self.count_rows(table).await));
        }
        counts
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The `extensions.code` of the first error of a response.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no code>")
}

/// The `extensions.field` of the first error of a response.
pub fn error_field(response: &Value) -> &str {
    response["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("<no field>")
}

/// Runs each named async test function (taking `&TestApp`) once on SQLite and once on
/// PostgreSQL, each on a fresh database.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let app = $crate::TestApp::spawn($crate::Backend::Sqlite).await.expect("sqlite");
                super::$name(&app).await;
            })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(app) = $crate::TestApp::spawn($crate::Backend::Postgres).await else {
                    return;
                };
                super::$name(&app).await;
            })+
        }
    };
}
