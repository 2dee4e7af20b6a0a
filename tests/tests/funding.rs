//! Funding end to end, on SQLite and PostgreSQL: programmes, awards, payments, the funding
//! summary over HTTP, and the exports parsed back and compared with the summary.

use e2e::{TestApp, error_code, on_both_databases, token};
use serde_json::{Value, json};

on_both_databases!(summary_payments_and_exports_agree);

async fn id_of(data: &Value, path: &[&str]) -> String {
    let mut v = data;
    for p in path {
        v = &v[*p];
    }
    v.as_str().expect("id").to_owned()
}

async fn summary_payments_and_exports_agree(app: &TestApp) {
    let actor =
        "mutation($input: CreateActorInput!) { createActor(input: $input) { actor { id } } }";
    let authority = id_of(&app.ok(actor, json!({ "input": { "kind": "NATIONAL_AUTHORITY", "name": "Ministry", "country": "ES" } })).await, &["createActor", "actor", "id"]).await;
    let ngo = id_of(
        &app.ok(
            actor,
            json!({ "input": { "kind": "NGO", "name": "Caritas, \"Valencia\"", "country": "ES" } }),
        )
        .await,
        &["createActor", "actor", "id"],
    )
    .await;
    let streams = app.ok("{ fundingStreams { id code } }", json!({})).await;
    let amif = streams["fundingStreams"][0]["id"]
        .as_str()
        .expect("AMIF")
        .to_owned();
    let programme = id_of(
        &app.ok(
            "mutation($input: CreateProgrammeInput!) { createProgramme(input: $input) { programme { id } } }",
            json!({ "input": { "streamId": amif, "code": "2021ES65AMPR001", "title": "AMIF Spain", "managingAuthorityId": authority, "country": "ES", "nutsCode": "ES52", "nutsVersion": 2021, "envelope": "10000" } }),
        )
        .await,
        &["createProgramme", "programme", "id"],
    )
    .await;
    let create_p = "mutation($input: CreatePartnershipInput!) { createPartnership(input: $input) { partnership { id } } }";
    let mut partnerships = Vec::new();
    for (title, themes) in [
        ("Housing first", json!(["HOUSING"])),
        ("Jobs, and homes", json!(["HOUSING", "EMPLOYMENT"])),
    ] {
        partnerships.push(
            id_of(&app.ok(create_p, json!({ "input": { "title": title, "kind": "PROJECT_CONSORTIUM", "themes": themes, "startDate": "2022-01-01", "leadActorId": ngo } })).await, &["createPartnership", "partnership", "id"]).await,
        );
    }
    let create_a = "mutation($input: CreateAllocationInput!) { createAllocation(input: $input) { allocation { id } } }";
    let status = "mutation($input: ChangeAllocationStatusInput!) { changeAllocationStatus(input: $input) { allocation { status } } }";
    let pay = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { allocation { paid } payment { amount kind } } }";
    let mut allocations = Vec::new();
    for (i, (eligible, eu)) in [("1000", "750"), ("2000.50", "1500.37"), ("4000", "3000")]
        .iter()
        .enumerate()
    {
        let a = id_of(
            &app.ok(create_a, json!({ "input": { "partnershipId": partnerships[i % 2], "programmeId": programme, "ceilingCase": "STANDARD", "eligibleCost": eligible, "euContribution": eu, "reference": format!("REF-{i}") } })).await,
            &["createAllocation", "allocation", "id"],
        )
        .await;
        allocations.push(a);
    }
    // Award the first two; the third stays REQUESTED.
    for a in &allocations[..2] {
        app.ok(
            status,
            json!({ "input": { "id": a, "status": "AWARDED", "decisionDate": "2024-03-01" } }),
        )
        .await;
    }
    let data = app.ok(pay, json!({ "input": { "allocationId": allocations[0], "kind": "PRE_FINANCING", "amount": "300", "paidOn": "2024-03-15" } })).await;
    assert_eq!(data["recordPayment"]["allocation"]["paid"], "300.00");
    let data = app.ok(pay, json!({ "input": { "allocationId": allocations[0], "kind": "RECOVERY", "amount": "50", "paidOn": "2024-04-15" } })).await;
    assert_eq!(
        data["recordPayment"]["payment"],
        json!({ "amount": "-50.00", "kind": "RECOVERY" })
    );
    // The ledger as a connection; each entry is a node.
    let data = app
        .ok(
            "query($id: ID!) { allocation(id: $id) { paid budgets { kind } payments(first: 1) { totalCount pageInfo { hasNextPage } nodes { id kind amount paidOn reference recordedAt } } } }",
            json!({ "id": allocations[0] }),
        )
        .await;
    let a = &data["allocation"];
    assert_eq!(a["paid"], "250.00");
    assert_eq!(a["budgets"], json!([{ "kind": "ORIGINAL" }]));
    assert_eq!(a["payments"]["totalCount"], 2);
    assert_eq!(a["payments"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(a["payments"]["nodes"][0]["kind"], "PRE_FINANCING");
    let payment_id = a["payments"]["nodes"][0]["id"].clone();
    let data = app
        .ok("query($id: ID!) { node(id: $id) { __typename ... on Payment { amount allocation { reference } } } }", json!({ "id": payment_id }))
        .await;
    assert_eq!(
        data["node"],
        json!({ "__typename": "Payment", "amount": "300.00", "allocation": { "reference": "REF-0" } })
    );
    let response = app.graphql(pay, json!({ "input": { "allocationId": allocations[2], "kind": "INTERIM", "amount": "1", "paidOn": "2024-03-15" } })).await;
    assert_eq!(
        error_code(&response),
        "BAD_USER_INPUT",
        "no payment before the award"
    );

    // Utilisation and the summary.
    let data = app
        .ok("query($id: ID!) { programme(id: $id) { utilisation { envelope awarded paid remaining } } }", json!({ "id": programme }))
        .await;
    assert_eq!(
        data["programme"]["utilisation"],
        json!({ "envelope": "10000.00", "awarded": "2250.37", "paid": "250.00", "remaining": "7749.63" })
    );
    let summary = app
        .ok(
            "{ fundingSummary(groupBy: [THEME, STATUS]) { rows { keys { dimension value } allocationCount euContribution paid } totals { allocationCount eligibleCost euContribution paid } } }",
            json!({}),
        )
        .await;
    let totals = &summary["fundingSummary"]["totals"];
    assert_eq!(
        totals,
        &json!({ "allocationCount": 3, "eligibleCost": "7000.50", "euContribution": "5250.37", "paid": "250.00" })
    );
    let rows = summary["fundingSummary"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows.iter()
            .map(|r| r["allocationCount"].as_i64().unwrap_or(0))
            .sum::<i64>(),
        3
    );

    // Every grouping (each joins only the tables its keys come from) and none: the same totals,
    // rows that add up to them, and the keys of this data.
    for (group_by, keys) in [
        ("[]", json!([[]])),
        ("[STREAM]", json!([["AMIF"]])),
        ("[PROGRAMME]", json!([["2021ES65AMPR001"]])),
        ("[COUNTRY, REGION]", json!([["ES", "ES52"]])),
        ("[ACTOR_KIND]", json!([["NGO"]])),
        (
            "[STREAM, ACTOR_KIND, COUNTRY]",
            json!([["AMIF", "NGO", "ES"]]),
        ),
        ("[THEME]", json!([["HOUSING"], ["HOUSING,EMPLOYMENT"]])),
    ] {
        let data = app
            .ok(
                &format!("{{ fundingSummary(groupBy: {group_by}) {{ rows {{ keys {{ value }} allocationCount euContribution paid }} totals {{ allocationCount eligibleCost euContribution paid }} }} }}"),
                json!({}),
            )
            .await;
        let summary = &data["fundingSummary"];
        assert_eq!(&summary["totals"], totals, "{group_by}");
        let rows = summary["rows"].as_array().expect("rows");
        let row_keys: Vec<Vec<Value>> = rows
            .iter()
            .map(|r| {
                r["keys"]
                    .as_array()
                    .expect("keys")
                    .iter()
                    .map(|k| k["value"].clone())
                    .collect()
            })
            .collect();
        assert_eq!(json!(row_keys), keys, "{group_by}");
        let count: i64 = rows
            .iter()
            .map(|r| r["allocationCount"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(count, 3, "{group_by}");
    }

    // A partner's funding, as lead.
    let data = app
        .ok("query($id: ID!) { actor(id: $id) { fundingReceived { asLead { allocationCount euContribution } } } }", json!({ "id": ngo }))
        .await;
    assert_eq!(
        data["actor"]["fundingReceived"]["asLead"],
        json!({ "allocationCount": 2, "euContribution": "2250.37" })
    );

    // The CSV export, parsed back: the same rows and sums as the summary.
    let response = app
        .client
        .get(app.url("/export/allocations.csv"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .expect("csv");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"allocations.csv\""
    );
    let text = response.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(records.len(), 3);
    let sum = |name: &str| -> rust_decimal::Decimal {
        records
            .iter()
            .map(|r| {
                r[column(name)]
                    .parse::<rust_decimal::Decimal>()
                    .expect("decimal")
            })
            .sum()
    };
    assert_eq!(sum("eu_contribution").to_string(), "5250.37");
    assert_eq!(sum("eligible_cost").to_string(), "7000.50");
    assert_eq!(sum("paid").to_string(), "250.00");
    assert!(
        records
            .iter()
            .any(|r| &r[column("partnership_title")] == "Jobs, and homes"),
        "quoted commas survive"
    );
    assert!(
        records
            .iter()
            .all(|r| &r[column("region")] == "ES52" && &r[column("stream")] == "AMIF")
    );
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r.get(column("id")).unwrap_or(""))
        .collect();
    assert_eq!(
        ids,
        allocations.iter().map(String::as_str).collect::<Vec<_>>(),
        "in creation order, API ids"
    );

    // The same filters as the query: awarded only.
    let response = app
        .client
        .get(app.url("/export/allocations.jsonl?statuses=AWARDED&years=2024"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .expect("jsonl");
    let lines: Vec<Value> = response
        .text()
        .await
        .expect("body")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["status"], "AWARDED");
    assert_eq!(lines[0]["decision_date"], "2024-03-01");
    // A bad filter is a 400 naming it; no token is a 401.
    let response = app
        .client
        .get(app.url("/export/allocations.csv?statuses=PAID"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .expect("bad");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["field"], "statuses");
    let response = app
        .client
        .get(app.url("/export/allocations.csv"))
        .send()
        .await
        .expect("anonymous");
    assert_eq!(response.status(), 401);

    // Partnerships with members and roles; a DRAFT stays hidden from an outsider.
    let outsider = id_of(
        &app.ok(
            actor,
            json!({ "input": { "kind": "MUNICIPALITY", "name": "Calp", "country": "ES" } }),
        )
        .await,
        &["createActor", "actor", "id"],
    )
    .await;
    let fetch = |token: String| {
        let client = app.client.clone();
        let url = app.url("/export/partnerships.jsonl");
        async move {
            let text = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("get")
                .text()
                .await
                .expect("body");
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).expect("line"))
                .collect::<Vec<_>>()
        }
    };
    let all = fetch(app.admin_token.clone()).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["members"][0]["roles"], json!(["LEAD"]));
    assert_eq!(all[0]["members"][0]["name"], "Caritas, \"Valencia\"");
    assert!(
        fetch(token("city", Some(&outsider))).await.is_empty(),
        "both partnerships are DRAFTs"
    );
}
