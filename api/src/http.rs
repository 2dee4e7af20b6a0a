//! HTTP: the axum router (`POST /graphql` behind bearer-token authentication, GraphiQL at
//! `GET /graphql`, `GET /healthz` without a token), the request-id and tracing layers, and
//! serving with graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, Request};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use persistence::Database;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::auth::{Authenticated, Verifier, principal::AuthState};
use crate::graphql::{RegistrySchema, loaders::loaders, schema_builder};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct AppState {
    schema: RegistrySchema,
    db: Database,
    verifier: Arc<Verifier>,
    batch_window: Duration,
}

impl AppState {
    pub(crate) fn db(&self) -> &Database {
        &self.db
    }
}

impl AuthState for AppState {
    fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }

    fn database(&self) -> &Database {
        &self.db
    }
}

/// The schema with its database, as the server runs it.
pub fn schema(db: Database) -> RegistrySchema {
    schema_builder().data(db).finish()
}

/// The service's routes and layers.
pub fn router(db: Database, verifier: Arc<Verifier>, batch_window: Duration) -> Router {
    let state = AppState {
        schema: schema(db.clone()),
        db,
        verifier,
        batch_window,
    };
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(healthz))
        .route(
            "/export/allocations.csv",
            get(crate::export::allocations_csv),
        )
        .route(
            "/export/allocations.jsonl",
            get(crate::export::allocations_jsonl),
        )
        .route(
            "/export/partnerships.jsonl",
            get(crate::export::partnerships_jsonl),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A bug that panics answers 500 to its own request; the process serves on.
        .layer(CatchPanicLayer::new())
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                    request_id = %request_id,
                    operation = tracing::field::Empty,
                )
            }),
        )
        // Set first (outermost), so the trace span and the response both see the id.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Authentication runs first (the `Authenticated` extractor): a request without a valid
/// token is refused with 401 before its body is even read.
async fn graphql(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    request_id: Option<axum::Extension<RequestId>>,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let request = request.into_inner();
    if let Some(name) = &request.operation_name {
        tracing::Span::current().record("operation", name.as_str());
    }
    let request_id = request_id
        .and_then(|id| id.0.header_value().to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    let request = request
        .data(loaders(state.db.clone(), state.batch_window))
        .data(principal)
        .data(RequestIdValue(request_id));
    state.schema.execute(request).await.into()
}

/// The request id, for resolvers that want to quote it.
#[derive(Debug, Clone)]
pub struct RequestIdValue(pub String);

async fn graphiql() -> impl IntoResponse {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
}

/// Liveness: the process answers. Needs no token and touches no database.
async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish for at most 10 seconds.
pub async fn serve(
    listener: tokio::net::TcpListener,
    db: Database,
    verifier: Arc<Verifier>,
    batch_window: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router(db, verifier, batch_window)).with_graceful_shutdown(
        async move {
            shutdown.await;
            let _ = stopped_tx.send(());
        },
    );
    tokio::select! {
        result = server => result,
        () = async {
            let _ = stopped_rx.await;
            tokio::time::sleep(Duration::from_secs(10)).await;
        } => {
            tracing::warn!("in-flight requests did not finish within 10 s; stopping anyway");
            Ok(())
        }
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
