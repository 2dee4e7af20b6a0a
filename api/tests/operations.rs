//! Operations, on the real `registry` binary: SIGTERM lets an in-flight request finish and
//! the process exits 0; a PostgreSQL outage (a private server this test starts and stops)
//! answers 503 fast and `/readyz` says so, and the service recovers without a restart;
//! `registry config check` shows the layered settings with secrets hidden, and a bad setting
//! stops start-up naming it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use persistence::test_db::TestDatabase;
use serde_json::{Value, json};

mod common;

use common::{SECRET, free_port, start};

async fn wait_ready(client: &reqwest::Client, port: u16) {
    assert!(
        common::healthy_within(client, port, Duration::from_secs(20)).await,
        "the server did not come up"
    );
}

fn admin_token() -> String {
    common::admin_token(SECRET, "operations-test")
}

async fn post(
    client: &reqwest::Client,
    port: u16,
    query: &str,
) -> Result<(u16, Value), reqwest::Error> {
    let response = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(admin_token())
        .json(&json!({ "query": query }))
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name}");
}

/// Waits for the process to exit, at most `limit`.
async fn exit_status(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

async fn sigterm_lets_the_slow_request_finish(test_db: TestDatabase) {
    let port = free_port();
    // A wait of 1.5 s before each batch of loads makes any relation field a slow request.
    let mut child = start(test_db.url(), port, &[("REGISTRY_BATCH_WINDOW_MS", "1500")]);
    let client = reqwest::Client::new();
    wait_ready(&client, port).await;
    let slow = {
        let client = client.clone();
        tokio::spawn(async move {
            post(
                &client,
                port,
                "{ fundingStreams { code ceilingRules { case } } }",
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let signalled = Instant::now();
    signal(&child, "TERM");
    let (status, body) = slow
        .await
        .expect("join")
        .expect("the slow request is answered");
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["fundingStreams"].as_array().map(Vec::len),
        Some(3)
    );
    assert!(
        signalled.elapsed() >= Duration::from_millis(500),
        "the request was still in flight when the signal came"
    );
    let exit = exit_status(&mut child, Duration::from_secs(15)).await;
    let exit = match exit {
        Some(exit) => exit,
        None => {
            let _ = child.kill();
            panic!("the process did not exit after SIGTERM");
        }
    };
    assert!(exit.success(), "exit status {exit:?}");
    // Nothing listens any more.
    assert!(
        client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_err()
    );
    drop(test_db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_slow_request_finish_then_exits_0_on_sqlite() {
    sigterm_lets_the_slow_request_finish(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_slow_request_finish_then_exits_0_on_postgres() {
    if let Some(db) = TestDatabase::postgres().await {
        sigterm_lets_the_slow_request_finish(db).await;
    }
}

/// A PostgreSQL server of this test's own, in a temporary directory, on a free port.
struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Run the server's tools as `postgres`: PostgreSQL refuses to run as root.
    as_postgres: bool,
}

impl PrivatePostgres {
    /// `None` when PostgreSQL's server tools are not installed (outside CI only).
    fn create() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
            .max()?;
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let dir = std::env::temp_dir().join(format!("registry-pg-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let server = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres", &server.dir.display().to_string()])
                .status()
                .expect("chown");
            assert!(status.success(), "chown");
        }
        let data = server.data();
        let output = server.tool(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        assert!(output.status.success(), "initdb: {}", text(&output));
        Some(server)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn tool(&self, name: &str, args: &[&str]) -> Output {
        let program = self.bin.join(name);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect(name)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        let output = self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        assert!(output.status.success(), "pg_ctl start: {}", text(&output));
    }

    fn stop(&self) {
        let output = self.tool(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
        assert!(output.status.success(), "pg_ctl stop: {}", text(&output));
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.tool("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn readyz(client: &reqwest::Client, port: u16) -> (u16, Value) {
    let response = client
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .expect("readyz");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_fails_fast_with_503_and_the_service_recovers_on_its_own() {
    let Some(pg) = PrivatePostgres::create() else {
        assert!(
            std::env::var("CI").is_err(),
            "CI needs PostgreSQL's server tools (initdb, pg_ctl) for the outage test"
        );
        eprintln!("skipped: PostgreSQL's server tools are not installed");
        return;
    };
    pg.start();
    let port = free_port();
    let mut child = start(
        &pg.url(),
        port,
        &[("REGISTRY_DATABASE_ACQUIRE_TIMEOUT_MS", "1000")],
    );
    let client = reqwest::Client::new();
    wait_ready(&client, port).await;
    let create = r#"mutation { createActor(input: { kind: NGO, name: "Outage NGO", country: "ES" }) { actor { id } } }"#;
    let (status, body) = post(&client, port, create).await.expect("create");
    assert_eq!(status, 200, "{body}");
    assert_eq!(readyz(&client, port).await.0, 200);

    pg.stop();
    let started = Instant::now();
    let (status, body) = post(
        &client,
        port,
        r#"{ actors(filter: { nameContains: "Outage" }) { nodes { name } } }"#,
    )
    .await
    .expect("an answer during the outage");
    let took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "SERVICE_UNAVAILABLE"
    );
    assert!(
        !body
            .to_string()
            .to_lowercase()
            .contains("connection refused"),
        "no database text reaches the client: {body}"
    );
    assert!(took < Duration::from_secs(3), "fails fast: {took:?}");
    let (status, ready) = readyz(&client, port).await;
    assert_eq!(status, 503);
    assert_eq!(ready["status"], "unavailable");
    // Liveness is not readiness: the process is alive.
    let alive = client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(alive.status(), 200);

    pg.start();
    let mut recovered = false;
    for _ in 0..100 {
        if readyz(&client, port).await.0 == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "ready again without a restart");
    let (status, body) = post(
        &client,
        port,
        r#"{ actors(filter: { nameContains: "Outage" }) { nodes { name } } }"#,
    )
    .await
    .expect("after the outage");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["actors"]["nodes"],
        json!([{ "name": "Outage NGO" }])
    );
    assert!(child.try_wait().expect("wait").is_none(), "never restarted");
    let _ = child.kill();
    let _ = child.wait();
}

fn registry(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_registry"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("REGISTRY_JWT_SECRET")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run registry")
}

fn config_file(dir: &Path, text: &str) -> String {
    let path = dir.join("registry.toml");
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn config_check_shows_the_layers_and_hides_secrets() {
    let dir = std::env::temp_dir().join(format!("registry-config-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = config_file(
        &dir,
        "batch_window_ms = 7\ncors_origins = [\"https://city.example\"]\n[limits]\nmax_depth = 8\nmax_batch = 4\n",
    );
    let output = registry(
        &[
            "config",
            "check",
            "--config",
            &file,
            "--max-complexity",
            "500",
        ],
        &[
            ("REGISTRY_MAX_DEPTH", "9"),
            ("REGISTRY_JWT_SECRET", SECRET),
            (
                "DATABASE_URL",
                "postgres://app:s3cret-pw@db.internal:5432/registry",
            ),
        ],
    );
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    for expected in [
        "batch_window_ms = 7",        // the file
        "max_batch = 4",              // the file
        "max_depth = 9",              // the environment over the file
        "max_complexity = 500",       // the flag
        "request_timeout_ms = 10000", // the default
        "postgres://app:***@db.internal:5432/registry",
        "jwt_secret = \"set (hidden)\"",
        "https://city.example",
    ] {
        assert!(shown.contains(expected), "{expected:?} in:\n{shown}");
    }
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");

    // A bad value names its setting and stops, for `config check` and for `serve`.
    let output = registry(
        &["config", "check", "--dev"],
        &[("REGISTRY_MAX_DEPTH", "deep")],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output).contains("REGISTRY_MAX_DEPTH"),
        "{}",
        text(&output)
    );
    let file = config_file(&dir, "[limits]\nmax_depth = 1\n");
    let output = registry(&["serve", "--dev", "--config", &file], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output).contains("limits.max_depth"),
        "{}",
        text(&output)
    );
    let file = config_file(&dir, "[limits]\nmax_dept = 12\n");
    let output = registry(&["serve", "--dev", "--config", &file], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).contains("max_dept"), "{}", text(&output));
    std::fs::remove_dir_all(&dir).ok();
}
