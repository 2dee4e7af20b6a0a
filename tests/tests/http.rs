//! Hardening over HTTP, on SQLite and on PostgreSQL: only JSON bodies are read, GET only reads,
//! Accept negotiation, every request limit is refused fast (and the same server answers the
//! next request), persisted queries and allow-list mode, rate limits, CORS, readiness and
//! metrics.

use std::time::{Duration, Instant};

use e2e::{Backend, Settings, TestApp, error_code, error_field, on_both_databases, test_settings};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Runs each named async test function (taking a [`Backend`], spawning its own servers with
/// their own settings) on SQLite and on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite_configured {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(e2e::Backend::Sqlite).await;
            })+
        }
        mod postgres_configured {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(e2e::Backend::Postgres).await;
            })+
        }
    };
}

on_both_databases!(
    only_json_bodies_are_read,
    malformed_requests_are_bad_requests,
    get_reads_and_never_writes,
    other_methods_are_refused,
    accept_negotiation,
    depth_complexity_alias_and_page_limits,
    batch_body_and_document_limits,
    validation_refuses_cycles_directive_and_field_floods,
    introspection_is_off_by_default,
    automatic_persisted_queries,
    no_cors_headers_by_default,
    readiness_and_metrics_need_no_token,
    a_field_repeated_through_fragments_is_refused,
    too_many_directives_get_the_documented_code,
    fragment_cycles_get_the_documented_code,
    a_field_error_under_graphql_response_json_is_not_a_4xx,
    fragment_bombs_are_refused,
);

on_both_backends!(
    graphiql_can_be_turned_off,
    introspection_can_be_turned_on,
    slow_requests_time_out,
    operations_beyond_the_concurrency_limit_wait_their_turn,
    allow_list_mode_runs_registered_documents_only,
    subjects_are_rate_limited,
    anonymous_callers_are_rate_limited,
    cors_for_listed_origins_only,
);

const STREAMS: &str = "{ fundingStreams { code } }";
const CREATE_ACTOR: &str = r#"mutation { createActor(input: { kind: NGO, name: "Cross-site", country: "ES" }) { actor { id name } } }"#;
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
/// A refusal comes long before anything would have run.
const FAST: Duration = Duration::from_secs(2);

/// What the server answered, read whole.
struct Reply {
    status: u16,
    headers: HeaderMap,
    text: String,
    elapsed: Duration,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn code(&self) -> String {
        error_code(&self.json()).to_owned()
    }

    fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("<none>")
    }

    /// A refusal: this status and code, in the GraphQL error shape, answered fast.
    fn assert_refused(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.code(), code, "{}", self.text);
        assert!(
            self.json()["errors"][0]["message"].is_string(),
            "{}",
            self.text
        );
        assert!(
            self.elapsed < FAST,
            "refused in {:?}, not fast: {}",
            self.elapsed,
            self.text
        );
    }

    /// A document refused before it ran, answered 200 under `application/json`.
    fn assert_document_refused(&self, code: &str) {
        self.assert_refused(200, code);
        assert_eq!(self.json()["data"], Value::Null, "{}", self.text);
    }
}

async fn send(request: RequestBuilder) -> Reply {
    let started = Instant::now();
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    Reply {
        status,
        headers,
        text,
        elapsed: started.elapsed(),
    }
}

/// `POST /graphql` as an administrator, body still to set.
fn post(app: &TestApp) -> RequestBuilder {
    app.client
        .post(app.url("/graphql"))
        .bearer_auth(&app.admin_token)
}

async fn post_json(app: &TestApp, body: Value) -> Reply {
    send(post(app).json(&body)).await
}

async fn post_query(app: &TestApp, query: &str) -> Reply {
    post_json(app, json!({ "query": query })).await
}

/// `GET /graphql` with these URL parameters, as an administrator.
fn get(app: &TestApp, params: &[(&str, &str)]) -> RequestBuilder {
    let url = reqwest::Url::parse_with_params(&app.url("/graphql"), params).expect("a URL");
    app.client.get(url).bearer_auth(&app.admin_token)
}

/// The same server answers an ordinary query after a refusal.
async fn still_serves(app: &TestApp) {
    let reply = post_query(app, STREAMS).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({ "data": { "fundingStreams": [{ "code": "AMIF" }, { "code": "ERDF" }, { "code": "ESF_PLUS" }] } })
    );
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// A token of `role` for another subject than [`e2e::token`]'s.
fn token_of(subject: &str, role: &str) -> String {
    api::auth::mint(
        e2e::TEST_SECRET,
        &api::auth::MintRequest {
            subject: subject.to_owned(),
            role: role.to_owned(),
            actor_id: None,
            ttl_seconds: 3600,
            issuer: e2e::ISSUER.to_owned(),
            audience: e2e::AUDIENCE.to_owned(),
        },
    )
    .expect("a token")
}

/// `{ actors { nodes { parent { ... name } } } }`, `depth` fields deep (at least 3).
fn nested_parents(depth: usize) -> String {
    let parents = depth - 3;
    format!(
        "{{ actors {{ nodes {{ {}name{} }} }} }}",
        "parent { ".repeat(parents),
        " }".repeat(parents)
    )
}

/// `n` aliased `__typename`s.
fn aliases(n: usize) -> String {
    (0..n)
        .map(|i| format!("a{i}: __typename"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn only_json_bodies_are_read(app: &TestApp) {
    let before = app.all_counts().await;
    let body = json!({ "query": CREATE_ACTOR }).to_string();
    // What a cross-site page can send without a preflight: never read, never run.
    let reply = send(
        post(app)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body.clone()),
    )
    .await;
    reply.assert_refused(415, "UNSUPPORTED_MEDIA_TYPE");
    let keys: Vec<String> = reply
        .json()
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["errors"], "the GraphQL error shape: {}", reply.text);
    assert!(
        reply.content_type().starts_with("application/json"),
        "{}",
        reply.content_type()
    );

    let form = reqwest::Url::parse_with_params("http://form.example/", [("query", CREATE_ACTOR)])
        .expect("a URL");
    let reply = send(
        post(app)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.query().unwrap_or_default().to_owned()),
    )
    .await;
    reply.assert_refused(415, "UNSUPPORTED_MEDIA_TYPE");

    let reply = send(post(app).body(body.clone())).await;
    reply.assert_refused(415, "UNSUPPORTED_MEDIA_TYPE");

    assert_eq!(app.all_counts().await, before, "nothing was executed");
    still_serves(app).await;

    // The same mutation as JSON runs: it was refused for its media type only.
    let reply = send(
        post(app)
            .header("content-type", "application/json; charset=utf-8")
            .body(body),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.json()["data"]["createActor"]["actor"]["name"],
        "Cross-site"
    );
    let actors = before
        .iter()
        .find(|(table, _)| table == "actor")
        .map(|(_, n)| *n);
    assert_eq!(Some(app.count_rows("actor").await), actors.map(|n| n + 1));
}

async fn malformed_requests_are_bad_requests(app: &TestApp) {
    let json = |body: &str| {
        post(app)
            .header("content-type", "application/json")
            .body(body.to_owned())
    };
    for body in [
        r#"{"query": "{ __typename }""#,
        "not json at all",
        "",
        r#"{"variables": {}}"#,
        r#"{"query": null}"#,
        r#"{"query": 42}"#,
        r#"{"query": ["{ __typename }"]}"#,
        r#"{"query": "{ __typename }", "variables": "{}"}"#,
        r#"{"query": "{ __typename }", "operationName": 7}"#,
        r#""{ __typename }""#,
        "[]",
    ] {
        let reply = send(json(body)).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert_eq!(reply.code(), "BAD_REQUEST", "{body}: {}", reply.text);
        assert!(reply.elapsed < FAST);
    }
    still_serves(app).await;
}

async fn get_reads_and_never_writes(app: &TestApp) {
    let reply = send(get(app, &[("query", STREAMS)])).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["data"]["fundingStreams"][0]["code"], "AMIF");
    assert!(reply.content_type().starts_with("application/json"));

    let reply = send(get(
        app,
        &[
            (
                "query",
                "query Stream($code: String!) { fundingStream(code: $code) { code name } }",
            ),
            ("operationName", "Stream"),
            ("variables", r#"{"code": "ERDF"}"#),
        ],
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["data"]["fundingStream"]["code"], "ERDF");

    // A mutation over GET: 405, Allow: POST, and nothing written.
    let before = app.all_counts().await;
    let reply = send(get(app, &[("query", CREATE_ACTOR)])).await;
    reply.assert_refused(405, "METHOD_NOT_ALLOWED");
    assert_eq!(reply.header("allow"), Some("POST"));
    // Also when the document holds a query too and the query is the one named.
    let reply = send(get(
        app,
        &[
            (
                "query",
                &format!(
                    "query Read {{ __typename }} {}",
                    CREATE_ACTOR.replace("mutation", "mutation Write")
                ),
            ),
            ("operationName", "Write"),
        ],
    ))
    .await;
    reply.assert_refused(405, "METHOD_NOT_ALLOWED");
    assert_eq!(app.all_counts().await, before, "GET never writes");

    // Bad parameters.
    let reply = send(get(app, &[("query", STREAMS), ("variables", "{not json")])).await;
    reply.assert_refused(400, "BAD_REQUEST");

    // A browser gets GraphiQL (test servers turn it on); anyone else without a query, 400.
    let reply = send(
        app.client
            .get(app.url("/graphql"))
            .header("accept", "text/html"),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(reply.content_type().starts_with("text/html"));
    assert!(reply.text.to_lowercase().contains("graphiql"));
    let reply = send(get(app, &[])).await;
    reply.assert_refused(400, "BAD_REQUEST");
    still_serves(app).await;
}

async fn graphiql_can_be_turned_off(backend: Backend) {
    let settings = Settings {
        graphiql: false,
        ..test_settings()
    };
    let Some(app) = TestApp::spawn_with_settings(backend, settings).await else {
        return;
    };
    let reply = send(
        app.client
            .get(app.url("/graphql"))
            .header("accept", "text/html"),
    )
    .await;
    reply.assert_refused(400, "BAD_REQUEST");
    assert!(!reply.text.to_lowercase().contains("graphiql"));
    // Queries over GET still run.
    let reply = send(get(&app, &[("query", STREAMS)])).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.json()["data"]["fundingStreams"][2]["code"],
        "ESF_PLUS"
    );
}

async fn other_methods_are_refused(app: &TestApp) {
    let before = app.all_counts().await;
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let reply = send(
            app.client
                .request(method.clone(), app.url("/graphql"))
                .bearer_auth(&app.admin_token)
                .json(&json!({ "query": CREATE_ACTOR })),
        )
        .await;
        assert_eq!(reply.status, 405, "{method}: {}", reply.text);
        let allow = reply.header("allow").unwrap_or_default();
        assert!(allow.contains("POST") && allow.contains("GET"), "{allow}");
    }
    assert_eq!(app.all_counts().await, before);
    still_serves(app).await;
}

async fn accept_negotiation(app: &TestApp) {
    let ask = |accept: Option<&str>, query: &str| {
        let request = post(app).json(&json!({ "query": query }));
        match accept {
            Some(accept) => request.header("accept", accept),
            None => request,
        }
    };
    let reply = send(ask(Some(GRAPHQL_RESPONSE), STREAMS)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.content_type().starts_with(GRAPHQL_RESPONSE),
        "{}",
        reply.content_type()
    );
    assert_eq!(reply.json()["data"]["fundingStreams"][1]["code"], "ERDF");

    let unparsable = "{ fundingStreams { code ";
    let unknown_field = "{ fundingStreams { code budget } }";
    // Documents that do not run: 4xx under the GraphQL-over-HTTP media type...
    for (accept, status) in [
        (GRAPHQL_RESPONSE, 400),
        (
            "application/graphql-response+json, application/json;q=0.9",
            400,
        ),
    ] {
        let reply = send(ask(Some(accept), unparsable)).await;
        reply.assert_refused(status, "GRAPHQL_PARSE_FAILED");
        assert!(reply.content_type().starts_with(GRAPHQL_RESPONSE));
        let reply = send(ask(Some(accept), unknown_field)).await;
        reply.assert_refused(status, "GRAPHQL_VALIDATION_FAILED");
        assert!(reply.content_type().starts_with(GRAPHQL_RESPONSE));
        assert!(reply.text.contains("budget"), "{}", reply.text);
    }
    // ...200 with the errors in the body under application/json, or without Accept.
    for accept in [Some("application/json"), Some("*/*"), None] {
        let reply = send(ask(accept, unparsable)).await;
        reply.assert_refused(200, "GRAPHQL_PARSE_FAILED");
        assert!(
            reply.content_type().starts_with("application/json"),
            "{accept:?}: {}",
            reply.content_type()
        );
        let reply = send(ask(accept, unknown_field)).await;
        reply.assert_refused(200, "GRAPHQL_VALIDATION_FAILED");
        assert!(reply.content_type().starts_with("application/json"));
    }
    // Neither media type accepted: 406, and the document is not run.
    let before = app.all_counts().await;
    for accept in [
        "text/html",
        "application/xml",
        "application/json;q=0, application/graphql-response+json;q=0",
    ] {
        let reply = send(ask(Some(accept), CREATE_ACTOR)).await;
        reply.assert_refused(406, "NOT_ACCEPTABLE");
    }
    assert_eq!(app.all_counts().await, before);
    still_serves(app).await;
}

async fn depth_complexity_alias_and_page_limits(app: &TestApp) {
    // Depth: 12 levels run, 13 are refused.
    let reply = post_query(app, &nested_parents(12)).await;
    assert_eq!(reply.status, 200);
    assert!(reply.json().get("errors").is_none(), "{}", reply.text);
    for depth in [13, 20] {
        post_query(app, &nested_parents(depth))
            .await
            .assert_document_refused("DEPTH_LIMIT_EXCEEDED");
    }
    let reply = send(
        post(app)
            .header("accept", GRAPHQL_RESPONSE)
            .json(&json!({ "query": nested_parents(13) })),
    )
    .await;
    reply.assert_refused(400, "DEPTH_LIMIT_EXCEEDED");
    still_serves(app).await;

    // Complexity: a connection multiplies its selection by `first`.
    let shape = |n: u32| {
        format!(
            "{{ partnerships(first: {n}) {{ nodes {{ members(first: {n}) {{ nodes {{ actor {{ memberships(first: {n}) {{ nodes {{ roles }} }} }} }} }} }} }} }}"
        )
    };
    post_query(app, &shape(100))
        .await
        .assert_document_refused("COMPLEXITY_LIMIT_EXCEEDED");
    let reply = post_query(app, &shape(5)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({ "data": { "partnerships": { "nodes": [] } } })
    );

    // Aliases: 30 run, 31 are refused, and a mutation among them is not run.
    let reply = post_query(app, &format!("{{ {} }}", aliases(30))).await;
    assert_eq!(reply.json()["data"]["a29"], "QueryRoot", "{}", reply.text);
    post_query(app, &format!("{{ {} }}", aliases(31)))
        .await
        .assert_document_refused("ALIAS_LIMIT_EXCEEDED");
    let before = app.all_counts().await;
    let flood = CREATE_ACTOR.replacen(
        "{ createActor",
        &format!("{{ {} createActor", aliases(31)),
        1,
    );
    post_query(app, &flood)
        .await
        .assert_document_refused("ALIAS_LIMIT_EXCEEDED");
    assert_eq!(app.all_counts().await, before);

    // Page size: 1 to 100.
    for first in [0, 101, -1] {
        let reply = post_query(
            app,
            &format!("{{ actors(first: {first}) {{ totalCount }} }}"),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.code(), "BAD_USER_INPUT", "{}", reply.text);
        assert_eq!(error_field(&reply.json()), "first", "{}", reply.text);
    }
    let reply = post_json(
        app,
        json!({ "query": "query($n: Int) { partnerships(first: $n) { totalCount } }", "variables": { "n": 101 } }),
    )
    .await;
    assert_eq!(reply.code(), "BAD_USER_INPUT", "{}", reply.text);
    assert_eq!(error_field(&reply.json()), "first");
    let reply = post_query(app, "{ actors(first: 100) { totalCount } }").await;
    assert_eq!(
        reply.json(),
        json!({ "data": { "actors": { "totalCount": 0 } } })
    );
    still_serves(app).await;
}

async fn batch_body_and_document_limits(app: &TestApp) {
    // Batches: two run, eleven are refused whole.
    let reply = post_json(
        app,
        json!([{ "query": STREAMS }, { "query": "query Name { __typename }", "operationName": "Name" }]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let answers = reply.json();
    let answers = answers.as_array().expect("an array of responses");
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0]["data"]["fundingStreams"][0]["code"], "AMIF");
    assert_eq!(answers[1]["data"]["__typename"], "QueryRoot");

    let before = app.all_counts().await;
    let eleven: Vec<Value> = (0..11).map(|_| json!({ "query": CREATE_ACTOR })).collect();
    post_json(app, Value::Array(eleven))
        .await
        .assert_refused(400, "BATCH_LIMIT_EXCEEDED");
    assert_eq!(
        app.all_counts().await,
        before,
        "no operation of the batch ran"
    );
    still_serves(app).await;

    // The body: over 256 KB is 413.
    let padding = "x".repeat(300 * 1024);
    post_json(
        app,
        json!({ "query": "{ __typename }", "variables": { "pad": padding } }),
    )
    .await
    .assert_refused(413, "BODY_LIMIT_EXCEEDED");
    still_serves(app).await;

    // The document: over 32 KB is refused, however small the body.
    let long = format!("{{ __typename }}{}", " ".repeat(32 * 1024));
    post_query(app, &long)
        .await
        .assert_document_refused("QUERY_LENGTH_LIMIT_EXCEEDED");
    let under = format!("{{ __typename }}{}", " ".repeat(32 * 1024 - 100));
    let reply = post_query(app, &under).await;
    assert_eq!(
        reply.json()["data"]["__typename"],
        "QueryRoot",
        "{}",
        reply.text
    );
    // Over GET too.
    let reply = send(get(app, &[("query", &long)])).await;
    reply.assert_document_refused("QUERY_LENGTH_LIMIT_EXCEEDED");
    still_serves(app).await;
}

async fn slow_requests_time_out(backend: Backend) {
    let mut settings = Settings {
        // Every batch of loads waits a second before it is read.
        batch_window_ms: 1_000,
        ..test_settings()
    };
    settings.limits.request_timeout_ms = 100;
    let Some(app) = TestApp::spawn_with_settings(backend, settings).await else {
        return;
    };
    let slow = "{ fundingStreams { ceilingRules { case } } }";
    for request in [
        post(&app).json(&json!({ "query": slow })),
        get(&app, &[("query", slow)]),
    ] {
        let reply = send(request).await;
        reply.assert_refused(504, "REQUEST_TIMEOUT");
        assert!(
            reply.elapsed < Duration::from_millis(900),
            "cut at the limit, not after the batch window: {:?}",
            reply.elapsed
        );
    }
    let reply = post_query(&app, "{ __typename }").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({ "data": { "__typename": "QueryRoot" } })
    );
    still_serves(&app).await;
}

/// With one turn to execute, a second large operation waits for the first, within the
/// request time, while a small one runs at once; with two turns, both large ones run at once;
/// a batch takes one turn an operation (no deadlock).
async fn operations_beyond_the_concurrency_limit_wait_their_turn(backend: Backend) {
    // Every batch of loads waits 500 ms: the slow query takes that long, twice that if it
    // waits for another, and the limit lies between. It is four response values
    // (`fundingStreams`, `code`, `ceilingRules`, `case`), large from four on here.
    let slow = json!({ "query": "{ fundingStreams { code ceilingRules { case } } }" });
    // Three values: small, though its load waits the same 500 ms.
    let small = json!({ "query": "{ fundingStreams { ceilingRules { case } } }" });
    let settings = |turns| {
        let mut settings = Settings {
            batch_window_ms: 500,
            ..test_settings()
        };
        settings.limits.max_concurrent_executions = turns;
        settings.limits.large_operation_nodes = 4;
        settings.limits.request_timeout_ms = 800;
        settings
    };

    let Some(app) = TestApp::spawn_with_settings(backend, settings(1)).await else {
        return;
    };
    let (a, b, quick) = tokio::join!(
        send(post(&app).json(&slow)),
        send(post(&app).json(&slow)),
        async {
            // Sent while a slow one holds the turn and the other waits for it: had it to
            // wait too, it would get the turn only when the second is cut (800 ms) and run
            // over its own time (504).
            tokio::time::sleep(Duration::from_millis(100)).await;
            send(post(&app).json(&small)).await
        }
    );
    let (first, second) = if a.status == 200 { (a, b) } else { (b, a) };
    assert_eq!(first.status, 200, "{}", first.text);
    let streams = first.json()["data"]["fundingStreams"].clone();
    assert_eq!(streams.as_array().map(Vec::len), Some(3), "{streams}");
    second.assert_refused(504, "REQUEST_TIMEOUT");
    assert_eq!(quick.status, 200, "{}", quick.text);
    let rules = quick.json()["data"]["fundingStreams"].clone();
    assert_eq!(rules.as_array().map(Vec::len), Some(3), "{rules}");
    assert!(rules[0]["ceilingRules"][0]["case"].is_string(), "{rules}");
    // A batch of three under one turn: each large operation takes it in turn (four values,
    // read without a batch of loads, so quick; a turn held across the batch would deadlock).
    let large = "{ fundingStreams { code name legalBasis } }";
    let reply = post_json(
        &app,
        json!([{ "query": large }, { "query": "{ __typename }" }, { "query": large }]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let answers = reply.json();
    assert_eq!(
        answers[0]["data"]["fundingStreams"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(answers[1]["data"]["__typename"], "QueryRoot");
    assert_eq!(answers[2], answers[0]);
    app.stop().await;

    let Some(app) = TestApp::spawn_with_settings(backend, settings(2)).await else {
        return;
    };
    let (a, b) = tokio::join!(send(post(&app).json(&slow)), send(post(&app).json(&slow)));
    assert_eq!((a.status, b.status), (200, 200), "{} / {}", a.text, b.text);
    assert_eq!(a.json(), b.json());
    assert_eq!(a.json()["data"]["fundingStreams"], streams);
}

async fn validation_refuses_cycles_directive_and_field_floods(app: &TestApp) {
    // A fragment cycle and eleven directives on one field are refused before anything runs
    // (their codes: see the tests of the documented codes below).
    let cycle = "{ actors { nodes { ...A } } } fragment A on Actor { parent { ...B } } fragment B on Actor { parent { ...A } }";
    let directives = format!("{{ __typename{} }}", " @include(if: true)".repeat(11));
    for query in [cycle, directives.as_str()] {
        let reply = post_query(app, query).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["data"], Value::Null, "{}", reply.text);
        assert!(reply.json()["errors"][0]["extensions"]["code"].is_string());
        assert!(reply.elapsed < FAST);
    }
    still_serves(app).await;

    // A field selected more than five times in one selection set.
    let reply = post_query(app, "{ fundingStreams { code code code code code code } }").await;
    reply.assert_document_refused("GRAPHQL_VALIDATION_FAILED");
    let message = reply.json()["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("`code`"), "{message}");
    // Aliases are response keys of their own; the same alias repeated is the same key.
    let reply = post_query(
        app,
        "{ a: __typename a: __typename a: __typename a: __typename a: __typename a: __typename }",
    )
    .await;
    reply.assert_document_refused("GRAPHQL_VALIDATION_FAILED");
    assert!(reply.text.contains("`a`"), "{}", reply.text);
    let reply = post_query(app, "{ fundingStreams { code code code code code } }").await;
    assert_eq!(
        reply.json()["data"]["fundingStreams"][0]["code"],
        "AMIF",
        "five are fine"
    );
    still_serves(app).await;
}

async fn a_field_repeated_through_fragments_is_refused(app: &TestApp) {
    let inline = format!(
        "{{ fundingStreams {{ {} }} }}",
        "... on FundingStream { code } ".repeat(6)
    );
    for query in [
        inline.as_str(),
        "{ fundingStreams { ...F ...F } } fragment F on FundingStream { code code code code code }",
        "{ fundingStreams { code code code code code ...F } } fragment F on FundingStream { code }",
    ] {
        let reply = post_query(app, query).await;
        assert_eq!(
            reply.code(),
            "GRAPHQL_VALIDATION_FAILED",
            "`code` is selected 6+ times in one selection set: {query} -> {}",
            reply.text
        );
    }
}

async fn too_many_directives_get_the_documented_code(app: &TestApp) {
    let directives = format!("{{ __typename{} }}", " @include(if: true)".repeat(11));
    post_query(app, &directives)
        .await
        .assert_document_refused("GRAPHQL_VALIDATION_FAILED");
}

async fn fragment_cycles_get_the_documented_code(app: &TestApp) {
    let cycle = "{ actors { nodes { ...A } } } fragment A on Actor { parent { ...B } } fragment B on Actor { parent { ...A } }";
    post_query(app, cycle)
        .await
        .assert_document_refused("GRAPHQL_VALIDATION_FAILED");
}

async fn a_field_error_under_graphql_response_json_is_not_a_4xx(app: &TestApp) {
    // The document parses and validates, and runs: the resolver refuses `first` (the error has
    // a `path`). README: 400 is for "a document that does not run at all"; the
    // GraphQL-over-HTTP spec: a response with a `data` entry SHOULD be 2xx.
    let reply = send(
        post(app)
            .header("accept", GRAPHQL_RESPONSE)
            .json(&json!({ "query": "{ actors(first: 0) { totalCount } }" })),
    )
    .await;
    assert_eq!(reply.code(), "BAD_USER_INPUT", "{}", reply.text);
    assert_eq!(reply.json()["errors"][0]["path"], json!(["actors"]));
    assert_eq!(reply.status, 200, "{}", reply.text);
}

async fn introspection_is_off_by_default(app: &TestApp) {
    for query in [
        "{ __schema { types { name } } }",
        r#"{ __type(name: "Partnership") { name fields { name } } }"#,
        "query { ...I } fragment I on QueryRoot { __schema { queryType { name } } }",
    ] {
        let reply = post_query(app, query).await;
        reply.assert_document_refused("GRAPHQL_VALIDATION_FAILED");
        assert!(
            reply.text.contains("introspection is turned off"),
            "{}",
            reply.text
        );
        assert!(!reply.text.contains("Partnership\""), "{}", reply.text);
    }
    let reply = post_query(app, "{ __typename }").await;
    assert_eq!(
        reply.json(),
        json!({ "data": { "__typename": "QueryRoot" } })
    );
}

/// Fragments that spread each other twice over double at every level: a small document that
/// expands to millions of selections is refused before validation walks it.
async fn fragment_bombs_are_refused(app: &TestApp) {
    let mut query = String::from("{ fundingStreams { ...F0 } }");
    for i in 0..20 {
        query.push_str(&format!(
            " fragment F{i} on FundingStream {{ ...F{} ...F{} }}",
            i + 1,
            i + 1
        ));
    }
    query.push_str(" fragment F20 on FundingStream { code }");
    let reply = post_query(app, &query).await;
    assert_eq!(reply.json()["data"], Value::Null, "{}", reply.text);
    assert_eq!(reply.code(), "COMPLEXITY_LIMIT_EXCEEDED", "{}", reply.text);
    assert!(reply.elapsed < FAST, "{:?}", reply.elapsed);
    still_serves(app).await;
}

async fn introspection_can_be_turned_on(backend: Backend) {
    let settings = Settings {
        introspection: true,
        ..test_settings()
    };
    let Some(app) = TestApp::spawn_with_settings(backend, settings).await else {
        return;
    };
    let reply = post_query(&app, "{ __schema { types { name } } }").await;
    assert_eq!(reply.status, 200);
    let names: Vec<String> = reply.json()["data"]["__schema"]["types"]
        .as_array()
        .expect("the schema's types")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.iter().any(|n| n == "Partnership"), "{names:?}");
    let reply = post_query(&app, "{ __typename }").await;
    assert_eq!(
        reply.json(),
        json!({ "data": { "__typename": "QueryRoot" } })
    );
}

async fn automatic_persisted_queries(app: &TestApp) {
    // POST: unknown hash, then the document with its hash, then the hash alone.
    let query = "query Streams { fundingStreams { code name } }";
    let hash = sha256_hex(query);
    let reply = post_json(app, json!({ "extensions": persisted(&hash) })).await;
    reply.assert_document_refused("PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(
        reply.json()["errors"][0]["message"],
        "PersistedQueryNotFound"
    );

    let reply = post_json(
        app,
        json!({ "query": query, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(reply.status, 200);
    let data = reply.json()["data"].clone();
    assert_eq!(data["fundingStreams"][0]["code"], "AMIF", "{}", reply.text);

    let reply = post_json(app, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(reply.json(), json!({ "data": data }), "the round trip");
    let reply = post_json(
        app,
        json!({ "extensions": persisted(&hash.to_uppercase()), "operationName": "Streams" }),
    )
    .await;
    assert_eq!(reply.json(), json!({ "data": data }), "hex in any case");

    // A hash that is not the document's.
    let reply = post_json(
        app,
        json!({ "query": "{ __typename }", "extensions": persisted(&hash) }),
    )
    .await;
    reply.assert_document_refused("BAD_REQUEST");
    let reply = post_json(
        app,
        json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash } } }),
    )
    .await;
    assert_eq!(reply.code(), "BAD_REQUEST", "{}", reply.text);

    // GET, with `extensions` as JSON in the URL.
    let query = "{ fundingStreams { code legalBasis } }";
    let extensions = persisted(&sha256_hex(query)).to_string();
    let reply = send(get(app, &[("extensions", &extensions)])).await;
    reply.assert_document_refused("PERSISTED_QUERY_NOT_FOUND");
    let reply = send(get(app, &[("query", query), ("extensions", &extensions)])).await;
    assert_eq!(reply.status, 200);
    let data = reply.json()["data"].clone();
    assert_eq!(data["fundingStreams"][1]["code"], "ERDF", "{}", reply.text);
    let reply = send(get(app, &[("extensions", &extensions)])).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({ "data": data }));

    // A mutation registered by POST (where it runs) cannot be run again by its hash over GET.
    let hash = sha256_hex(CREATE_ACTOR);
    let reply = post_json(
        app,
        json!({ "query": CREATE_ACTOR, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(
        reply.json()["data"]["createActor"]["actor"]["name"],
        "Cross-site"
    );
    let before = app.all_counts().await;
    let reply = send(get(app, &[("extensions", &persisted(&hash).to_string())])).await;
    reply.assert_refused(405, "METHOD_NOT_ALLOWED");
    assert_eq!(app.all_counts().await, before);
    still_serves(app).await;
}

/// A file removed when the test ends, passed or failed.
struct Removed(std::path::PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

async fn allow_list_mode_runs_registered_documents_only(backend: Backend) {
    let path = std::env::temp_dir().join(format!(
        "registry-allow-list-{}.json",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::write(&path, json!([STREAMS]).to_string()).expect("the allow list is written");
    let settings = Settings {
        allow_list: Some(path.clone()),
        ..test_settings()
    };
    // The server reads the file as it starts (in its own task): keep it until the end.
    let _file = Removed(path);
    let Some(app) = TestApp::spawn_with_settings(backend, settings).await else {
        return;
    };
    // By hash alone, never having sent the text.
    let hash = sha256_hex(STREAMS);
    let reply = post_json(&app, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(
        reply.json()["data"]["fundingStreams"][0]["code"],
        "AMIF",
        "{}",
        reply.text
    );
    let reply = send(get(&app, &[("extensions", &persisted(&hash).to_string())])).await;
    assert_eq!(
        reply.json()["data"]["fundingStreams"][0]["code"],
        "AMIF",
        "{}",
        reply.text
    );
    // By text.
    still_serves(&app).await;
    // Anything else, even the same query written differently, or registered by APQ.
    for query in ["{ __typename }", "{fundingStreams{code}}", CREATE_ACTOR] {
        post_query(&app, query)
            .await
            .assert_document_refused("OPERATION_NOT_ALLOWED");
    }
    let other = "{ __typename }";
    let reply = post_json(
        &app,
        json!({ "query": other, "extensions": persisted(&sha256_hex(other)) }),
    )
    .await;
    reply.assert_document_refused("OPERATION_NOT_ALLOWED");
    let reply = post_json(&app, json!({ "extensions": persisted(&sha256_hex(other)) })).await;
    assert_eq!(reply.json()["data"], Value::Null, "{}", reply.text);
    assert!(reply.json()["errors"].is_array(), "{}", reply.text);
    assert_eq!(app.count_rows("actor").await, 0);
    still_serves(&app).await;
}

async fn subjects_are_rate_limited(backend: Backend) {
    let mut settings = test_settings();
    settings.rate_limits.per_role.insert("admin".into(), 30);
    let Some(app) = TestApp::spawn_with_settings(backend, settings).await else {
        return;
    };
    for i in 0..30 {
        let reply = post_query(&app, "{ __typename }").await;
        assert_eq!(reply.status, 200, "request {i}: {}", reply.text);
    }
    let reply = post_query(&app, "{ __typename }").await;
    reply.assert_refused(429, "RATE_LIMITED");
    let retry_after: u64 = reply
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Over GET too.
    send(get(&app, &[("query", STREAMS)]))
        .await
        .assert_refused(429, "RATE_LIMITED");

    // Another subject of the same role is not affected.
    let other = token_of("second-admin", "admin");
    let reply = send(
        app.client
            .post(app.url("/graphql"))
            .bearer_auth(&other)
            .json(&json!({ "query": STREAMS })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["data"]["fundingStreams"][0]["code"], "AMIF");

    // After waiting as told, the first subject is served again.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    still_serves(&app).await;
}

async fn anonymous_callers_are_rate_limited(backend: Backend) {
    let mut settings = test_settings();
    settings.rate_limits.anonymous = 5;
    let Some(app) = TestApp::spawn_with_settings(backend, settings).await else {
        return;
    };
    let anonymous = || {
        app.client
            .post(app.url("/graphql"))
            .json(&json!({ "query": STREAMS }))
    };
    for i in 0..5 {
        let reply = send(anonymous()).await;
        assert_eq!(reply.status, 401, "request {i}: {}", reply.text);
        assert_eq!(reply.code(), "UNAUTHENTICATED");
    }
    let reply = send(anonymous()).await;
    reply.assert_refused(429, "RATE_LIMITED");
    let retry_after: u64 = reply
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!(retry_after >= 1);
    // A bad token counts as no token.
    send(anonymous().bearer_auth("not-a-token"))
        .await
        .assert_refused(429, "RATE_LIMITED");
    // Callers with a valid token are counted by subject, not by address.
    still_serves(&app).await;
}

async fn cors_for_listed_origins_only(backend: Backend) {
    let settings = Settings {
        cors_origins: vec!["https://city.example".into()],
        ..test_settings()
    };
    let Some(app) = TestApp::spawn_with_settings(backend, settings).await else {
        return;
    };
    let preflight = |origin: &str| {
        app.client
            .request(Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin.to_owned())
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
    };
    let reply = send(preflight("https://city.example")).await;
    assert!((200..300).contains(&reply.status), "{}", reply.status);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://city.example")
    );
    let methods = reply
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    let headers = reply
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );

    let reply = send(preflight("https://evil.example")).await;
    assert_eq!(reply.header("access-control-allow-origin"), None);

    // The actual request: the listed origin may read the answer, another may not.
    let reply = send(
        post(&app)
            .header("origin", "https://city.example")
            .json(&json!({ "query": STREAMS })),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://city.example")
    );
    let reply = send(
        post(&app)
            .header("origin", "https://evil.example")
            .json(&json!({ "query": STREAMS })),
    )
    .await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

async fn no_cors_headers_by_default(app: &TestApp) {
    let reply = send(
        app.client
            .request(Method::OPTIONS, app.url("/graphql"))
            .header("origin", "https://city.example")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            ),
    )
    .await;
    let cors: Vec<&str> = reply
        .headers
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{cors:?}");
    let reply = send(
        post(app)
            .header("origin", "https://city.example")
            .json(&json!({ "query": STREAMS })),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

async fn readiness_and_metrics_need_no_token(app: &TestApp) {
    let reply = send(app.client.get(app.url("/readyz"))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json(), json!({ "status": "ready", "database": "ok" }));

    let reply = post_json(
        app,
        json!({ "query": "query Streams { fundingStreams { code } }", "operationName": "Streams" }),
    )
    .await;
    assert_eq!(reply.status, 200);
    post_query(app, &nested_parents(13))
        .await
        .assert_document_refused("DEPTH_LIMIT_EXCEEDED");

    let reply = send(app.client.get(app.url("/metrics"))).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.content_type().starts_with("text/plain"),
        "{}",
        reply.content_type()
    );
    let value = |series: &str| -> Option<f64> {
        reply
            .text
            .lines()
            .find_map(|line| line.strip_prefix(series))
            .and_then(|rest| rest.trim().parse().ok())
    };
    assert_eq!(
        value(r#"registry_graphql_requests_total{operation="Streams",outcome="ok"}"#),
        Some(1.0),
        "{}",
        reply.text
    );
    assert_eq!(
        value(r#"registry_graphql_errors_total{code="DEPTH_LIMIT_EXCEEDED"}"#),
        Some(1.0),
        "{}",
        reply.text
    );
    let max = value(r#"registry_db_pool_connections{state="max"}"#);
    assert!(max.is_some_and(|n| n >= 1.0), "{}", reply.text);
}
