//! Crash safety: the real `registry` binary is killed with SIGKILL in the middle of a load of
//! mutations driven from this process; after a restart every acknowledged mutation is there,
//! nothing half-written is visible, and the audit chain verifies. On SQLite and PostgreSQL.

use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use persistence::test_db::TestDatabase;
use serde_json::{Value, json};

mod common;

use common::{SECRET, free_port};

fn start(database_url: &str, port: u16) -> Child {
    common::start(database_url, port, &[])
}

async fn wait_ready(client: &reqwest::Client, port: u16) {
    assert!(
        common::healthy_within(client, port, Duration::from_secs(10)).await,
        "the server did not come up"
    );
}

fn admin_token() -> String {
    common::admin_token(SECRET, "crash-test")
}

async fn graphql(
    client: &reqwest::Client,
    port: u16,
    token: &str,
    query: &str,
    variables: Value,
) -> Result<Value, reqwest::Error> {
    client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await?
        .json()
        .await
}

async fn crash_and_recover(test_db: TestDatabase) {
    let url = test_db.url().to_owned();
    let port = free_port();
    let mut server = start(&url, port);
    let client = reqwest::Client::new();
    wait_ready(&client, port).await;
    let token = admin_token();
    let stop = Arc::new(AtomicBool::new(false));
    let create =
        "mutation($input: CreateActorInput!) { createActor(input: $input) { actor { id } } }";
    let drivers: Vec<_> = (0..4)
        .map(|driver| {
            let client = client.clone();
            let token = token.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let input = json!({ "input": { "kind": "NGO", "name": format!("Driver {driver} NGO {i}"), "country": "ES" } });
                    match graphql(&client, port, &token, create, input).await {
                        Ok(body) => {
                            if let Some(id) = body["data"]["createActor"]["actor"]["id"].as_str() {
                                acknowledged.push(id.to_owned());
                            }
                        }
                        // The server is gone: nothing more is acknowledged.
                        Err(_) => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    // Let the load run, then kill the server mid-flight.
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for d in drivers {
        acknowledged.extend(d.await.expect("driver"));
    }
    assert!(
        acknowledged.len() >= 10,
        "the load ran before the kill ({} acknowledged)",
        acknowledged.len()
    );

    let mut server = start(&url, port);
    wait_ready(&client, port).await;
    for chunk in acknowledged.chunks(100) {
        let body = graphql(
            &client,
            port,
            &token,
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": chunk }),
        )
        .await
        .expect("query");
        let found = body["data"]["nodes"].as_array().expect("nodes");
        assert!(
            found.iter().all(|n| n["id"].is_string()),
            "every acknowledged create survived: {body}"
        );
    }
    let body = graphql(
        &client,
        port,
        &token,
        "{ actors { totalCount } verifyAuditChain { valid eventsChecked } }",
        json!({}),
    )
    .await
    .expect("query");
    let actors = body["data"]["actors"]["totalCount"]
        .as_i64()
        .expect("count");
    assert!(actors >= i64::try_from(acknowledged.len()).unwrap_or(i64::MAX));
    // Nothing half-written: every stored actor has its one audit event, and the chain holds.
    assert_eq!(body["data"]["verifyAuditChain"]["valid"], true, "{body}");
    assert_eq!(
        body["data"]["verifyAuditChain"]["eventsChecked"].as_i64(),
        Some(actors)
    );
    server.kill().expect("stop");
    server.wait().expect("reaped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_loses_no_acknowledged_mutation_on_sqlite() {
    crash_and_recover(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_loses_no_acknowledged_mutation_on_postgres() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    crash_and_recover(db).await;
}
