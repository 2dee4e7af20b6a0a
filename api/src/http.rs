//! HTTP: the axum router and the GraphQL-over-HTTP endpoint. `POST /graphql` (JSON only) and
//! `GET /graphql` (queries only) behind bearer-token authentication and a rate limiter, with
//! content negotiation, request limits, automatic persisted queries and an optional allow-list;
//! `GET /healthz` (alive), `GET /readyz` (database reachable, migrations current) and
//! `GET /metrics` (Prometheus) without a token; CORS for listed origins; serving with graceful
//! shutdown.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::http::GraphiQLSource;
use async_graphql::{BatchRequest, BatchResponse, Request as GqlRequest};
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use persistence::Database;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::auth::{Authenticated, Verifier, principal::AuthState};
use crate::config::Settings;
use crate::error::codes;
use crate::graphql::error_codes::stamp_response;
use crate::graphql::limits::RequestLimits;
use crate::graphql::{RegistrySchema, loaders::loaders, schema_builder};
use crate::metrics::Metrics;
use crate::ratelimit::Limiter;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
/// Persisted documents kept for APQ; past this the store starts again (clients re-send).
const MAX_PERSISTED: usize = 10_000;

#[derive(Clone)]
pub struct AppState {
    schema: RegistrySchema,
    limits: Arc<RequestLimits>,
    db: Database,
    verifier: Arc<Verifier>,
    settings: Arc<Settings>,
    limiter: Arc<Limiter>,
    metrics: Arc<Metrics>,
    persisted: Arc<Mutex<HashMap<String, Arc<str>>>>,
    allow_list: Option<Arc<AllowList>>,
    /// Turns to execute a large operation (`Limits::concurrent_executions`).
    executions: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub(crate) fn db(&self) -> &Database {
        &self.db
    }

    /// The 429 for a principal over its rate limit.
    pub(crate) fn rate_refusal(&self, principal: &domain::access::Principal) -> Option<Response> {
        self.limiter
            .check_subject(principal.role, &principal.subject)
            .err()
            .map(|wait| self.too_many(wait))
    }

    fn too_many(&self, wait: Duration) -> Response {
        self.metrics.rate_limited();
        self.metrics.error(codes::RATE_LIMITED);
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut response = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            codes::RATE_LIMITED,
            format!("too many requests: retry in {seconds} s"),
        );
        if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
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

/// The registered operations of allow-list mode, by the SHA-256 of their text.
#[derive(Debug)]
pub struct AllowList {
    by_hash: HashMap<String, Arc<str>>,
}

impl AllowList {
    /// Reads a JSON array of documents, or an object whose values are documents (the
    /// manifest formats of persisted-query tools).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| format!("is not JSON: {e}"))?;
        let documents: Vec<&Value> = match &value {
            Value::Array(items) => items.iter().collect(),
            Value::Object(map) => map.values().collect(),
            _ => return Err("must be a JSON array or object of documents".into()),
        };
        let mut by_hash = HashMap::new();
        for document in documents {
            let Value::String(text) = document else {
                return Err("every entry must be a GraphQL document (a string)".into());
            };
            async_graphql::parser::parse_query(text)
                .map_err(|e| format!("an entry is not a GraphQL document: {e}"))?;
            by_hash.insert(sha256_hex(text), Arc::from(text.as_str()));
        }
        Ok(Self { by_hash })
    }

    pub fn hashes(&self) -> HashSet<String> {
        self.by_hash.keys().cloned().collect()
    }
}

pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The schema with its database and the settings' limits, as the server runs it. It has no
/// extensions on purpose (see `graphql::error_codes`; `graphql::in_place` relies on it): the
/// handler checks `RequestLimits` and stamps error codes around `execute`.
pub fn schema(db: Database, settings: &Settings) -> RegistrySchema {
    let limits = &settings.limits;
    // From the pool as opened (SQLite's is capped below the setting).
    let heavy = crate::graphql::HeavyQueries::for_pool(db.pool_stats().max);
    let mut builder = schema_builder()
        .data(db)
        .data(heavy)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_directives(limits.max_directives);
    if !settings.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The limits the handler checks on each document.
fn request_limits(settings: &Settings, allow_list: Option<&AllowList>) -> RequestLimits {
    RequestLimits {
        max_aliases: settings.limits.max_aliases,
        max_query_bytes: settings.limits.max_query_bytes,
        allowed: allow_list.map(|a| Arc::new(a.hashes())),
        introspection: settings.introspection,
        documents: crate::graphql::documents::Documents::default(),
    }
}

/// The service's routes and layers.
pub fn router(db: Database, verifier: Arc<Verifier>, settings: Settings) -> Router {
    let allow_list = settings.allow_list.as_deref().and_then(|path| {
        // `Settings::validate` loaded it once already; a file changed since is reported.
        AllowList::load(path)
            .map_err(|e| tracing::error!(error = %e, "allow list: every operation is refused"))
            .ok()
            .or_else(|| {
                Some(AllowList {
                    by_hash: HashMap::new(),
                })
            })
    });
    let state = AppState {
        schema: schema(db.clone(), &settings),
        limits: Arc::new(request_limits(&settings, allow_list.as_ref())),
        db,
        verifier,
        limiter: Arc::new(Limiter::new(&settings.rate_limits)),
        metrics: Arc::new(Metrics::new()),
        persisted: Arc::new(Mutex::new(HashMap::new())),
        allow_list: allow_list.map(Arc::new),
        executions: Arc::new(tokio::sync::Semaphore::new(
            settings.limits.concurrent_executions(),
        )),
        settings: Arc::new(settings),
    };
    let limiter = Arc::clone(&state.limiter);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.shrink();
        }
    });
    let cors = cors(&state.settings.cors_origins);
    let router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
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
        );
    let router = router.method_not_allowed_fallback(method_not_allowed);
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
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

/// CORS for the listed frontend origins only; without origins, no CORS headers at all (a
/// browser then refuses cross-origin calls).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                REQUEST_ID,
            ])
            .expose_headers([REQUEST_ID, header::RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

/// 405 in the GraphQL error shape (axum adds the `Allow` header).
async fn method_not_allowed() -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        codes::METHOD_NOT_ALLOWED,
        "this method is not supported here",
    )
}

/// A response in the GraphQL error shape, for requests refused before execution.
fn error_response(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "errors": [{ "message": message.into(), "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}

/// The media type of the answer, from `Accept`: `application/graphql-response+json` when the
/// client accepts it, `application/json` when it accepts that (or sends no `Accept`), `None`
/// (406) otherwise.
fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(JSON);
    };
    let mut json = false;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        if refused {
            continue;
        }
        match media.as_str() {
            GRAPHQL_RESPONSE => return Some(GRAPHQL_RESPONSE),
            JSON | "application/*" | "*/*" => json = true,
            _ => {}
        }
    }
    json.then_some(JSON)
}

/// Whether the body is declared JSON (`application/json`, any charset).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON))
}

/// What one request needs besides its body: who asks, how to answer, its id.
struct Caller {
    principal: domain::access::Principal,
    media: &'static str,
    request_id: String,
}

/// Authenticates the caller (401 or 503 when that fails) and applies the rate limits: per
/// subject for valid tokens, per client IP for the others (429 either way).
async fn admit(
    state: &AppState,
    parts: &mut axum::http::request::Parts,
) -> Result<Caller, Response> {
    let Some(media) = negotiate(&parts.headers) else {
        state.metrics.error(codes::NOT_ACCEPTABLE);
        return Err(error_response(
            StatusCode::NOT_ACCEPTABLE,
            codes::NOT_ACCEPTABLE,
            format!(
                "the response is {GRAPHQL_RESPONSE} or {JSON}; the Accept header allows neither"
            ),
        ));
    };
    let principal = match Authenticated::from_request_parts(parts, state).await {
        Ok(Authenticated(principal)) => principal,
        Err(rejection) => {
            if rejection.status() == StatusCode::UNAUTHORIZED {
                let ip = parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
                state
                    .limiter
                    .check_anonymous(ip)
                    .map_err(|wait| state.too_many(wait))?;
                state.metrics.error(codes::UNAUTHENTICATED);
            } else {
                state.metrics.error(codes::SERVICE_UNAVAILABLE);
            }
            return Err(rejection);
        }
    };
    if let Some(refused) = state.rate_refusal(&principal) {
        return Err(refused);
    }
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    Ok(Caller {
        principal,
        media,
        request_id,
    })
}

/// `POST /graphql`: a JSON body holding one request or a batch (an array).
async fn graphql_post(State(state): State<AppState>, request: Request<Body>) -> Response {
    let response = graphql_post_inner(&state, request).await;
    state.metrics.response(response.status().as_u16());
    response
}

async fn graphql_post_inner(state: &AppState, request: Request<Body>) -> Response {
    let (mut parts, body) = request.into_parts();
    // Never read a body that is not declared JSON: a form or `text/plain` is what a
    // cross-site page can send without a preflight.
    if !is_json(&parts.headers) {
        state.metrics.error(codes::UNSUPPORTED_MEDIA_TYPE);
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/json",
        );
    }
    let caller = match admit(state, &mut parts).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let limit = state.settings.limits.max_body_bytes;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            state.metrics.error(codes::BODY_LIMIT_EXCEEDED);
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                codes::BODY_LIMIT_EXCEEDED,
                format!("the body is over the limit of {limit} bytes"),
            );
        }
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => {
            state.metrics.error(codes::BAD_REQUEST);
            return error_response(
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
                format!("the body is not valid JSON: {e}"),
            );
        }
    };
    let batch = match value {
        Value::Array(items) => {
            let max = state.settings.limits.max_batch;
            if items.len() > max {
                state.metrics.error(codes::BATCH_LIMIT_EXCEEDED);
                return error_response(
                    StatusCode::BAD_REQUEST,
                    codes::BATCH_LIMIT_EXCEEDED,
                    format!(
                        "a batch holds at most {max} operations (this one has {})",
                        items.len()
                    ),
                );
            }
            if items.is_empty() {
                return bad_request(state, "a batch must hold at least one operation");
            }
            let mut requests = Vec::with_capacity(items.len());
            for item in items {
                match graphql_request(item) {
                    Ok(r) => requests.push(r),
                    Err(message) => return bad_request(state, message),
                }
            }
            BatchRequest::Batch(requests)
        }
        other => match graphql_request(other) {
            Ok(r) => BatchRequest::Single(r),
            Err(message) => return bad_request(state, message),
        },
    };
    execute(state, caller, batch, false).await
}

fn bad_request(state: &AppState, message: impl Into<String>) -> Response {
    state.metrics.error(codes::BAD_REQUEST);
    error_response(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, message)
}

/// One GraphQL-over-HTTP request object: `query` (a string, absent only for a persisted
/// query), `operationName`, `variables` (an object) and `extensions` (an object).
fn graphql_request(value: Value) -> Result<GqlRequest, String> {
    let Value::Object(map) = value else {
        return Err("a request must be a JSON object".into());
    };
    let persisted = map
        .get("extensions")
        .and_then(|e| e.get("persistedQuery"))
        .is_some();
    match map.get("query") {
        Some(Value::String(_)) => {}
        None | Some(Value::Null) if persisted => {}
        None | Some(Value::Null) => return Err("the request has no `query`".into()),
        Some(_) => return Err("`query` must be a string".into()),
    }
    match map.get("variables") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(_) => return Err("`variables` must be an object".into()),
    }
    match map.get("operationName") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(_) => return Err("`operationName` must be a string".into()),
    }
    match map.get("extensions") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(_) => return Err("`extensions` must be an object".into()),
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| format!("not a GraphQL request: {e}"))
}

/// `GET /graphql`: the GraphiQL page for a browser (when enabled), or a query from the URL
/// (`query`, `operationName`, `variables` and `extensions` as JSON). Mutations are refused
/// with 405: a GET must not change anything.
async fn graphql_get(State(state): State<AppState>, request: Request<Body>) -> Response {
    let response = graphql_get_inner(&state, request).await;
    state.metrics.response(response.status().as_u16());
    response
}

async fn graphql_get_inner(state: &AppState, request: Request<Body>) -> Response {
    let (mut parts, _body) = request.into_parts();
    let params: HashMap<String, String> = parts.uri.query().map(url_params).unwrap_or_default();
    if !params.contains_key("query") && !params.contains_key("extensions") {
        let wants_html = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        if wants_html && state.settings.graphiql {
            return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
        }
        return bad_request(state, "the request has no `query`");
    }
    let caller = match admit(state, &mut parts).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let mut map = serde_json::Map::new();
    for name in ["query", "operationName"] {
        if let Some(v) = params.get(name) {
            map.insert(name.to_owned(), Value::String(v.clone()));
        }
    }
    for name in ["variables", "extensions"] {
        if let Some(v) = params.get(name) {
            match serde_json::from_str::<Value>(v) {
                Ok(value) => {
                    map.insert(name.to_owned(), value);
                }
                Err(e) => return bad_request(state, format!("`{name}` is not JSON: {e}")),
            }
        }
    }
    match graphql_request(Value::Object(map)) {
        Ok(request) => execute(state, caller, BatchRequest::Single(request), true).await,
        Err(message) => bad_request(state, message),
    }
}

fn url_params(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Resolves a persisted query (APQ) into its text: a hash alone is looked up (in the
/// allow-list, then among the documents registered by earlier requests); a hash with its
/// text registers the text once the hash matches.
fn persisted_query(
    state: &AppState,
    request: &mut GqlRequest,
) -> Result<(), (&'static str, String)> {
    let Some(extension) = request.extensions.get("persistedQuery") else {
        return Ok(());
    };
    let json = extension.clone().into_json().unwrap_or_default();
    let version = json.get("version").and_then(Value::as_i64);
    let Some(hash) = json.get("sha256Hash").and_then(Value::as_str) else {
        return Err((
            codes::BAD_REQUEST,
            "persistedQuery needs a sha256Hash".into(),
        ));
    };
    if version != Some(1) {
        return Err((
            codes::BAD_REQUEST,
            "persistedQuery version 1 is the one supported".into(),
        ));
    }
    let hash = hash.to_ascii_lowercase();
    if request.query.is_empty() {
        let known = state
            .allow_list
            .as_ref()
            .and_then(|a| a.by_hash.get(&hash).cloned())
            .or_else(|| {
                if !state.settings.persisted_queries {
                    return None;
                }
                match state.persisted.lock() {
                    Ok(store) => store.get(&hash).cloned(),
                    Err(poisoned) => poisoned.into_inner().get(&hash).cloned(),
                }
            });
        match known {
            Some(text) => {
                request.query = text.to_string();
                Ok(())
            }
            None if state.settings.persisted_queries || state.allow_list.is_some() => Err((
                codes::PERSISTED_QUERY_NOT_FOUND,
                "PersistedQueryNotFound".into(),
            )),
            None => Err((
                codes::PERSISTED_QUERY_NOT_SUPPORTED,
                "PersistedQueryNotSupported".into(),
            )),
        }
    } else {
        if sha256_hex(&request.query) != hash {
            return Err((
                codes::BAD_REQUEST,
                "persistedQuery.sha256Hash is not the SHA-256 of the query".into(),
            ));
        }
        if state.settings.persisted_queries {
            let mut store = match state.persisted.lock() {
                Ok(store) => store,
                Err(poisoned) => poisoned.into_inner(),
            };
            if store.len() >= MAX_PERSISTED {
                store.clear();
            }
            store.insert(hash, Arc::from(request.query.as_str()));
        }
        Ok(())
    }
}

/// Runs the request (or batch) within the request timeout and answers it with the negotiated
/// media type and status.
async fn execute(state: &AppState, caller: Caller, batch: BatchRequest, via_get: bool) -> Response {
    let started = Instant::now();
    let mut requests = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(rs) => rs,
    };
    let single = requests.len() == 1;
    let mut refused: Vec<Option<(&'static str, String)>> = Vec::with_capacity(requests.len());
    for request in &mut requests {
        refused.push(persisted_query(state, request).err());
    }
    let mut runs = Vec::with_capacity(requests.len());
    // The response values the operations may hold (`limits::Checked::nodes`): sizes the body.
    let mut estimated_values: usize = 0;
    for (mut request, refusal) in requests.into_iter().zip(refused) {
        if let Some(name) = &request.operation_name {
            tracing::Span::current().record("operation", name.as_str());
        }
        let name = request.operation_name.clone();
        if let Some((code, message)) = refusal {
            let mut error = async_graphql::ServerError::new(message, None);
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", code);
            runs.push((name, Err(error)));
            continue;
        }
        let loads = loaders(
            state.db.clone(),
            Duration::from_millis(state.settings.batch_window_ms),
        );
        request = request
            .data(loads.clone())
            .data(caller.principal.clone())
            .data(RequestIdValue(caller.request_id.clone()));
        let checked = match state.limits.check(&mut request, via_get) {
            Ok(checked) => checked,
            Err(error) => {
                runs.push((name, Err(error)));
                continue;
            }
        };
        let large = checked.nodes >= state.settings.limits.large_operation_nodes;
        estimated_values = estimated_values.saturating_add(checked.nodes);
        runs.push((name, Ok((request, loads, large, checked))));
    }
    let timeout = Duration::from_millis(state.settings.limits.request_timeout_ms);
    let schema = state.schema.clone();
    let executions = Arc::clone(&state.executions);
    let work = async move {
        let mut out = Vec::with_capacity(runs.len());
        for (name, run) in runs {
            let response = match run {
                Ok((request, loads, large, checked)) => {
                    // Large operations take turns (`Limits::concurrent_executions`), one turn an
                    // operation, so that a batch holds one at a time; the others run at once.
                    // The semaphore is never closed.
                    let _turn = if large {
                        executions.acquire().await.ok()
                    } else {
                        None
                    };
                    // For an error that must name the field of a value (`stamp_response`).
                    let variables =
                        (!request.variables.is_empty()).then(|| request.variables.clone());
                    // The execution and the loads it asks for run as one future (see
                    // `graphql::batcher`).
                    let mut response = loads.run(schema.execute(request)).await;
                    stamp_response(&mut response, variables.as_ref());
                    checked.order_root(&mut response.data);
                    response
                }
                Err(error) => async_graphql::Response::from_errors(vec![error]),
            };
            out.push((name, response));
        }
        out
    };
    let Ok(responses) = tokio::time::timeout(timeout, work).await else {
        state.metrics.error(codes::REQUEST_TIMEOUT);
        return error_response(
            StatusCode::GATEWAY_TIMEOUT,
            codes::REQUEST_TIMEOUT,
            format!(
                "the request ran over the limit of {} ms",
                timeout.as_millis()
            ),
        );
    };
    let seconds = started.elapsed().as_secs_f64();
    let mut status = StatusCode::OK;
    for (name, response) in &responses {
        let codes: Vec<String> = response.errors.iter().filter_map(error_code).collect();
        state
            .metrics
            .operation(name.as_deref(), response.errors.is_empty(), seconds, &codes);
        if codes.iter().any(|c| c == codes::METHOD_NOT_ALLOWED) {
            status = StatusCode::METHOD_NOT_ALLOWED;
        } else if codes.iter().any(|c| c == codes::SERVICE_UNAVAILABLE) {
            status = StatusCode::SERVICE_UNAVAILABLE;
        } else if single
            && caller.media == GRAPHQL_RESPONSE
            && response.data == async_graphql::Value::Null
            && response.errors.iter().any(|e| {
                // Without a path the error came before execution (parse, validation,
                // variables, a limit); with one, a resolver raised it and `data` stands.
                e.path.is_empty()
                    && error_code(e).is_some_and(|c| REQUEST_ERRORS.contains(&c.as_str()))
            })
        {
            // The document was not executed at all (it did not parse or validate): a 4xx
            // under the GraphQL-over-HTTP media type.
            status = StatusCode::BAD_REQUEST;
        }
    }
    let body = if single {
        responses
            .into_iter()
            .next()
            .map(|(_, r)| BatchResponse::Single(r))
    } else {
        Some(BatchResponse::Batch(
            responses.into_iter().map(|(_, r)| r).collect(),
        ))
    };
    // Allocated once at about the size the estimate gives (the nested page of 50: 6,301
    // values, 52 KB), not grown from 128 bytes and copied at every doubling; the estimate is
    // an upper bound of the values, so the bound keeps a page that came back small from
    // holding a large buffer.
    let mut bytes = Vec::with_capacity(
        estimated_values
            .saturating_mul(BODY_BYTES_PER_VALUE)
            .clamp(1024, MAX_BODY_PREALLOCATION),
    );
    let bytes = match serde_json::to_writer(&mut bytes, &body) {
        Ok(()) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a response");
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL,
                "internal error",
            );
        }
    };
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(match caller.media {
            GRAPHQL_RESPONSE => "application/graphql-response+json; charset=utf-8",
            _ => "application/json; charset=utf-8",
        }),
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

/// Bytes of JSON a response value takes, about (`execute` sizes the body with it).
const BODY_BYTES_PER_VALUE: usize = 10;

/// The most a response body is allocated ahead (it still grows past it when it must).
const MAX_BODY_PREALLOCATION: usize = 1 << 20;

/// Errors that mean the document was refused before execution.
const REQUEST_ERRORS: [&str; 11] = [
    codes::GRAPHQL_PARSE_FAILED,
    codes::GRAPHQL_VALIDATION_FAILED,
    codes::DEPTH_LIMIT_EXCEEDED,
    codes::COMPLEXITY_LIMIT_EXCEEDED,
    codes::ALIAS_LIMIT_EXCEEDED,
    codes::QUERY_LENGTH_LIMIT_EXCEEDED,
    codes::OPERATION_NOT_ALLOWED,
    codes::PERSISTED_QUERY_NOT_FOUND,
    codes::PERSISTED_QUERY_NOT_SUPPORTED,
    codes::BAD_REQUEST,
    codes::BAD_USER_INPUT,
];

fn error_code(error: &async_graphql::ServerError) -> Option<String> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.clone()),
        _ => None,
    }
}

/// The request id, for resolvers that want to quote it.
#[derive(Debug, Clone)]
pub struct RequestIdValue(pub String);

/// Liveness: the process answers. Needs no token and touches no database.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and no migration is pending. A load balancer sends
/// traffic only to ready instances; during a database outage this says so (503).
async fn readyz(State(state): State<AppState>) -> Response {
    let check = async {
        if !state.db.ping().await {
            return Err("unreachable");
        }
        match state.db.pending_migrations().await {
            Ok(pending) if pending.is_empty() => Ok(()),
            Ok(_) => Err("migrations pending"),
            Err(_) => Err("unreachable"),
        }
    };
    let timeout = Duration::from_millis(state.settings.database_acquire_timeout_ms + 500);
    match tokio::time::timeout(timeout, check).await {
        Ok(Ok(())) => Json(json!({ "status": "ready", "database": "ok" })).into_response(),
        Ok(Err(reason)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": reason })),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": "timeout" })),
        )
            .into_response(),
    }
}

/// Prometheus metrics (text format).
async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.metrics.render(state.db.pool_stats());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Serves `router` on `listener` until `shutdown` completes: stops accepting, lets in-flight
/// requests finish for at most `settings.shutdown_grace_secs`, then returns (the caller
/// closes the pool).
pub async fn serve(
    listener: tokio::net::TcpListener,
    db: Database,
    verifier: Arc<Verifier>,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(db, verifier, settings).into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stopped_tx.send(());
    });
    tokio::select! {
        result = server => result,
        () = async {
            let _ = stopped_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish in time; stopping anyway");
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
    tracing::info!("shutting down: no new connections; finishing in-flight requests");
}
