//! `registry import` on SQLite and PostgreSQL: a JSON Lines file and CSV files load actors,
//! partnerships, memberships and allocations that the API then serves; an invalid line rolls
//! the whole file back with an error naming its line and field; `--skip-invalid` keeps the
//! valid lines; the import is audited as one event.

use std::path::PathBuf;
use std::sync::Arc;

use api::import::{Format, Options, Progress, RecordType, run};
use e2e::{TestApp, on_both_databases};
use serde_json::{Value, json};

on_both_databases!(
    a_jsonl_file_loads_every_record_type_and_the_api_serves_it,
    an_invalid_line_rolls_the_whole_file_back_and_names_line_and_field,
    rules_across_lines_and_stored_rows_are_checked,
    skip_invalid_keeps_the_valid_lines_and_reports_the_others,
    csv_files_load_one_record_type_each,
    files_larger_than_a_batch_are_still_whole_or_nothing,
);

/// A file in a fresh temporary directory, removed with it.
struct TempFile {
    _dir: tempdir::Dir,
    path: PathBuf,
}

mod tempdir {
    /// A directory under the system's temporary directory, removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn file(name: &str, content: &str) -> TempFile {
    let dir = std::env::temp_dir().join(format!("registry-import-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write");
    TempFile {
        _dir: tempdir::Dir(dir),
        path,
    }
}

fn jsonl(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect::<String>()
}

async fn import(
    app: &TestApp,
    f: &TempFile,
    format: Format,
    record_type: Option<RecordType>,
    skip_invalid: bool,
) -> Result<api::import::Report, String> {
    let options = Options {
        format,
        record_type,
        skip_invalid,
    };
    run(&app.db, &f.path, &options, Arc::new(Progress::default()))
        .await
        .map_err(|e| e.to_string())
}

/// An AMIF programme `IMPAMIF1` managed by a national authority.
async fn programme(app: &TestApp) {
    let amif = app
        .ok(r#"{ fundingStream(code: "AMIF") { id } }"#, json!({}))
        .await["fundingStream"]["id"]
        .clone();
    let authority = app
        .ok(
            "mutation($input: CreateActorInput!) { createActor(input: $input) { actor { id } } }",
            json!({ "input": { "kind": "NATIONAL_AUTHORITY", "name": "Ministerio", "country": "ES" } }),
        )
        .await["createActor"]["actor"]["id"]
        .clone();
    app.ok(
        "mutation($input: CreateProgrammeInput!) { createProgramme(input: $input) { programme { id } } }",
        json!({ "input": { "streamId": amif, "code": "IMPAMIF1", "title": "AMIF Spain",
            "managingAuthorityId": authority, "country": "ES", "envelope": "1000000.00" } }),
    )
    .await;
}

fn country_file() -> Vec<Value> {
    vec![
        json!({ "type": "actor", "ref": "valencia", "kind": "REGION", "name": "Comunitat Valenciana", "country": "ES", "nutsCode": "ES52", "nutsVersion": 2021 }),
        json!({ "type": "actor", "ref": "calp", "kind": "MUNICIPALITY", "name": "Calp", "country": "ES", "parentRef": "valencia", "population": 22000 }),
        json!({ "type": "actor", "ref": "accem", "kind": "NGO", "name": "Accem Alicante", "country": "ES", "pic": "999999999" }),
        json!({ "type": "partnership", "ref": "welcome", "title": "Calp welcomes", "kind": "MULTISTAKEHOLDER_PLATFORM",
                "themes": ["HOUSING", "EMPLOYMENT"], "startDate": "2024-03-01", "leadActorRef": "calp", "status": "ACTIVE" }),
        json!({ "type": "membership", "partnershipRef": "welcome", "actorRef": "accem", "roles": ["PARTNER"], "joinedOn": "2024-04-01" }),
        json!({ "type": "allocation", "partnershipRef": "welcome", "programmeCode": "IMPAMIF1", "ceilingCase": "STANDARD",
                "eligibleCost": "200000.00", "euContribution": "150000.00", "reference": "IMP-2024-001" }),
        json!({ "type": "allocation", "partnershipRef": "welcome", "programmeCode": "IMPAMIF1", "ceilingCase": "STANDARD",
                "eligibleCost": "1000.10", "euContribution": "750.07", "nationalContribution": "250.03" }),
    ]
}

async fn a_jsonl_file_loads_every_record_type_and_the_api_serves_it(app: &TestApp) {
    programme(app).await;
    let events_before = app.count_rows("audit_event").await;
    let f = file("spain.jsonl", &jsonl(&country_file()));
    let report = import(app, &f, Format::Jsonl, None, false)
        .await
        .expect("imported");
    assert_eq!(
        (
            report.counts.actors,
            report.counts.partnerships,
            report.counts.memberships,
            report.counts.allocations
        ),
        (3, 1, 2, 2)
    );
    assert!(report.skipped.is_empty());

    let data = app
        .ok(
            r#"{ partnerships(filter: { titleContains: "Calp welcomes" }) { nodes {
                title status themes startDate
                members { nodes { roles joinedOn actor { name kind population parent { name } } } }
                allocations { nodes { eligibleCost euContribution nationalContribution status reference
                                      budgets { kind euContribution } } } } } }"#,
            json!({}),
        )
        .await;
    let p = &data["partnerships"]["nodes"][0];
    assert_eq!(p["status"], "ACTIVE");
    assert_eq!(p["themes"], json!(["HOUSING", "EMPLOYMENT"]));
    assert_eq!(p["startDate"], "2024-03-01");
    let members = p["members"]["nodes"].as_array().expect("members");
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["roles"], json!(["LEAD"]));
    assert_eq!(members[0]["joinedOn"], "2024-03-01");
    assert_eq!(members[0]["actor"]["name"], "Calp");
    assert_eq!(members[0]["actor"]["population"], 22000);
    assert_eq!(
        members[0]["actor"]["parent"]["name"],
        "Comunitat Valenciana"
    );
    assert_eq!(members[1]["roles"], json!(["PARTNER"]));
    assert_eq!(members[1]["actor"]["name"], "Accem Alicante");
    let allocations = p["allocations"]["nodes"].as_array().expect("allocations");
    assert_eq!(allocations[0]["euContribution"], "150000.00");
    assert_eq!(allocations[0]["status"], "REQUESTED");
    assert_eq!(allocations[0]["reference"], "IMP-2024-001");
    assert_eq!(
        allocations[0]["budgets"],
        json!([{ "kind": "ORIGINAL", "euContribution": "150000.00" }])
    );
    assert_eq!(allocations[1]["eligibleCost"], "1000.10");
    assert_eq!(allocations[1]["nationalContribution"], "250.03");

    // One audit event for the whole import, naming the file, its digest and the counts.
    assert_eq!(app.count_rows("audit_event").await, events_before + 1);
    let data = app
        .ok(
            r#"{ auditEvents(filter: { entityType: "Import" }) { edges { node { operation after } } } }"#,
            json!({}),
        )
        .await;
    let event = &data["auditEvents"]["edges"][0]["node"];
    let after: Value = match &event["after"] {
        Value::String(s) => serde_json::from_str(s).expect("json"),
        other => other.clone(),
    };
    assert_eq!(after["file"], "spain.jsonl");
    assert_eq!(after["format"], "jsonl");
    assert_eq!(after["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(
        after["counts"],
        json!({ "actors": 3, "partnerships": 1, "memberships": 2, "allocations": 2 })
    );
    let chain = app.ok("{ verifyAuditChain { valid } }", json!({})).await;
    assert_eq!(chain["verifyAuditChain"]["valid"], true);
}

async fn an_invalid_line_rolls_the_whole_file_back_and_names_line_and_field(app: &TestApp) {
    programme(app).await;
    let before = app.all_counts().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "type": "allocation", "partnershipRef": "welcome", "programmeCode": "IMPAMIF1", "ceilingCase": "STANDARD",
                    "eligibleCost": "1000.00", "euContribution": "900.00" }),
            "line 8: euContribution: ",
        ),
        (
            json!({ "type": "actor", "kind": "NGO", "name": "X", "country": "XX" }),
            "line 8: country: ",
        ),
        (
            json!({ "type": "actor", "kind": "CHARITY", "name": "X", "country": "ES" }),
            "line 8: kind: ",
        ),
        (
            json!({ "type": "actor", "kind": "NGO", "country": "ES" }),
            "line 8: name: is required",
        ),
        (
            json!({ "type": "actor", "kind": "NGO", "name": "X", "country": "ES", "colour": "red" }),
            "line 8: colour: is not a field",
        ),
        (
            json!({ "type": "membership", "partnershipRef": "nowhere", "actorRef": "accem", "roles": ["PARTNER"] }),
            "line 8: partnershipRef: \"nowhere\" is not the ref of an earlier partnership line",
        ),
        (
            json!({ "type": "membership", "partnershipRef": "welcome", "actorRef": "accem", "roles": ["PARTNER"] }),
            "line 8: actorId: the actor is already a member",
        ),
        (
            json!({ "type": "allocation", "partnershipRef": "welcome", "programmeCode": "NOPE", "ceilingCase": "STANDARD",
                    "eligibleCost": "1000.00", "euContribution": "10.00" }),
            "line 8: programmeCode: refers to no programme",
        ),
        (
            json!({ "type": "allocation", "partnershipRef": "welcome", "programmeCode": "IMPAMIF1", "ceilingCase": "STANDARD",
                    "eligibleCost": "1000.00", "euContribution": "10.00", "reference": "IMP-2024-001" }),
            "line 8: reference: another allocation of this stream already has this reference",
        ),
        (
            json!({ "type": "actor", "kind": "NGO", "name": "Twin", "country": "ES", "pic": "999999999" }),
            "line 8: pic: another actor already has this value",
        ),
        (
            json!({ "type": "grant", "amount": 1 }),
            "line 8: type: must be actor, partnership, membership or allocation",
        ),
        (
            json!({ "type": "partnership", "title": "X", "kind": "MULTISTAKEHOLDER_PLATFORM",
                    "startDate": "2024-01-01", "endDate": "someday", "leadActorRef": "calp" }),
            "line 8: endDate: must be a date (YYYY-MM-DD)",
        ),
        (
            json!({ "type": "partnership", "title": "X", "kind": "BOOK_CLUB",
                    "startDate": "2024-01-01", "leadActorRef": "calp" }),
            "line 8: kind: ",
        ),
        (
            json!({ "type": "partnership", "title": "", "kind": "MULTISTAKEHOLDER_PLATFORM",
                    "startDate": "2024-01-01", "leadActorRef": "calp" }),
            "line 8: title: ",
        ),
        (
            json!({ "type": "partnership", "title": "X", "kind": "MULTISTAKEHOLDER_PLATFORM",
                    "startDate": "2024-05-01", "endDate": "2024-01-01", "leadActorRef": "calp" }),
            "line 8: endDate: ",
        ),
        (
            json!({ "type": "partnership", "title": "X", "kind": "MULTISTAKEHOLDER_PLATFORM",
                    "themes": ["HOUSING", "HOUSING"], "startDate": "2024-01-01", "leadActorRef": "calp" }),
            "line 8: themes: ",
        ),
        (
            json!({ "type": "partnership", "title": "X", "kind": "MULTISTAKEHOLDER_PLATFORM",
                    "startDate": "2024-01-01" }),
            "line 8: leadActorId: is required (or leadActorRef)",
        ),
    ];
    for (bad, expected) in cases {
        let mut lines = country_file();
        lines.push(bad);
        let f = file("bad.jsonl", &jsonl(&lines));
        let error = import(app, &f, Format::Jsonl, None, false)
            .await
            .expect_err("refused");
        assert!(
            error.starts_with(expected),
            "expected {expected:?}, got {error:?}"
        );
        assert_eq!(app.all_counts().await, before, "nothing written: {error}");
    }
    // A line that is not JSON.
    let f = file("broken.jsonl", "{\"type\": \"actor\",\n");
    let error = import(app, &f, Format::Jsonl, None, false)
        .await
        .expect_err("refused");
    assert!(error.starts_with("line 1: is not valid JSON"), "{error}");
    assert_eq!(app.all_counts().await, before);
}

async fn rules_across_lines_and_stored_rows_are_checked(app: &TestApp) {
    programme(app).await;
    let before = app.all_counts().await;
    // An ACTIVE mentoring partnership needs a mentor and a mentee besides its LEAD: checked
    // once the whole file is read, blamed on the partnership's line.
    let lines = vec![
        json!({ "type": "actor", "ref": "a", "kind": "MUNICIPALITY", "name": "Mentor town", "country": "IT" }),
        json!({ "type": "partnership", "title": "Mentoring", "kind": "CITY_TO_CITY_MENTORING",
                "startDate": "2024-01-01", "leadActorRef": "a", "status": "ACTIVE" }),
    ];
    let f = file("mentoring.jsonl", &jsonl(&lines));
    let error = import(app, &f, Format::Jsonl, None, false)
        .await
        .expect_err("refused");
    assert!(error.starts_with("line 2: "), "{error}");
    assert_eq!(app.all_counts().await, before);

    // The same file in DRAFT is fine; a later file adds members to the stored partnership
    // by its API id, and a duplicate reference across files is refused.
    let lines = vec![
        json!({ "type": "actor", "ref": "a", "kind": "MUNICIPALITY", "name": "Mentor town", "country": "IT" }),
        json!({ "type": "partnership", "title": "Mentoring", "kind": "CITY_TO_CITY_MENTORING",
                "startDate": "2024-01-01", "leadActorRef": "a" }),
    ];
    let f = file("draft.jsonl", &jsonl(&lines));
    import(app, &f, Format::Jsonl, None, false)
        .await
        .expect("imported");
    let data = app
        .ok(
            r#"{ partnerships(filter: { titleContains: "Mentoring" }) { nodes { id status } } }"#,
            json!({}),
        )
        .await;
    let id = data["partnerships"]["nodes"][0]["id"].clone();
    assert_eq!(data["partnerships"]["nodes"][0]["status"], "DRAFT");
    let lines = vec![
        json!({ "type": "actor", "ref": "b", "kind": "MUNICIPALITY", "name": "Mentee town", "country": "IT" }),
        json!({ "type": "membership", "partnershipId": id, "actorRef": "b", "roles": ["MENTEE"], "joinedOn": "2024-02-01" }),
        json!({ "type": "allocation", "partnershipId": id, "programmeCode": "IMPAMIF1", "ceilingCase": "STANDARD",
                "eligibleCost": "10.00", "euContribution": "5.00", "reference": "R-1" }),
    ];
    let f = file("more.jsonl", &jsonl(&lines));
    import(app, &f, Format::Jsonl, None, false)
        .await
        .expect("imported");
    let f = file("again.jsonl", &jsonl(&lines[2..]));
    let error = import(app, &f, Format::Jsonl, None, false)
        .await
        .expect_err("refused");
    assert_eq!(
        error,
        "line 1: reference: another allocation of this stream already has this reference"
    );
    let data = app
        .ok(
            r#"query($id: ID!) { partnership(id: $id) { members { nodes { roles actor { name } } } allocations { totalCount } } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data["partnership"]["members"]["nodes"],
        json!([
            { "roles": ["LEAD"], "actor": { "name": "Mentor town" } },
            { "roles": ["MENTEE"], "actor": { "name": "Mentee town" } },
        ])
    );
    assert_eq!(data["partnership"]["allocations"]["totalCount"], 1);
}

async fn skip_invalid_keeps_the_valid_lines_and_reports_the_others(app: &TestApp) {
    programme(app).await;
    let mut lines = country_file();
    lines.insert(
        1,
        json!({ "type": "actor", "ref": "bad", "kind": "NGO", "name": "", "country": "ES" }),
    );
    lines.push(json!({ "type": "membership", "partnershipRef": "welcome", "actorRef": "bad", "roles": ["PARTNER"] }));
    let f = file("partly.jsonl", &jsonl(&lines));
    let report = import(app, &f, Format::Jsonl, None, true)
        .await
        .expect("imported");
    assert_eq!(report.counts.actors, 3);
    assert_eq!(report.counts.allocations, 2);
    assert_eq!(report.skipped.len(), 2, "{:?}", report.skipped);
    assert!(
        report.skipped[0].starts_with("line 2: name: "),
        "{:?}",
        report.skipped
    );
    assert_eq!(
        report.skipped[1],
        "line 9: actorRef: \"bad\" is the ref of a line that was not imported"
    );
    assert_eq!(
        app.count_rows("actor").await,
        4,
        "3 imported + the authority"
    );
}

async fn csv_files_load_one_record_type_each(app: &TestApp) {
    programme(app).await;
    let actors = "kind,name,country,nutsCode,nutsVersion,population,parentId\n\
                  REGION,Lazio,IT,ITI4,2021,,\n\
                  NGO,\"Centro Astalli, Roma\",IT,,,,\n";
    let f = file("actors.csv", actors);
    let report = import(app, &f, Format::Csv, Some(RecordType::Actor), false)
        .await
        .expect("imported");
    assert_eq!(report.counts.actors, 2);
    let data = app
        .ok(
            r#"{ actors(filter: { countries: ["IT"] }) { nodes { id name kind nutsCode } } }"#,
            json!({}),
        )
        .await;
    let nodes = data["actors"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes[0]["name"], "Centro Astalli, Roma");
    assert_eq!(nodes[1]["nutsCode"], "ITI4");
    let astalli = nodes[0]["id"].as_str().expect("id");
    let lazio = nodes[1]["id"].as_str().expect("id");

    let partnerships = format!(
        "title,kind,themes,startDate,leadActorId,leadRoles\n\
         Roma accoglie,REGIONAL_SPONSORSHIP_PROGRAMME,HOUSING;RECEPTION,2023-05-01,{lazio},FUNDING\n"
    );
    let f = file("partnerships.csv", &partnerships);
    import(app, &f, Format::Csv, Some(RecordType::Partnership), false)
        .await
        .expect("imported");
    let data = app
        .ok(
            r#"{ partnerships(filter: { titleContains: "Roma" }) { nodes { id themes members { nodes { roles } } } } }"#,
            json!({}),
        )
        .await;
    let p = &data["partnerships"]["nodes"][0];
    assert_eq!(p["themes"], json!(["HOUSING", "RECEPTION"]));
    assert_eq!(
        p["members"]["nodes"][0]["roles"],
        json!(["LEAD", "FUNDING"])
    );
    let pid = p["id"].as_str().expect("id");

    let members =
        format!("partnershipId,actorId,roles,joinedOn\n{pid},{astalli},PARTNER,2023-06-01\n");
    let f = file("members.csv", &members);
    import(app, &f, Format::Csv, Some(RecordType::Membership), false)
        .await
        .expect("imported");
    let allocations = format!(
        "partnershipId,programmeCode,ceilingCase,eligibleCost,euContribution,reference\n\
         {pid},IMPAMIF1,STANDARD,5000.00,3750.00,CSV-1\n\
         {pid},IMPAMIF1,STANDARD,abc,1.00,CSV-2\n"
    );
    let f = file("allocations.csv", &allocations);
    let error = import(app, &f, Format::Csv, Some(RecordType::Allocation), false)
        .await
        .expect_err("refused");
    assert!(error.starts_with("line 3: eligibleCost: "), "{error}");
    let f = file(
        "allocations.csv",
        &allocations.lines().take(2).collect::<Vec<_>>().join("\n"),
    );
    import(app, &f, Format::Csv, Some(RecordType::Allocation), false)
        .await
        .expect("imported");
    assert_eq!(app.count_rows("allocation").await, 1);
    assert_eq!(app.count_rows("membership").await, 2);

    // An invalid line of each other record type, in CSV: the line (counting the header) and
    // the field, and nothing written.
    let before = app.all_counts().await;
    let bad_csv = [
        (
            RecordType::Actor,
            "kind,name,country\nNGO,Fine,IT\nNGO,Bad,XX\n".to_owned(),
            "line 3: country: ",
        ),
        (
            RecordType::Partnership,
            format!(
                "title,kind,themes,startDate,leadActorId,leadRoles\n\
                 Fine,REGIONAL_SPONSORSHIP_PROGRAMME,HOUSING,2023-05-01,{lazio},FUNDING\n\
                 Bad,REGIONAL_SPONSORSHIP_PROGRAMME,HOUSING,2023-13-01,{lazio},FUNDING\n"
            ),
            "line 3: startDate: must be a date (YYYY-MM-DD)",
        ),
        (
            RecordType::Membership,
            format!("partnershipId,actorId,roles,joinedOn\n{pid},{lazio},ACROBAT,2023-06-01\n"),
            "line 2: roles: Enumeration type does not contain value \"ACROBAT\".",
        ),
    ];
    for (record_type, content, expected) in bad_csv {
        let f = file("bad.csv", &content);
        let error = import(app, &f, Format::Csv, Some(record_type), false)
            .await
            .expect_err("refused");
        assert!(
            error.starts_with(expected),
            "expected {expected:?}, got {error:?}"
        );
        assert_eq!(app.all_counts().await, before, "nothing written: {error}");
    }

    // CSV needs the record type.
    let error = import(app, &f, Format::Csv, None, false)
        .await
        .expect_err("refused");
    assert!(error.contains("--type is required"), "{error}");
}

/// The import writes 1,000 rows a statement as it reads: a file of several batches whose
/// last line is invalid still writes nothing, and one without it writes every row.
async fn files_larger_than_a_batch_are_still_whole_or_nothing(app: &TestApp) {
    let before = app.all_counts().await;
    let line = |i: usize| json!({ "type": "actor", "kind": "NGO", "name": format!("Bulk NGO {i:04}"), "country": "ES" });
    let mut lines: Vec<Value> = (0..2_500).map(line).collect();
    lines.push(json!({ "type": "actor", "kind": "NGO", "name": "Last", "country": "XX" }));
    let f = file("bulk.jsonl", &jsonl(&lines));
    let error = import(app, &f, Format::Jsonl, None, false)
        .await
        .expect_err("refused");
    assert!(error.starts_with("line 2501: country: "), "{error}");
    assert_eq!(
        app.all_counts().await,
        before,
        "two batches written, then rolled back"
    );

    let report = import(app, &f, Format::Jsonl, None, true)
        .await
        .expect("imported");
    assert_eq!(report.counts.actors, 2_500);
    assert_eq!(report.skipped.len(), 1);
    let data = app
        .ok(
            r#"{ actors(filter: { nameContains: "Bulk NGO" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["actors"]["totalCount"], 2_500);
}
