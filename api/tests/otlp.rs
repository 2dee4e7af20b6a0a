//! OTLP export (the `otlp` feature): the real `registry` binary, pointed at a fake collector
//! served from this test, sends the per-request span with its operation name over OTLP/HTTP,
//! both on the batch timer and, for what is still queued, when SIGTERM stops it.
#![cfg(feature = "otlp")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;

/// The request bodies the fake collector received on `POST /v1/traces`.
type Received = Arc<Mutex<Vec<Bytes>>>;

/// How long any one wait may take.
mod common;

use common::free_port;

const PATIENCE: Duration = Duration::from_secs(15);

/// Serves `POST /v1/traces` on a free port, answering 200 with an empty body (a valid, empty
/// `ExportTraceServiceResponse`) and keeping every body.
async fn collector() -> (u16, Received) {
    let received = Received::default();
    let app = Router::new()
        .route(
            "/v1/traces",
            post(|State(received): State<Received>, body: Bytes| async move {
                received.lock().expect("collector lock").push(body);
                ([("content-type", "application/x-protobuf")], Bytes::new())
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the collector");
    let port = listener.local_addr().expect("collector address").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, received)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Waits until one received body holds every one of `needles` (protobuf strings are sent
/// raw), and says whether one did.
async fn received_within(received: &Received, needles: &[&[u8]]) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        let found = received
            .lock()
            .expect("collector lock")
            .iter()
            .any(|body| needles.iter().all(|needle| contains(body, needle)));
        if found {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A fresh directory for the database and the server's log, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path =
            std::env::temp_dir().join(format!("registry-otlp-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create the temporary directory");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server's stderr, to show when an assertion fails.
fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

fn start(dir: &Path, port: u16, collector: u16) -> Child {
    let stderr = std::fs::File::create(dir.join("server.log")).expect("create the log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_registry"));
    command
        .args(["serve", "--dev", "--listen", &format!("127.0.0.1:{port}")])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/t.db?mode=rwc", dir.display()),
        )
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{collector}"),
        )
        // Export every 200 ms instead of every 5 s.
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        // The request span is at INFO.
        .env("RUST_LOG", "info");
    // Nothing from the caller's environment may redirect, rename or switch off the export,
    // or replace the development secret the token below is signed with.
    for var in [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_SAMPLER",
        "REGISTRY_JWT_SECRET",
        "REGISTRY_JWT_KEYS",
        "REGISTRY_CONFIG",
        "REGISTRY_LISTEN",
    ] {
        command.env_remove(var);
    }
    command
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr))
        .spawn()
        .expect("start registry")
}

async fn wait_ready(client: &reqwest::Client, port: u16, dir: &Path) {
    assert!(
        common::healthy_within(client, port, PATIENCE).await,
        "the server did not come up; its log:\n{}",
        log(dir)
    );
}

/// Runs the named query, `{ fundingStreams { code } }`, and checks it succeeded.
async fn query(client: &reqwest::Client, port: u16, token: &str, operation: &str) {
    let body = format!(
        r#"{{"query":"query {operation} {{ fundingStreams {{ code }} }}","operationName":"{operation}"}}"#
    );
    let response = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("POST /graphql");
    let status = response.status();
    let text = response.text().await.expect("response body");
    assert!(status.is_success(), "{operation}: {status}: {text}");
    assert!(!text.contains("\"errors\""), "{operation}: {text}");
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM failed");
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("wait for registry") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the server did not stop within {PATIENCE:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn request_spans_reach_the_collector() {
    let dir = TempDir::new();
    let (collector_port, received) = collector().await;
    let port = free_port();
    let mut child = start(&dir.0, port, collector_port);
    let client = reqwest::Client::new();
    wait_ready(&client, port, &dir.0).await;
    let token = common::admin_token(api::auth::DEV_SECRET, "otlp");

    // On the batch timer, while the server runs.
    query(&client, port, &token, "Streams").await;
    let on_timer = received_within(
        &received,
        &[b"request", b"Streams", b"partnership-registry"],
    )
    .await;

    // What is still queued at SIGTERM is flushed on the way out (`telemetry::shutdown`).
    query(&client, port, &token, "StreamsAtExit").await;
    let status = terminate(&mut child);
    let at_exit = received_within(&received, &[b"request", b"StreamsAtExit"]).await;

    let bodies = received.lock().expect("collector lock").len();
    let log = log(&dir.0);
    assert!(
        on_timer,
        "no span `request` with operation `Streams` and service `partnership-registry` \
         among {bodies} OTLP bodies; the server's log:\n{log}"
    );
    assert!(
        at_exit,
        "the span of `StreamsAtExit`, queued at SIGTERM, was not flushed (is \
         `telemetry::shutdown()` called before exit?); {bodies} OTLP bodies; the server's log:\n{log}"
    );
    assert!(
        status.success(),
        "registry exited with {status}; its log:\n{log}"
    );
}
