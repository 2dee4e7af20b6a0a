//! The audit trail over HTTP, on SQLite and PostgreSQL: a mutation leaves one event naming
//! the token's subject, role, actor, the request id and the operation; a refused one leaves
//! none; funders and administrators read the trail and verify its chain, partners cannot.

use e2e::{TestApp, error_code, on_both_databases, token};
use serde_json::json;

on_both_databases!(mutations_are_audited_with_who_what_and_when);

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

    let report = app
        .ok(
            "{ verifyAuditChain { valid eventsChecked firstBrokenSequence } }",
            json!({}),
        )
        .await;
    assert_eq!(
        report["verifyAuditChain"],
        json!({ "valid": true, "eventsChecked": 2, "firstBrokenSequence": null })
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
