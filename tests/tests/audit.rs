//! The audit trail over HTTP, on SQLite and PostgreSQL: a mutation leaves one event naming
//! the token's subject, role, actor, the request id and the operation; a refused one leaves
//! none; funders and administrators read the trail and verify its chain, partners cannot.

use e2e::{TestApp, error_code, on_both_databases, token};
use serde_json::json;

on_both_databases!(
    mutations_are_audited_with_who_what_and_when,
    fifty_updates_with_one_expected_version_let_exactly_one_through,
    a_mixed_load_leaves_one_event_per_acknowledged_mutation,
    a_retried_create_with_its_idempotency_key_creates_once,
    rounds_of_concurrent_retries_never_fail,
    nothing_is_deleted_actors_are_archived_and_mandates_end,
);

async fn mutations_are_audited_with_who_what_and_when(app: &TestApp) {
    let create =
        "mutation($input: CreateActorInput!) { createActor(input: $input) { actor { id } } }";
    let data = app
        .ok(create, json!({ "input": { "kind": "REGION", "name": "Comunitat Valenciana", "country": "ES" } }))
        .await;
    let region = data["createActor"]["actor"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let region_token = token("region", Some(&region));
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&region_token)
        .header("x-request-id", "req-audit-1")
        .json(&json!({
            "query": "mutation($input: CreateActorInput!) { createActor(input: $input) { actor { id } } }",
            "variables": { "input": { "kind": "MUNICIPALITY", "name": "Calp", "country": "ES", "parentId": region } },
        }))
        .send()
        .await
        .expect("post");
    let body: serde_json::Value = response.json().await.expect("json");
    let calp = body["data"]["createActor"]["actor"]["id"]
        .as_str()
        .expect("created")
        .to_owned();
    // Refused (a region registers only municipalities of its own): no event.
    let refused = app
        .graphql_as(
            &region_token,
            create,
            json!({ "input": { "kind": "NGO", "name": "X", "country": "ES" } }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");

    let query = r#"query($id: ID) { auditEvents(filter: { entityId: $id }) {
        edges { node { sequence subject role actorId requestId operation entityType entityId before after hash previousHash } } } }"#;
    let data = app.ok(query, json!({ "id": calp })).await;
    let edges = data["auditEvents"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 1);
    let event = &edges[0]["node"];
    assert_eq!(event["subject"], "region-tester");
    assert_eq!(event["role"], "region");
    assert_eq!(event["actorId"], region.as_str());
    assert_eq!(event["requestId"], "req-audit-1");
    assert_eq!(event["operation"], "createActor");
    assert_eq!(event["entityType"], "Actor");
    assert_eq!(event["entityId"], calp.as_str());
    assert_eq!(event["before"], serde_json::Value::Null);
    assert_eq!(event["after"]["name"], "Calp");
    let all = app
        .ok(
            "{ auditEvents(first: 100) { edges { node { sequence } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        all["auditEvents"]["edges"].as_array().map(Vec::len),
        Some(2),
        "the refused mutation left no event"
    );

    // The record's own history: its versions over time.
    app.ok(
        "mutation($input: UpdateActorInput!) { updateActor(input: $input) { actor { version } } }",
        json!({ "input": { "id": calp, "population": 22000 } }),
    )
    .await;
    let data = app
        .ok(
            "query($id: ID!) { actor(id: $id) { history { edges { node { operation before after } } } } }",
            json!({ "id": calp }),
        )
        .await;
    let history = data["actor"]["history"]["edges"]
        .as_array()
        .expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["node"]["operation"], "createActor");
    assert_eq!(history[1]["node"]["operation"], "updateActor");
    assert_eq!(
        history[1]["node"]["before"]["population"],
        serde_json::Value::Null
    );
    assert_eq!(history[1]["node"]["after"]["population"], 22000);
    assert_eq!(history[1]["node"]["after"]["version"], 2);
    let refused = app
        .graphql_as(
            &region_token,
            "query($id: ID!) { actor(id: $id) { history { edges { node { operation } } } } }",
            json!({ "id": calp }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");

    let report = app
        .ok(
            "{ verifyAuditChain { valid eventsChecked firstBrokenSequence } }",
            json!({}),
        )
        .await;
    assert_eq!(
        report["verifyAuditChain"],
        json!({ "valid": true, "eventsChecked": 3, "firstBrokenSequence": null })
    );
    let refused = app
        .graphql_as(&region_token, "{ verifyAuditChain { valid } }", json!({}))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let refused = app
        .graphql_as(
            &region_token,
            "{ auditEvents { edges { node { sequence } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");

    // Tampering shows.
    use sea_orm::ConnectionTrait;
    app.db
        .connection()
        .execute_unprepared("UPDATE audit_event SET after_json = REPLACE(after_json, 'Calp', 'Benidorm') WHERE seq = 2")
        .await
        .expect("tamper");
    let report = app
        .ok(
            "{ verifyAuditChain { valid firstBrokenSequence reason } }",
            json!({}),
        )
        .await;
    assert_eq!(report["verifyAuditChain"]["valid"], false);
    assert_eq!(report["verifyAuditChain"]["firstBrokenSequence"], 2);
}

async fn fifty_updates_with_one_expected_version_let_exactly_one_through(app: &TestApp) {
    let data = app
        .ok(
            "mutation($input: CreateActorInput!) { createActor(input: $input) { actor { id version } } }",
            json!({ "input": { "kind": "NGO", "name": "Caritas", "country": "ES" } }),
        )
        .await;
    let id = data["createActor"]["actor"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(data["createActor"]["actor"]["version"], 1);
    let update = "mutation($input: UpdateActorInput!) { updateActor(input: $input) { actor { name version } } }";
    let requests = (0..50).map(|i| {
        let client = app.client.clone();
        let url = app.url("/graphql");
        let token = app.admin_token.clone();
        let body = json!({ "query": update, "variables": { "input": { "id": id, "name": format!("Caritas {i}"), "expectedVersion": 1 } } });
        tokio::spawn(async move {
            let response = client.post(url).bearer_auth(token).json(&body).send().await.expect("post");
            response.json::<serde_json::Value>().await.expect("json")
        })
    });
    let mut ok = 0;
    let mut conflicts = 0;
    for request in requests.collect::<Vec<_>>() {
        let response = request.await.expect("task");
        if response.get("errors").is_none() {
            ok += 1;
            assert_eq!(response["data"]["updateActor"]["actor"]["version"], 2);
        } else {
            assert_eq!(error_code(&response), "CONFLICT", "{response}");
            assert_eq!(response["errors"][0]["extensions"]["currentVersion"], 2);
            conflicts += 1;
        }
    }
    assert_eq!((ok, conflicts), (1, 49));
    let events = app
        .ok(
            "query($id: ID) { auditEvents(filter: { entityId: $id, operation: \"updateActor\" }) { edges { node { sequence } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        events["auditEvents"]["edges"].as_array().map(Vec::len),
        Some(1),
        "one event for the one update"
    );
    let data = app
        .ok(
            "query($id: ID!) { actor(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["actor"]["version"], 2);
}

async fn a_mixed_load_leaves_one_event_per_acknowledged_mutation(app: &TestApp) {
    let create =
        "mutation($input: CreateActorInput!) { createActor(input: $input) { actor { id } } }";
    let before = app.count_rows("audit_event").await;
    let clients = (0..4).map(|client_no| {
        let client = app.client.clone();
        let url = app.url("/graphql");
        let token = app.admin_token.clone();
        tokio::spawn(async move {
            let mut acknowledged = 0;
            for i in 0..10 {
                // Every third request breaks a rule and is refused.
                let country = if i % 3 == 2 { "XX" } else { "ES" };
                let body = json!({ "query": create, "variables": { "input": { "kind": "NGO", "name": format!("Client {client_no} NGO {i}"), "country": country } } });
                let response: serde_json::Value = client.post(&url).bearer_auth(&token).json(&body).send().await.expect("post").json().await.expect("json");
                if response.get("errors").is_none() {
                    acknowledged += 1;
                    let id = response["data"]["createActor"]["actor"]["id"].as_str().expect("id").to_owned();
                    let rename = json!({ "query": "mutation($input: UpdateActorInput!) { updateActor(input: $input) { actor { id } } }", "variables": { "input": { "id": id, "email": "office@ngo.example" } } });
                    let response: serde_json::Value = client.post(&url).bearer_auth(&token).json(&rename).send().await.expect("post").json().await.expect("json");
                    if response.get("errors").is_none() {
                        acknowledged += 1;
                    }
                }
            }
            acknowledged
        })
    });
    let mut acknowledged = 0;
    for c in clients.collect::<Vec<_>>() {
        acknowledged += c.await.expect("client");
    }
    assert_eq!(
        acknowledged,
        4 * 7 * 2,
        "7 of 10 creates succeed per client, each with its update"
    );
    assert_eq!(app.count_rows("audit_event").await - before, acknowledged);
    let report = app
        .ok("{ verifyAuditChain { valid eventsChecked } }", json!({}))
        .await;
    assert_eq!(report["verifyAuditChain"]["valid"], true);
}

async fn a_retried_create_with_its_idempotency_key_creates_once(app: &TestApp) {
    let create =
        "mutation($input: CreateActorInput!) { createActor(input: $input) { actor { id name } } }";
    let input = json!({ "input": { "kind": "NGO", "name": "Caritas", "country": "ES", "idempotencyKey": "create-caritas-1" } });
    let first = app.ok(create, input.clone()).await;
    let actors = app.count_rows("actor").await;
    let events = app.count_rows("audit_event").await;
    let again = app.ok(create, input.clone()).await;
    assert_eq!(again, first, "the retry returns the first result");
    assert_eq!(app.count_rows("actor").await, actors, "and creates nothing");
    assert_eq!(app.count_rows("audit_event").await, events);
    // The same input written in another order, with an explicit null, is the same request.
    let reordered = format!(
        r#"{{"query": {query}, "variables": {{"input": {{"idempotencyKey": "create-caritas-1", "country": "ES", "email": null, "name": "Caritas", "kind": "NGO"}}}}}}"#,
        query = serde_json::Value::String(create.to_owned())
    );
    let response: serde_json::Value = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .header("x-request-id", "r".repeat(150))
        .body(reordered)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(response["data"], first, "{response}");
    let other = app
        .graphql(create, json!({ "input": { "kind": "NGO", "name": "Caritas Valencia", "country": "ES", "idempotencyKey": "create-caritas-1" } }))
        .await;
    assert_eq!(error_code(&other), "CONFLICT");
    assert_eq!(
        other["errors"][0]["extensions"]["field"],
        "input.idempotencyKey"
    );
    // Another principal's keys are its own.
    let ngo = first["createActor"]["actor"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ngo_token = token("ngo", Some(&ngo));
    let partnership = "mutation($input: CreatePartnershipInput!) { createPartnership(input: $input) { partnership { id } } }";
    let p_input = json!({ "input": { "title": "Housing", "kind": "PROJECT_CONSORTIUM", "startDate": "2024-01-01", "idempotencyKey": "create-caritas-1" } });
    let created = app.ok_as(&ngo_token, partnership, p_input.clone()).await;
    // Ten concurrent retries of one create: one partnership, every answer the same.
    let retry_input = json!({ "input": { "title": "Language cafés", "kind": "PROJECT_CONSORTIUM", "startDate": "2024-01-01", "idempotencyKey": "cafes" } });
    let ids = concurrent_creates(app, &ngo_token, partnership, &retry_input, "").await;
    assert_eq!(ids.len(), 1, "one partnership for ten retries");
    assert_eq!(app.count_rows("partnership").await, 2);
    assert_ne!(
        created["createPartnership"]["partnership"]["id"].as_str(),
        ids.iter().next().map(String::as_str)
    );
}

/// The HTTP status of a simple query made with `token`.
async fn status_of(app: &TestApp, token: &str) -> u16 {
    app.client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

async fn nothing_is_deleted_actors_are_archived_and_mandates_end(app: &TestApp) {
    let (ngo, ngo_token) = ngo_with_token(app, "Old NGO").await;
    app.ok_as(&ngo_token, "{ viewer { role } }", json!({}))
        .await;
    let archive = "mutation($input: ArchiveActorInput!) { archiveActor(input: $input) { actor { archivedAt version } } }";
    let refused = app
        .graphql_as(&ngo_token, archive, json!({ "input": { "id": ngo } }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let data = app
        .ok(
            archive,
            json!({ "input": { "id": ngo, "expectedVersion": 1 } }),
        )
        .await;
    assert!(data["archiveActor"]["actor"]["archivedAt"].is_string());
    assert_eq!(data["archiveActor"]["actor"]["version"], 2);
    let lists = app
        .ok(
            "{ all: actors(filter: { includeArchived: true }) { totalCount } active: actors { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        lists,
        json!({ "all": { "totalCount": 1 }, "active": { "totalCount": 0 } })
    );
    assert_eq!(app.count_rows("actor").await, 1, "the row stays");
    // An archived organisation's token no longer works.
    assert_eq!(status_of(app, &ngo_token).await, 401);
    let history = app
        .ok(
            "query($id: ID!) { actor(id: $id) { history { edges { node { operation } } } } }",
            json!({ "id": ngo }),
        )
        .await;
    let operations: Vec<&str> = history["actor"]["history"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["operation"].as_str())
        .collect();
    assert_eq!(operations, ["createActor", "archiveActor"]);

    // A stream manager's mandate ends; the row and its history stay.
    let data = app.ok("mutation($input: CreateActorInput!) { createActor(input: $input) { actor { id } } }", json!({ "input": { "kind": "NATIONAL_AUTHORITY", "name": "Ministry", "country": "ES" } })).await;
    let ministry = data["createActor"]["actor"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let stream = app
        .ok("{ fundingStream(code: \"AMIF\") { id } }", json!({}))
        .await;
    let stream = stream["fundingStream"]["id"]
        .as_str()
        .expect("stream")
        .to_owned();
    let manage = |op: &str| {
        format!(
            "mutation($input: StreamManagerInput!) {{ {op}(input: $input) {{ fundingStream {{ managers {{ name }} }} }} }}"
        )
    };
    let input = json!({ "input": { "streamId": stream, "actorId": ministry } });
    app.ok(&manage("addStreamManager"), input.clone()).await;
    let funder = token("funder", Some(&ministry));
    app.ok_as(&funder, "{ viewer { role } }", json!({})).await;
    let data = app.ok(&manage("removeStreamManager"), input.clone()).await;
    assert_eq!(
        data["removeStreamManager"]["fundingStream"]["managers"],
        json!([])
    );
    assert_eq!(
        app.count_rows("stream_manager").await,
        1,
        "the mandate's row stays"
    );
    assert_eq!(
        status_of(app, &funder).await,
        401,
        "no stream managed, no funder role"
    );
    let data = app.ok(&manage("addStreamManager"), input).await;
    assert_eq!(
        data["addStreamManager"]["fundingStream"]["managers"],
        json!([{ "name": "Ministry" }])
    );
    assert_eq!(app.count_rows("stream_manager").await, 1);
    let report = app.ok("{ verifyAuditChain { valid } }", json!({})).await;
    assert_eq!(report["verifyAuditChain"]["valid"], true);
}

/// Forty rounds of ten concurrent retries, each round under its own key: every answer is the
/// round's one partnership. On SQLite about one round in a hundred answered "database is
/// locked" (INTERNAL) before write transactions began IMMEDIATE: a losing retry's transaction,
/// dropped on its key's conflict, still held SQLite's write lock for a moment, and the next
/// writer, whose DEFERRED transaction had read first, was refused instead of waiting.
async fn rounds_of_concurrent_retries_never_fail(app: &TestApp) {
    let (_, ngo_token) = ngo_with_token(app, "Accem").await;
    let partnership = "mutation($input: CreatePartnershipInput!) { createPartnership(input: $input) { partnership { id } } }";
    let before = app.count_rows("partnership").await;
    for round in 0..40 {
        let input = json!({ "input": { "title": format!("Round {round}"), "kind": "PROJECT_CONSORTIUM", "startDate": "2024-01-01", "idempotencyKey": format!("round-{round}") } });
        let ids = concurrent_creates(
            app,
            &ngo_token,
            partnership,
            &input,
            &format!("round {round}: "),
        )
        .await;
        assert_eq!(
            ids.len(),
            1,
            "round {round}: one partnership for ten retries"
        );
    }
    assert_eq!(app.count_rows("partnership").await, before + 40);
}

/// Sends the same `createPartnership` ten times at once; every answer must be free of errors.
/// Returns the distinct partnership ids answered.
async fn concurrent_creates(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: &serde_json::Value,
    context: &str,
) -> std::collections::BTreeSet<String> {
    let retries: Vec<_> = (0..10)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url("/graphql");
            let token = token.to_owned();
            let body = json!({ "query": query, "variables": variables });
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .expect("post")
                    .json::<serde_json::Value>()
                    .await
                    .expect("json")
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for r in retries {
        let response = r.await.expect("task");
        assert!(response.get("errors").is_none(), "{context}{response}");
        ids.insert(
            response["data"]["createPartnership"]["partnership"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    ids
}

/// A new NGO in Spain, and a token of its own.
async fn ngo_with_token(app: &TestApp, name: &str) -> (String, String) {
    let data = app
        .ok(
            "mutation($input: CreateActorInput!) { createActor(input: $input) { actor { id } } }",
            json!({ "input": { "kind": "NGO", "name": name, "country": "ES" } }),
        )
        .await;
    let ngo = data["createActor"]["actor"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ngo_token = token("ngo", Some(&ngo));
    (ngo, ngo_token)
}
