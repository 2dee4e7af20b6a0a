//! What the tests of the real `registry` binary share: a free port, starting a server,
//! waiting for it to answer, and an administrator's token.

// Each test binary compiles this module and uses part of it.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The token secret of the servers `start` runs.
pub const SECRET: &str = "binary-test-secret-that-is-long-enough-0123";

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// `registry serve` on `database_url` and `port`, signed with [`SECRET`], quiet, with `env`
/// added.
pub fn start(database_url: &str, port: u16, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_registry"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", database_url)
        .env("REGISTRY_JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command.spawn().expect("start registry")
}

/// Whether `/healthz` on `port` answers 2xx within `patience`.
pub async fn healthy_within(client: &reqwest::Client, port: u16, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// An administrator's token signed with `secret`, for 10 minutes.
pub fn admin_token(secret: &str, subject: &str) -> String {
    api::auth::mint(
        secret,
        &api::auth::MintRequest {
            subject: subject.into(),
            role: "admin".into(),
            actor_id: None,
            ttl_seconds: 600,
            issuer: "partnership-registry".into(),
            audience: "partnership-registry".into(),
        },
    )
    .expect("token")
}
