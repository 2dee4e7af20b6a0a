//! End to end over HTTP, on SQLite and on PostgreSQL: register actors, partnerships, members
//! and allocations; read them back through nested queries, filters and pages; every bad input
//! gets its documented error and changes nothing; data survives a restart.

use e2e::{TestApp, error_code, error_field, on_both_databases, token};
use serde_json::{Value, json};

on_both_databases!(
    registers_and_reads_back_through_nested_queries,
    filters_and_keyset_pages_agree_with_total_count,
    bad_input_gets_its_documented_error_and_changes_nothing,
    lifecycle_rules_are_enforced_over_http,
    health_graphiql_and_request_ids,
    demo_data_loads_once,
    internal_errors_never_show_database_text,
    nested_pages_cost_the_same_statements_at_any_size,
    nested_lists_of_actors_streams_and_programmes_are_batched,
    in_place_fields_answer_as_async_graphql_does,
    member_actors_from_their_brief_answer_as_whole_actors,
    budgets_payments_and_managers_are_batched,
    histories_totals_and_utilisation_are_batched,
    root_fields_answer_in_the_documents_order,
);

const CREATE_ACTOR: &str = r#"
mutation($input: CreateActorInput!) {
  createActor(input: $input) { actor { id name kind country nutsCode nutsVersion population isSmallerCommunity parent { id name } } }
}"#;

const CREATE_PARTNERSHIP: &str = r#"
mutation($input: CreatePartnershipInput!) {
  createPartnership(input: $input) { partnership { id title status themes governanceLevels startDate endDate kind } }
}"#;

const ADD_MEMBER: &str = r#"
mutation($input: AddMemberInput!) {
  addMember(input: $input) { membership { id roles joinedOn leftOn isCurrent actor { name } } }
}"#;

const CHANGE_STATUS: &str = r#"
mutation($input: ChangePartnershipStatusInput!) {
  changePartnershipStatus(input: $input) { partnership { id status } }
}"#;

const CREATE_ALLOCATION: &str = r#"
mutation($input: CreateAllocationInput!) {
  createAllocation(input: $input) { allocation { id eligibleCost euContribution coFinancingRate status reference ceilingRule { case maxRate } stream { code } } }
}"#;

async fn create_actor(app: &TestApp, input: Value) -> String {
    let data = app.ok(CREATE_ACTOR, json!({ "input": input })).await;
    data["createActor"]["actor"]["id"]
        .as_str()
        .expect("actor id")
        .to_owned()
}

async fn create_partnership(app: &TestApp, input: Value) -> String {
    let data = app.ok(CREATE_PARTNERSHIP, json!({ "input": input })).await;
    data["createPartnership"]["partnership"]["id"]
        .as_str()
        .expect("partnership id")
        .to_owned()
}

async fn add_member(app: &TestApp, partnership: &str, actor: &str, roles: Value) -> String {
    let data = app
        .ok(
            ADD_MEMBER,
            json!({ "input": { "partnershipId": partnership, "actorId": actor, "roles": roles, "joinedOn": "2021-01-01" } }),
        )
        .await;
    data["addMember"]["membership"]["id"]
        .as_str()
        .expect("membership id")
        .to_owned()
}

/// A new programme of the stream `code`, with an envelope of EUR 100 million.
async fn programme_for(app: &TestApp, code: &str) -> String {
    let stream = stream_id(app, code).await;
    let authority = create_actor(
        app,
        json!({ "kind": "NATIONAL_AUTHORITY", "name": format!("{code} managing authority"), "country": "ES" }),
    )
    .await;
    let suffix = uuid::Uuid::now_v7().simple().to_string()[24..].to_uppercase();
    let data = app
        .ok(
            "mutation($input: CreateProgrammeInput!) { createProgramme(input: $input) { programme { id } } }",
            json!({ "input": { "streamId": stream, "code": format!("2021ES{suffix}"), "title": format!("{code} Spain"),
                    "managingAuthorityId": authority, "country": "ES", "envelope": "100000000" } }),
        )
        .await;
    data["createProgramme"]["programme"]["id"]
        .as_str()
        .expect("programme id")
        .to_owned()
}

async fn stream_id(app: &TestApp, code: &str) -> String {
    let data = app
        .ok(
            "query($code: String!) { fundingStream(code: $code) { id } }",
            json!({ "code": code }),
        )
        .await;
    data["fundingStream"]["id"]
        .as_str()
        .expect("stream id")
        .to_owned()
}

/// Navarre, Tudela and a sponsorship programme with an AMIF allocation.
struct Somos {
    navarre: String,
    tudela: String,
    ngo: String,
    partnership: String,
    allocation: String,
}

async fn somos(app: &TestApp) -> Somos {
    let navarre = create_actor(
        app,
        json!({ "kind": "REGION", "name": "Government of Navarre", "country": "ES", "nutsCode": "ES22", "nutsVersion": 2021 }),
    )
    .await;
    let tudela = create_actor(
        app,
        json!({ "kind": "MUNICIPALITY", "name": "Tudela", "country": "ES", "population": 37000, "parentId": navarre }),
    )
    .await;
    let ngo = create_actor(
        app,
        json!({ "kind": "NGO", "name": "Fundacion San Francisco Javier - Centro Padre Lasa", "country": "ES",
                "website": "https://example.org/padre-lasa", "email": "info@example.org" }),
    )
    .await;
    let partnership = create_partnership(
        app,
        json!({ "title": "SOMOS", "kind": "REGIONAL_SPONSORSHIP_PROGRAMME", "themes": ["COMMUNITY_SPONSORSHIP", "HOUSING"],
                "governanceLevels": ["LOCAL", "REGIONAL"], "startDate": "2021-01-01", "leadActorId": navarre }),
    )
    .await;
    add_member(app, &partnership, &ngo, json!(["PARTNER", "IMPLEMENTING"])).await;
    add_member(app, &partnership, &tudela, json!(["PARTNER"])).await;
    let amif = programme_for(app, "AMIF").await;
    let data = app
        .ok(
            CREATE_ALLOCATION,
            json!({ "input": { "partnershipId": partnership, "programmeId": amif, "ceilingCase": "STANDARD",
                    "eligibleCost": "400000.00", "euContribution": "300000", "reference": "QSN+-2021-07" } }),
        )
        .await;
    let allocation = data["createAllocation"]["allocation"]["id"]
        .as_str()
        .expect("allocation id")
        .to_owned();
    Somos {
        navarre,
        tudela,
        ngo,
        partnership,
        allocation,
    }
}

async fn registers_and_reads_back_through_nested_queries(app: &TestApp) {
    let s = somos(app).await;
    let data = app
        .ok(
            r#"query($id: ID!) {
              partnership(id: $id) {
                title status themes governanceLevels startDate endDate
                members { totalCount edges { node { roles isCurrent actor { name kind isSmallerCommunity partnerships { totalCount nodes { title } } } } } }
                allocations { totalCount nodes { eligibleCost euContribution coFinancingRate status reference
                  stream { code name legalBasis } ceilingRule { case maxRate legalReference verified } } }
              }
            }"#,
            json!({ "id": s.partnership }),
        )
        .await;
    let p = &data["partnership"];
    assert_eq!(p["title"], "SOMOS");
    assert_eq!(p["status"], "DRAFT");
    assert_eq!(p["themes"], json!(["HOUSING", "COMMUNITY_SPONSORSHIP"]));
    assert_eq!(p["governanceLevels"], json!(["LOCAL", "REGIONAL"]));
    assert_eq!(p["startDate"], "2021-01-01");
    assert_eq!(p["endDate"], Value::Null);
    assert_eq!(p["members"]["totalCount"], 3);
    let members: Vec<(String, Value)> = p["members"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            (
                e["node"]["actor"]["name"].as_str().unwrap_or("").to_owned(),
                e["node"]["roles"].clone(),
            )
        })
        .collect();
    assert_eq!(
        members,
        [
            ("Government of Navarre".to_owned(), json!(["LEAD"])),
            (
                "Fundacion San Francisco Javier - Centro Padre Lasa".to_owned(),
                json!(["PARTNER", "IMPLEMENTING"])
            ),
            ("Tudela".to_owned(), json!(["PARTNER"])),
        ]
    );
    let tudela = &p["members"]["edges"][2]["node"]["actor"];
    assert_eq!(tudela["isSmallerCommunity"], true);
    assert_eq!(tudela["partnerships"]["totalCount"], 1);
    assert_eq!(tudela["partnerships"]["nodes"][0]["title"], "SOMOS");
    let allocation = &p["allocations"]["nodes"][0];
    assert_eq!(p["allocations"]["totalCount"], 1);
    assert_eq!(allocation["eligibleCost"], "400000.00");
    assert_eq!(allocation["euContribution"], "300000.00");
    assert_eq!(allocation["coFinancingRate"], "0.7500");
    assert_eq!(allocation["status"], "REQUESTED");
    assert_eq!(allocation["reference"], "QSN+-2021-07");
    assert_eq!(allocation["stream"]["code"], "AMIF");
    assert_eq!(
        allocation["stream"]["legalBasis"],
        "Regulation (EU) 2021/1147"
    );
    assert_eq!(allocation["ceilingRule"]["case"], "STANDARD");
    assert_eq!(allocation["ceilingRule"]["maxRate"], "0.7500");
    assert_eq!(allocation["ceilingRule"]["verified"], true);

    // The other direction: actor -> parent, children, memberships -> partnership.
    let data = app
        .ok(
            r#"query($id: ID!) {
              actor(id: $id) { name nutsCode nutsVersion isSmallerCommunity
                children { totalCount nodes { name population parent { name } } }
                memberships { nodes { roles partnership { title allocations { nodes { stream { code } } } } } } }
            }"#,
            json!({ "id": s.navarre }),
        )
        .await;
    let navarre = &data["actor"];
    assert_eq!(navarre["nutsCode"], "ES22");
    assert_eq!(navarre["nutsVersion"], 2021);
    assert_eq!(navarre["isSmallerCommunity"], false);
    assert_eq!(navarre["children"]["totalCount"], 1);
    assert_eq!(navarre["children"]["nodes"][0]["name"], "Tudela");
    assert_eq!(navarre["children"]["nodes"][0]["population"], 37000);
    assert_eq!(
        navarre["children"]["nodes"][0]["parent"]["name"],
        "Government of Navarre"
    );
    assert_eq!(navarre["memberships"]["nodes"][0]["roles"], json!(["LEAD"]));
    assert_eq!(
        navarre["memberships"]["nodes"][0]["partnership"]["allocations"]["nodes"][0]["stream"]["code"],
        "AMIF"
    );

    // node and nodes resolve every type by its opaque id, in order, null for unknown ones.
    let data = app
        .ok(
            r#"query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
                 ... on Actor { name } ... on Partnership { title } ... on Allocation { euContribution } } }"#,
            json!({ "ids": [s.tudela, s.partnership, s.allocation, s.ngo] }),
        )
        .await;
    let nodes = data["nodes"].as_array().expect("nodes");
    assert_eq!(nodes[0]["name"], "Tudela");
    assert_eq!(nodes[1]["title"], "SOMOS");
    assert_eq!(nodes[2]["euContribution"], "300000.00");
    assert_eq!(nodes[3]["__typename"], "Actor");
    assert_eq!(nodes[0]["id"], s.tudela.as_str());
    assert!(
        !s.tudela.contains('-'),
        "ids are opaque, not raw UUIDs: {}",
        s.tudela
    );
    let data = app
        .ok(
            "query($id: ID!) { node(id: $id) { __typename id } }",
            json!({ "id": s.allocation }),
        )
        .await;
    assert_eq!(data["node"]["__typename"], "Allocation");

    // Streams with their seeded ceiling rules.
    let data = app
        .ok(
            "{ fundingStreams { code ceilingRules { case maxRate verified } } }",
            json!({}),
        )
        .await;
    let streams = data["fundingStreams"].as_array().expect("streams");
    let codes: Vec<&str> = streams.iter().filter_map(|s| s["code"].as_str()).collect();
    assert_eq!(codes, ["AMIF", "ERDF", "ESF_PLUS"]);
    let erdf_rules = streams[1]["ceilingRules"].as_array().expect("rules");
    assert!(
        erdf_rules
            .iter()
            .any(|r| r["case"] == "LESS_DEVELOPED_REGION"
                && r["maxRate"] == "0.8500"
                && r["verified"] == false)
    );
}

async fn filters_and_keyset_pages_agree_with_total_count(app: &TestApp) {
    let region = create_actor(
        app,
        json!({ "kind": "REGION", "name": "Comunitat Valenciana", "country": "ES", "nutsCode": "ES52", "nutsVersion": 2021 }),
    )
    .await;
    let mut towns = Vec::new();
    for name in ["Valencia", "Alaquas", "Calp", "Almassora", "Cocentaina"] {
        towns.push(create_actor(app, json!({ "kind": "MUNICIPALITY", "name": name, "country": "ES", "parentId": region })).await);
    }
    let mechelen = create_actor(
        app,
        json!({ "kind": "MUNICIPALITY", "name": "Mechelen", "country": "BE" }),
    )
    .await;

    // Page through all actors two at a time: names in order, none twice, none missed.
    let query = r#"query($after: String) { actors(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name } } } }"#;
    let mut names = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let data = app.ok(query, json!({ "after": after })).await;
        let conn = &data["actors"];
        assert_eq!(conn["totalCount"], 7);
        names.extend(
            conn["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"]["name"].as_str().unwrap_or("").to_owned()),
        );
        pages += 1;
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 4);
    assert_eq!(
        names,
        [
            "Alaquas",
            "Almassora",
            "Calp",
            "Cocentaina",
            "Comunitat Valenciana",
            "Mechelen",
            "Valencia"
        ]
    );

    let count = |filter: Value| async move {
        let data = app
            .ok(
                "query($f: ActorFilterInput) { actors(filter: $f, first: 100) { totalCount nodes { name } } }",
                json!({ "f": filter }),
            )
            .await;
        let total = data["actors"]["totalCount"].as_i64().unwrap_or(-1);
        let listed = data["actors"]["nodes"].as_array().map_or(0, Vec::len);
        assert_eq!(
            usize::try_from(total).ok(),
            Some(listed),
            "totalCount matches the list"
        );
        total
    };
    assert_eq!(count(json!({ "kinds": ["MUNICIPALITY"] })).await, 6);
    assert_eq!(
        count(json!({ "kinds": ["MUNICIPALITY"], "countries": ["BE"] })).await,
        1
    );
    assert_eq!(count(json!({ "nutsPrefix": "es5" })).await, 1);
    assert_eq!(
        count(json!({ "nameContains": "al" })).await,
        5,
        "Valencia, Alaquas, Calp, Almassora, Comunitat Valenciana"
    );
    assert_eq!(count(json!({ "parentId": region })).await, 5);

    // Partnerships: one per town with the region, plus one Belgian.
    let amif = stream_id(app, "AMIF").await;
    let amif_programme = programme_for(app, "AMIF").await;
    for (i, town) in towns.iter().enumerate() {
        let id = create_partnership(
            app,
            json!({ "title": format!("Sponsorship {i}"), "kind": "REGIONAL_SPONSORSHIP_PROGRAMME",
                    "themes": if i % 2 == 0 { json!(["HOUSING", "EMPLOYMENT"]) } else { json!(["HEALTH"]) },
                    "startDate": format!("2021-0{}-01", i + 1), "leadActorId": town }),
        )
        .await;
        // The region in every partnership: a second Spanish member must not double-count.
        add_member(app, &id, &region, json!(["FUNDING"])).await;
        if i < 2 {
            app.ok(
                CREATE_ALLOCATION,
                json!({ "input": { "partnershipId": id, "programmeId": amif_programme, "ceilingCase": "STANDARD",
                        "eligibleCost": "1000", "euContribution": "750" } }),
            )
            .await;
            app.ok(
                CHANGE_STATUS,
                json!({ "input": { "id": id, "status": "ACTIVE" } }),
            )
            .await;
        }
    }
    create_partnership(
        app,
        json!({ "title": "Belgian platform", "kind": "MULTISTAKEHOLDER_PLATFORM", "startDate": "2020-05-01", "leadActorId": mechelen }),
    )
    .await;
    let partnerships = |filter: Value, order: Value| async move {
        let data = app
            .ok(
                "query($f: PartnershipFilterInput, $o: PartnershipOrderInput) { partnerships(filter: $f, orderBy: $o, first: 100) { totalCount nodes { title } } }",
                json!({ "f": filter, "o": order }),
            )
            .await;
        let titles: Vec<String> = data["partnerships"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["title"].as_str().unwrap_or("").to_owned())
            .collect();
        assert_eq!(
            data["partnerships"]["totalCount"].as_i64(),
            i64::try_from(titles.len()).ok(),
            "totalCount matches the list"
        );
        titles
    };
    let title_order = json!({ "field": "TITLE", "direction": "ASC" });
    assert_eq!(
        partnerships(json!({ "countries": ["ES"] }), title_order.clone()).await,
        [
            "Sponsorship 0",
            "Sponsorship 1",
            "Sponsorship 2",
            "Sponsorship 3",
            "Sponsorship 4"
        ]
    );
    assert_eq!(
        partnerships(
            json!({ "themes": ["HOUSING", "HEALTH"] }),
            title_order.clone()
        )
        .await
        .len(),
        5
    );
    assert_eq!(
        partnerships(json!({ "themes": ["EMPLOYMENT"] }), title_order.clone()).await,
        ["Sponsorship 0", "Sponsorship 2", "Sponsorship 4"]
    );
    assert_eq!(
        partnerships(
            json!({ "kinds": ["MULTISTAKEHOLDER_PLATFORM"] }),
            Value::Null
        )
        .await,
        ["Belgian platform"]
    );
    assert_eq!(
        partnerships(json!({ "statuses": ["ACTIVE"] }), title_order.clone()).await,
        ["Sponsorship 0", "Sponsorship 1"]
    );
    assert_eq!(
        partnerships(json!({ "fundingStreamId": amif }), title_order.clone()).await,
        ["Sponsorship 0", "Sponsorship 1"]
    );
    assert_eq!(
        partnerships(json!({ "memberActorId": towns[3] }), Value::Null).await,
        ["Sponsorship 3"]
    );
    assert_eq!(
        partnerships(json!({ "activeOn": "2021-03-01" }), title_order.clone()).await,
        ["Sponsorship 0", "Sponsorship 1"]
    );
    assert_eq!(
        partnerships(json!({ "activeOn": "2021-01-15" }), title_order.clone()).await,
        ["Sponsorship 0"],
        "Sponsorship 1 starts in February"
    );
    assert_eq!(
        partnerships(
            Value::Null,
            json!({ "field": "START_DATE", "direction": "DESC" })
        )
        .await,
        [
            "Sponsorship 4",
            "Sponsorship 3",
            "Sponsorship 2",
            "Sponsorship 1",
            "Sponsorship 0",
            "Belgian platform"
        ]
    );
    assert_eq!(
        partnerships(Value::Null, Value::Null).await[0],
        "Belgian platform",
        "newest first by default"
    );
}

async fn expect_refused(
    app: &TestApp,
    query: &str,
    variables: Value,
    code: &str,
    field: Option<&str>,
) -> Value {
    let before = app.all_counts().await;
    let response = app.graphql(query, variables.clone()).await;
    assert_eq!(error_code(&response), code, "{variables}: {response:#}");
    if let Some(field) = field {
        assert_eq!(error_field(&response), field, "{variables}: {response:#}");
    }
    let message = response["errors"][0]["message"].as_str().unwrap_or("");
    assert!(!message.is_empty(), "an error says what is wrong");
    assert_eq!(
        app.all_counts().await,
        before,
        "a refused request changes nothing: {variables}"
    );
    response
}

async fn bad_input_gets_its_documented_error_and_changes_nothing(app: &TestApp) {
    let s = somos(app).await;
    let amif = programme_for(app, "AMIF").await;
    let bad_actor = |patch: Value| {
        let mut input = json!({ "kind": "MUNICIPALITY", "name": "Calp", "country": "ES" });
        if let (Some(obj), Some(p)) = (input.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                obj.insert(k.clone(), v.clone());
            }
        }
        json!({ "input": input })
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            bad_actor(json!({ "country": "XX" })),
            "BAD_USER_INPUT",
            "input.country",
        ),
        (
            bad_actor(json!({ "name": "  " })),
            "BAD_USER_INPUT",
            "input.name",
        ),
        (
            bad_actor(json!({ "nutsCode": "FR10", "nutsVersion": 2021 })),
            "BAD_USER_INPUT",
            "input.nutsCode",
        ),
        (
            bad_actor(json!({ "nutsCode": "ES52" })),
            "BAD_USER_INPUT",
            "input.nutsVersion",
        ),
        (
            bad_actor(json!({ "nutsCode": "ES52", "nutsVersion": 2020 })),
            "BAD_USER_INPUT",
            "input.nutsVersion",
        ),
        (
            bad_actor(json!({ "lauCode": "48020", "lauYear": 2023 })),
            "BAD_USER_INPUT",
            "input.lauCode",
        ),
        (
            bad_actor(json!({ "kind": "NGO", "lauCode": "ES_48020", "lauYear": 2023 })),
            "BAD_USER_INPUT",
            "input.lauCode",
        ),
        (
            bad_actor(json!({ "population": -5 })),
            "BAD_USER_INPUT",
            "input.population",
        ),
        (
            bad_actor(json!({ "pic": "12345" })),
            "BAD_USER_INPUT",
            "input.pic",
        ),
        (
            bad_actor(json!({ "vatNumber": "GR094014201" })),
            "BAD_USER_INPUT",
            "input.vatNumber",
        ),
        (
            bad_actor(json!({ "wikidataId": "P31" })),
            "BAD_USER_INPUT",
            "input.wikidataId",
        ),
        (
            bad_actor(json!({ "website": "javascript:alert(1)" })),
            "BAD_USER_INPUT",
            "input.website",
        ),
        (
            bad_actor(json!({ "email": "not-an-address" })),
            "BAD_USER_INPUT",
            "input.email",
        ),
        (
            bad_actor(json!({ "parentId": "garbage" })),
            "BAD_USER_INPUT",
            "input.parentId",
        ),
        (
            bad_actor(json!({ "parentId": s.partnership })),
            "BAD_USER_INPUT",
            "input.parentId",
        ),
        (
            bad_actor(json!({ "parentId": s.ngo })),
            "BAD_USER_INPUT",
            "input.parentId",
        ),
    ];
    for (variables, code, field) in cases {
        if code.is_empty() {
            // Accepted: 300 characters that grow when lower-cased still fit.
            app.ok(CREATE_ACTOR, variables).await;
            continue;
        }
        expect_refused(app, CREATE_ACTOR, variables, code, Some(field)).await;
    }

    // A duplicate PIC is a conflict.
    create_actor(
        app,
        json!({ "kind": "NGO", "name": "ICMC Europe", "country": "BE", "pic": "999999999" }),
    )
    .await;
    expect_refused(
        app,
        CREATE_ACTOR,
        bad_actor(json!({ "pic": "999999999" })),
        "CONFLICT",
        Some("input.pic"),
    )
    .await;

    // Hierarchy cycles are refused on update.
    let update_actor =
        "mutation($input: UpdateActorInput!) { updateActor(input: $input) { actor { id } } }";
    let nuts1 = create_actor(
        app,
        json!({ "kind": "REGION", "name": "Noreste", "country": "ES" }),
    )
    .await;
    app.ok(
        update_actor,
        json!({ "input": { "id": s.navarre, "parentId": nuts1 } }),
    )
    .await;
    expect_refused(
        app,
        update_actor,
        json!({ "input": { "id": nuts1, "parentId": s.navarre } }),
        "BAD_USER_INPUT",
        Some("input.parentId"),
    )
    .await;
    expect_refused(
        app,
        update_actor,
        json!({ "input": { "id": s.tudela, "population": 2_000_000_001_i64 } }),
        "BAD_USER_INPUT",
        Some("input.population"),
    )
    .await;
    let unknown_actor = opaque_id("Actor");
    expect_refused(
        app,
        update_actor,
        json!({ "input": { "id": unknown_actor, "name": "X" } }),
        "NOT_FOUND",
        None,
    )
    .await;

    // Partnerships.
    let partnership = |patch: Value| {
        let mut input = json!({ "title": "P", "kind": "PROJECT_CONSORTIUM", "startDate": "2022-01-01", "leadActorId": s.navarre });
        if let (Some(obj), Some(p)) = (input.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                obj.insert(k.clone(), v.clone());
            }
        }
        json!({ "input": input })
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            partnership(json!({ "endDate": "2021-12-31" })),
            "BAD_USER_INPUT",
            "input.endDate",
        ),
        (
            partnership(json!({ "title": "" })),
            "BAD_USER_INPUT",
            "input.title",
        ),
        (
            partnership(json!({ "themes": ["HOUSING", "HOUSING"] })),
            "BAD_USER_INPUT",
            "input.themes",
        ),
        (
            partnership(json!({ "leadActorId": unknown_actor })),
            "BAD_USER_INPUT",
            "input.leadActorId",
        ),
        (
            partnership(json!({ "leadActorId": s.partnership })),
            "BAD_USER_INPUT",
            "input.leadActorId",
        ),
        (
            partnership(json!({ "leadRoles": ["MENTOR", "MENTEE"] })),
            "BAD_USER_INPUT",
            "input.leadRoles",
        ),
        // Values the schema's own types refuse: async-graphql names the type, we the field.
        (
            partnership(json!({ "startDate": "2024-13-01" })),
            "BAD_USER_INPUT",
            "input.startDate",
        ),
        (
            partnership(json!({ "endDate": "someday" })),
            "BAD_USER_INPUT",
            "input.endDate",
        ),
    ];
    for (variables, code, field) in cases {
        expect_refused(app, CREATE_PARTNERSHIP, variables, code, Some(field)).await;
    }
    let response = app
        .graphql(
            CREATE_PARTNERSHIP,
            partnership(json!({ "startDate": "2024-13-01" })),
        )
        .await;
    assert_eq!(
        response["errors"][0]["message"],
        "input.startDate: must be a date (YYYY-MM-DD)"
    );
    // An unknown enum value is refused by the schema itself.
    expect_refused(
        app,
        CREATE_PARTNERSHIP,
        partnership(json!({ "kind": "BOOK_CLUB" })),
        "BAD_USER_INPUT",
        Some("input.kind"),
    )
    .await;

    // Members.
    let member = |actor: &str, roles: Value| json!({ "input": { "partnershipId": s.partnership, "actorId": actor, "roles": roles } });
    expect_refused(
        app,
        ADD_MEMBER,
        member(&s.ngo, json!(["PARTNER"])),
        "CONFLICT",
        Some("input.actorId"),
    )
    .await;
    let icmc = create_actor(
        app,
        json!({ "kind": "NGO", "name": "SHARE", "country": "BE" }),
    )
    .await;
    expect_refused(
        app,
        ADD_MEMBER,
        member(&icmc, json!(["LEAD"])),
        "BAD_USER_INPUT",
        Some("input.roles"),
    )
    .await;
    expect_refused(
        app,
        ADD_MEMBER,
        member(&icmc, json!(["MENTOR", "MENTEE"])),
        "BAD_USER_INPUT",
        Some("input.roles"),
    )
    .await;
    expect_refused(
        app,
        ADD_MEMBER,
        member(&icmc, json!([])),
        "BAD_USER_INPUT",
        Some("input.roles"),
    )
    .await;

    // Allocations.
    let allocation = |patch: Value| {
        let mut input = json!({ "partnershipId": s.partnership, "programmeId": amif, "ceilingCase": "STANDARD",
                                "eligibleCost": "1000.00", "euContribution": "750.00" });
        if let (Some(obj), Some(p)) = (input.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                obj.insert(k.clone(), v.clone());
            }
        }
        json!({ "input": input })
    };
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            allocation(json!({ "euContribution": "750.01" })),
            "BAD_USER_INPUT",
            Some("input.euContribution"),
        ),
        (
            allocation(json!({ "eligibleCost": "1000.001" })),
            "BAD_USER_INPUT",
            Some("input.eligibleCost"),
        ),
        (
            allocation(json!({ "eligibleCost": "-1" })),
            "BAD_USER_INPUT",
            Some("input.eligibleCost"),
        ),
        (
            allocation(json!({ "eligibleCost": "0" , "euContribution": "0" })),
            "BAD_USER_INPUT",
            Some("input.eligibleCost"),
        ),
        // A JSON number where a decimal string belongs (async-graphql reports no field path here).
        (
            allocation(json!({ "eligibleCost": 1000.5 })),
            "BAD_USER_INPUT",
            None,
        ),
        (
            allocation(json!({ "ceilingCase": "LESS_DEVELOPED_REGION" })),
            "BAD_USER_INPUT",
            Some("input.ceilingCase"),
        ),
        (
            allocation(json!({ "ceilingCase": "standard" })),
            "BAD_USER_INPUT",
            Some("input.ceilingCase"),
        ),
        (
            allocation(json!({ "programmeId": s.ngo })),
            "BAD_USER_INPUT",
            Some("input.programmeId"),
        ),
        (
            allocation(json!({ "reference": "QSN+-2021-07" })),
            "CONFLICT",
            Some("input.reference"),
        ),
    ];
    for (variables, code, field) in cases {
        expect_refused(app, CREATE_ALLOCATION, variables, code, field).await;
    }
    let award = "mutation($input: ChangeAllocationStatusInput!) { changeAllocationStatus(input: $input) { allocation { status } } }";
    expect_refused(
        app,
        award,
        json!({ "input": { "id": s.allocation, "status": "AWARDED" } }),
        "BAD_USER_INPUT",
        Some("input.decisionDate"),
    )
    .await;

    // Queries: page bounds, cursors, ids, documents.
    expect_refused(
        app,
        "{ actors(first: 101) { totalCount } }",
        json!({}),
        "BAD_USER_INPUT",
        Some("first"),
    )
    .await;
    expect_refused(
        app,
        "{ actors(first: 0) { totalCount } }",
        json!({}),
        "BAD_USER_INPUT",
        Some("first"),
    )
    .await;
    expect_refused(
        app,
        r#"{ actors(after: "bm90LWEtY3Vyc29y") { totalCount } }"#,
        json!({}),
        "BAD_USER_INPUT",
        Some("after"),
    )
    .await;
    expect_refused(
        app,
        r#"{ actors(filter: { countries: ["QQ"] }) { totalCount } }"#,
        json!({}),
        "BAD_USER_INPUT",
        Some("filter.countries"),
    )
    .await;
    expect_refused(
        app,
        r#"{ actors(filter: { nutsPrefix: "%" }) { totalCount } }"#,
        json!({}),
        "BAD_USER_INPUT",
        Some("filter.nutsPrefix"),
    )
    .await;
    let many: Vec<String> = (0..101).map(|_| s.ngo.clone()).collect();
    expect_refused(
        app,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        json!({ "ids": many }),
        "BAD_USER_INPUT",
        Some("ids"),
    )
    .await;
    expect_refused(
        app,
        r#"{ node(id: "garbage") { id } }"#,
        json!({}),
        "BAD_USER_INPUT",
        Some("id"),
    )
    .await;
    expect_refused(
        app,
        "{ actors { totalCount ",
        json!({}),
        "GRAPHQL_PARSE_FAILED",
        None,
    )
    .await;
    expect_refused(
        app,
        "{ actors { noSuchField } }",
        json!({}),
        "GRAPHQL_VALIDATION_FAILED",
        None,
    )
    .await;

    // A well-formed id of nothing is simply null.
    let data = app
        .ok(
            "query($id: ID!) { node(id: $id) { id } actor(id: $id) { id } }",
            json!({ "id": unknown_actor }),
        )
        .await;
    assert_eq!(data, json!({ "node": null, "actor": null }));
}

/// A well-formed global id of a record that does not exist.
fn opaque_id(type_name: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{type_name}:{}", uuid::Uuid::now_v7().simple()))
}

async fn lifecycle_rules_are_enforced_over_http(app: &TestApp) {
    let cemr = create_actor(
        app,
        json!({ "kind": "NETWORK", "name": "CEMR", "country": "BE" }),
    )
    .await;
    let brussels = create_actor(
        app,
        json!({ "kind": "MUNICIPALITY", "name": "Brussels", "country": "BE" }),
    )
    .await;
    let saint_jean = create_actor(
        app,
        json!({ "kind": "MUNICIPALITY", "name": "Saint-Jean-de-la-Ruelle", "country": "FR" }),
    )
    .await;
    let pair = create_partnership(
        app,
        json!({ "title": "IncluCities: Brussels mentoring Saint-Jean-de-la-Ruelle", "kind": "CITY_TO_CITY_MENTORING",
                "startDate": "2020-01-01", "endDate": "2022-12-31", "leadActorId": cemr }),
    )
    .await;
    // Not yet a pair: cannot become ACTIVE.
    expect_refused(
        app,
        CHANGE_STATUS,
        json!({ "input": { "id": pair, "status": "ACTIVE" } }),
        "BAD_USER_INPUT",
        Some("input.roles"),
    )
    .await;
    // DRAFT cannot jump to COMPLETED.
    expect_refused(
        app,
        CHANGE_STATUS,
        json!({ "input": { "id": pair, "status": "COMPLETED" } }),
        "BAD_USER_INPUT",
        Some("input.status"),
    )
    .await;
    add_member(app, &pair, &brussels, json!(["MENTOR"])).await;
    let mentee = add_member(app, &pair, &saint_jean, json!(["MENTEE"])).await;
    let data = app
        .ok(
            CHANGE_STATUS,
            json!({ "input": { "id": pair, "status": "ACTIVE" } }),
        )
        .await;
    assert_eq!(
        data["changePartnershipStatus"]["partnership"]["status"],
        "ACTIVE"
    );

    // The only mentee cannot leave an ACTIVE mentoring partnership.
    let leave = "mutation($input: LeavePartnershipInput!) { leavePartnership(input: $input) { membership { leftOn isCurrent } } }";
    expect_refused(
        app,
        leave,
        json!({ "input": { "id": mentee, "leftOn": "2021-06-30" } }),
        "BAD_USER_INPUT",
        Some("input.leftOn"),
    )
    .await;
    // Leaving before joining is refused.
    let update_member = "mutation($input: UpdateMemberInput!) { updateMember(input: $input) { membership { roles leftOn } } }";
    expect_refused(
        app,
        update_member,
        json!({ "input": { "id": mentee, "leftOn": "2019-06-30" } }),
        "BAD_USER_INPUT",
        Some("input.leftOn"),
    )
    .await;
    let data = app
        .ok(
            update_member,
            json!({ "input": { "id": mentee, "roles": ["MENTEE", "IMPLEMENTING"] } }),
        )
        .await;
    assert_eq!(
        data["updateMember"]["membership"]["roles"],
        json!(["MENTEE", "IMPLEMENTING"])
    );

    let data = app
        .ok(
            CHANGE_STATUS,
            json!({ "input": { "id": pair, "status": "COMPLETED" } }),
        )
        .await;
    assert_eq!(
        data["changePartnershipStatus"]["partnership"]["status"],
        "COMPLETED"
    );
    // Closed: nothing changes any more.
    expect_refused(
        app,
        CHANGE_STATUS,
        json!({ "input": { "id": pair, "status": "WITHDRAWN" } }),
        "BAD_USER_INPUT",
        Some("input.status"),
    )
    .await;
    let update = "mutation($input: UpdatePartnershipInput!) { updatePartnership(input: $input) { partnership { title } } }";
    expect_refused(
        app,
        update,
        json!({ "input": { "id": pair, "title": "Renamed" } }),
        "CONFLICT",
        None,
    )
    .await;
    let late = create_actor(
        app,
        json!({ "kind": "MUNICIPALITY", "name": "Jelgava", "country": "LV" }),
    )
    .await;
    expect_refused(
        app,
        ADD_MEMBER,
        json!({ "input": { "partnershipId": pair, "actorId": late, "roles": ["PARTNER"] } }),
        "CONFLICT",
        Some("input.partnershipId"),
    )
    .await;

    // Updating details of an open partnership works, and keeps what was not sent.
    let open = create_partnership(
        app,
        json!({ "title": "Platform", "kind": "MULTISTAKEHOLDER_PLATFORM", "themes": ["HEALTH"], "startDate": "2024-01-01", "leadActorId": brussels }),
    )
    .await;
    let data = app
        .ok(
            "mutation($input: UpdatePartnershipInput!) { updatePartnership(input: $input) { partnership { title themes endDate description } } }",
            json!({ "input": { "id": open, "description": "Health access for newcomers", "endDate": "2025-12-31" } }),
        )
        .await;
    let updated = &data["updatePartnership"]["partnership"];
    assert_eq!(updated["title"], "Platform");
    assert_eq!(updated["themes"], json!(["HEALTH"]));
    assert_eq!(updated["endDate"], "2025-12-31");
    // New themes replace the old ones, both where a partnership is read and where lists are
    // filtered by theme.
    let data = app
        .ok(
            "mutation($input: UpdatePartnershipInput!) { updatePartnership(input: $input) { partnership { themes } } }",
            json!({ "input": { "id": open, "themes": ["RECEPTION", "HEALTH"] } }),
        )
        .await;
    assert_eq!(
        data["updatePartnership"]["partnership"]["themes"],
        json!(["HEALTH", "RECEPTION"])
    );
    for (theme, found) in [("RECEPTION", true), ("HEALTH", true), ("HOUSING", false)] {
        let data = app
            .ok(
                "query($themes: [Theme!]) { partnerships(filter: { themes: $themes }) { nodes { id themes } } }",
                json!({ "themes": [theme] }),
            )
            .await;
        let nodes = data["partnerships"]["nodes"].as_array().expect("nodes");
        let hit = nodes.iter().find(|n| n["id"] == open);
        assert_eq!(hit.is_some(), found, "{theme}");
        if let Some(hit) = hit {
            assert_eq!(hit["themes"], json!(["HEALTH", "RECEPTION"]));
        }
    }

    // Allocation lifecycle: award with a date, revise, then cancel; a cancelled budget is
    // closed.
    let amif = programme_for(app, "AMIF").await;
    let data = app
        .ok(
            CREATE_ALLOCATION,
            json!({ "input": { "partnershipId": open, "programmeId": amif, "ceilingCase": "SPECIFIC_ACTION",
                    "eligibleCost": "200000", "euContribution": "180000.00" } }),
        )
        .await;
    let allocation = data["createAllocation"]["allocation"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        data["createAllocation"]["allocation"]["coFinancingRate"],
        "0.9000"
    );
    let award = "mutation($input: ChangeAllocationStatusInput!) { changeAllocationStatus(input: $input) { allocation { status decisionDate } } }";
    let data = app.ok(award, json!({ "input": { "id": allocation, "status": "AWARDED", "decisionDate": "2024-05-02" } })).await;
    assert_eq!(
        data["changeAllocationStatus"]["allocation"],
        json!({ "status": "AWARDED", "decisionDate": "2024-05-02" })
    );
    let change = "mutation($input: UpdateAllocationInput!) { updateAllocation(input: $input) { allocation { euContribution budgets { kind euContribution reason } } } }";
    let data = app
        .ok(change, json!({ "input": { "id": allocation, "euContribution": "170000", "reason": "lower costs" } }))
        .await;
    assert_eq!(
        data["updateAllocation"]["allocation"]["budgets"],
        json!([
            { "kind": "ORIGINAL", "euContribution": "180000.00", "reason": null },
            { "kind": "REVISED", "euContribution": "170000.00", "reason": "lower costs" },
        ])
    );
    expect_refused(
        app,
        award,
        json!({ "input": { "id": allocation, "status": "REQUESTED" } }),
        "BAD_USER_INPUT",
        Some("input.status"),
    )
    .await;
    let data = app.ok(award, json!({ "input": { "id": allocation, "status": "CANCELLED", "decisionDate": "2024-09-01" } })).await;
    expect_refused(
        app,
        change,
        json!({ "input": { "id": allocation, "euContribution": "1.00" } }),
        "CONFLICT",
        None,
    )
    .await;
    assert_eq!(
        data["changeAllocationStatus"]["allocation"]["status"],
        "CANCELLED"
    );
}

/// Stops the server, starts a new one on the same database, and reads everything back.
async fn data_survives_a_restart(app: Option<TestApp>) {
    let Some(app) = app else {
        return;
    };
    let s = somos(&app).await;
    let test_db = app.stop().await;
    let app = TestApp::spawn_on(test_db).await;
    let data = app
        .ok(
            "query($id: ID!) { partnership(id: $id) { title members { totalCount } allocations { nodes { euContribution reference } } } }",
            json!({ "id": s.partnership }),
        )
        .await;
    assert_eq!(data["partnership"]["title"], "SOMOS");
    assert_eq!(data["partnership"]["members"]["totalCount"], 3);
    assert_eq!(
        data["partnership"]["allocations"]["nodes"][0],
        json!({ "euContribution": "300000.00", "reference": "QSN+-2021-07" })
    );
    assert_eq!(
        app.count_rows("actor").await,
        4,
        "three of SOMOS and its programme's authority"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart_on_sqlite() {
    data_survives_a_restart(TestApp::spawn(e2e::Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart_on_postgres() {
    data_survives_a_restart(TestApp::spawn(e2e::Backend::Postgres).await).await;
}

async fn health_graphiql_and_request_ids(app: &TestApp) {
    let response = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("x-request-id").is_some(),
        "every response carries a request id"
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, json!({ "status": "ok" }));

    // A browser (asking for HTML) gets GraphiQL where it is turned on (test servers do).
    let response = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("graphiql");
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("html");
    assert!(page.to_lowercase().contains("graphiql"));

    // A request id sent by a proxy is kept.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", "trace-me-42")
        .json(&json!({ "query": "{ fundingStreams { code } }" }))
        .send()
        .await
        .expect("post");
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("trace-me-42")
    );
}

async fn demo_data_loads_once(app: &TestApp) {
    let first = api::demo::seed(&app.db).await.expect("seed");
    assert_eq!(
        first,
        "34 actors, 9 partnerships, 28 memberships and 5 allocations created"
    );
    let counts = app.all_counts().await;
    let second = api::demo::seed(&app.db).await.expect("seed again");
    assert_eq!(
        second,
        "0 actors, 0 partnerships, 0 memberships and 0 allocations created"
    );
    let data = app
        .ok(
            r#"{ fundingSummary(groupBy: [STATUS]) { rows { keys { value } allocationCount euContribution } totals { euContribution } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["fundingSummary"],
        json!({
            "rows": [
                { "keys": [{ "value": "AWARDED" }], "allocationCount": 1, "euContribution": "750000.00" },
                { "keys": [{ "value": "CLOSED" }], "allocationCount": 4, "euContribution": "450000.00" },
            ],
            "totals": { "euContribution": "1200000.00" },
        })
    );
    assert_eq!(app.all_counts().await, counts, "idempotent");

    let data = app
        .ok(
            r#"{ partnerships(filter: { titleContains: "IncluCities", statuses: [COMPLETED] }, orderBy: { field: TITLE }) {
                  totalCount nodes { title members { nodes { roles actor { name country } } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["partnerships"]["totalCount"], 4);
    let first_pair = &data["partnerships"]["nodes"][0];
    assert_eq!(
        first_pair["title"],
        "IncluCities: Brussels mentoring Saint-Jean-de-la-Ruelle"
    );
    let roles: Vec<(String, String)> = first_pair["members"]["nodes"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["actor"]["name"].as_str().unwrap_or("").to_owned(),
                m["roles"][0].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            (
                "Council of European Municipalities and Regions (CEMR)".to_owned(),
                "LEAD".to_owned()
            ),
            ("Brussels".to_owned(), "MENTOR".to_owned()),
            ("Saint-Jean-de-la-Ruelle".to_owned(), "MENTEE".to_owned()),
        ]
    );
    let data = app
        .ok(r#"{ actors(filter: { nutsPrefix: "ES2" }) { nodes { name nutsCode children { totalCount } } } }"#, json!({}))
        .await;
    assert_eq!(
        data["actors"]["nodes"],
        json!([
            { "name": "Basque Government", "nutsCode": "ES21", "children": { "totalCount": 3 } },
            { "name": "Government of Navarre", "nutsCode": "ES22", "children": { "totalCount": 0 } },
        ])
    );
}

async fn internal_errors_never_show_database_text(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    // Break the database behind the server's back.
    app.db
        .connection()
        .execute_unprepared("ALTER TABLE funding_stream RENAME TO funding_stream_gone")
        .await
        .expect("rename");
    let response = app.graphql("{ fundingStreams { code } }", json!({})).await;
    assert_eq!(error_code(&response), "INTERNAL");
    assert_eq!(response["errors"][0]["message"], "internal error");
    let text = response.to_string();
    assert!(
        !text.contains("funding_stream"),
        "no database text reaches the client: {text}"
    );
    assert_eq!(response["data"], Value::Null);
}

/// The data of `query` with `variables`, and the statements the pool ran to answer it.
async fn costed(app: &TestApp, query: &str, variables: Value) -> (u64, Value) {
    let before = app.db.statement_count();
    let data = app.ok(query, variables).await;
    (app.db.statement_count() - before, data)
}

/// 100 partnerships, each with a lead, a partner and an allocation, written through the
/// repositories (the HTTP path is tested elsewhere; this test is about reads).
/// 100 partnerships, each with a lead, a partner and an AMIF allocation; returns AMIF's id.
async fn hundred_partnerships(app: &TestApp) -> domain::ids::StreamId {
    use domain::actor::{ActorKind, ActorProfile, ActorProfileParts};
    use domain::funding::{CeilingCase, ProgrammeDetails, ProgrammeParts};
    use domain::membership::{Role, RoleSet};
    use domain::money::Euros;
    use domain::partnership::{
        PartnershipDetails, PartnershipDetailsParts, PartnershipKind, Theme,
    };
    use domain::territory::CountryCode;
    let db = &app.db;
    let actor = |name: String| {
        ActorProfile::new(ActorProfileParts {
            kind: ActorKind::Ngo,
            name,
            country: CountryCode::parse("ES").expect("ES"),
            nuts: None,
            lau: None,
            population: None,
            pic: None,
            vat_number: None,
            wikidata_id: None,
            website: None,
            email: None,
        })
        .expect("profile")
    };
    let authority = db
        .actors()
        .create(actor("Authority".into()), None)
        .await
        .expect("actor")
        .id;
    let amif = db
        .funding()
        .stream_by_code("AMIF")
        .await
        .expect("q")
        .expect("AMIF");
    let programme = db
        .programmes()
        .create(
            ProgrammeDetails::new(ProgrammeParts {
                code: "2021ES65AMPR001".into(),
                title: "AMIF Spain".into(),
                stream_id: amif.id,
                managing_authority: authority,
                country: CountryCode::parse("ES").expect("ES"),
                nuts: None,
                category: None,
                envelope: Euros::parse("e", "100000000").expect("e"),
            })
            .expect("programme"),
        )
        .await
        .expect("programme")
        .id;
    let date = "2024-01-01".parse().expect("date");
    for i in 0..100 {
        let lead = db
            .actors()
            .create(actor(format!("Lead {i:03}")), None)
            .await
            .expect("lead")
            .id;
        let partner = db
            .actors()
            .create(actor(format!("Partner {i:03}")), None)
            .await
            .expect("partner")
            .id;
        let p = db
            .partnerships()
            .create(
                PartnershipDetails::new(PartnershipDetailsParts {
                    title: format!("Partnership {i:03}"),
                    description: String::new(),
                    kind: PartnershipKind::ProjectConsortium,
                    themes: if i % 2 == 0 {
                        [Theme::Housing].into()
                    } else {
                        [Theme::Reception, Theme::Housing].into()
                    },
                    governance_levels: Default::default(),
                    start_date: date,
                    end_date: None,
                })
                .expect("details"),
                lead,
                RoleSet::parse(&[Role::Lead]).expect("roles"),
                date,
            )
            .await
            .expect("partnership")
            .id;
        db.memberships()
            .add(
                p,
                partner,
                RoleSet::parse(&[Role::Partner]).expect("roles"),
                date,
            )
            .await
            .expect("member");
        db.allocations()
            .create(persistence::repo::NewAllocation {
                partnership_id: p,
                programme_id: programme,
                ceiling_case: Some(CeilingCase::parse("STANDARD").expect("case")),
                eligible_cost: Euros::parse("e", "1000").expect("e"),
                eu_contribution: Euros::parse("e", "750").expect("e"),
                national_contribution: Euros::ZERO,
                reference: None,
            })
            .await
            .expect("allocation");
    }
    amif.id
}

async fn nested_pages_cost_the_same_statements_at_any_size(app: &TestApp) {
    hundred_partnerships(app).await;
    let query = r#"query($first: Int) { partnerships(first: $first, orderBy: { field: TITLE }) {
        nodes { title themes
          members(first: 5) { nodes { roles actor { name } } }
          allocations(first: 5) { nodes { eligibleCost stream { code } } } } } }"#;
    let mut costs = Vec::new();
    for first in [10, 100] {
        let (cost, data) = costed(app, query, json!({ "first": first })).await;
        costs.push(cost);
        let nodes = data["partnerships"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), first);
        assert_eq!(nodes[0]["title"], "Partnership 000");
        assert_eq!(nodes[0]["themes"], json!(["HOUSING"]));
        assert_eq!(nodes[1]["themes"], json!(["HOUSING", "RECEPTION"]));
        assert_eq!(nodes[0]["members"]["nodes"][0]["actor"]["name"], "Lead 000");
        assert_eq!(
            nodes[0]["members"]["nodes"][1]["actor"]["name"],
            "Partner 000"
        );
        assert_eq!(
            nodes[first - 1]["allocations"]["nodes"][0]["stream"]["code"],
            "AMIF"
        );
    }
    assert_eq!(
        costs[0], costs[1],
        "a page of 100 costs what a page of 10 does: {costs:?}"
    );
    assert_eq!(
        costs[1], 5,
        "partnerships (with their themes), members, actors, allocations, streams: {costs:?}"
    );

    // The other direction: actors -> memberships -> partnership.
    let query = r#"query($first: Int) { actors(first: $first, filter: { nameContains: "Lead" }) {
        nodes { name memberships(first: 5) { nodes { roles partnership { title } } } } } }"#;
    let mut costs = Vec::new();
    for first in [10, 100] {
        let (cost, data) = costed(app, query, json!({ "first": first })).await;
        costs.push(cost);
        let nodes = data["actors"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), first);
        assert_eq!(
            nodes[0]["memberships"]["nodes"][0]["partnership"]["title"],
            "Partnership 000"
        );
    }
    assert_eq!(costs[0], costs[1], "{costs:?}");
    assert_eq!(
        costs[1], 3,
        "actors, memberships, partnerships (with their themes): {costs:?}"
    );
}

/// Children, an actor's partnerships, and the allocations of streams and programmes load
/// their nested pages in one statement per level, with working cursors.
async fn nested_lists_of_actors_streams_and_programmes_are_batched(app: &TestApp) {
    hundred_partnerships(app).await;
    let leads = app
        .ok(
            r#"{ actors(first: 2, filter: { nameContains: "Lead 00" }) { nodes { id name } } }"#,
            json!({}),
        )
        .await;
    let leads = leads["actors"]["nodes"].as_array().expect("leads").clone();
    for (lead, children) in leads
        .iter()
        .zip([["Child B", "Child A"], ["Child D", "Child C"]])
    {
        for name in children {
            app.ok(
                CREATE_ACTOR,
                json!({ "input": { "kind": "NGO", "name": name, "country": "ES", "parentId": lead["id"] } }),
            )
            .await;
        }
    }

    let query = r#"query($first: Int) { actors(first: $first, filter: { nameContains: "Lead" }) {
        nodes { name children(first: 5) { totalCount nodes { name } }
                partnerships(first: 5) { totalCount nodes { title } } } } }"#;
    let mut costs = Vec::new();
    for first in [10, 100] {
        let (cost, data) = costed(app, query, json!({ "first": first })).await;
        costs.push(cost);
        let nodes = data["actors"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), first);
        let names = |node: &Value| -> Vec<String> {
            node["children"]["nodes"]
                .as_array()
                .expect("children")
                .iter()
                .map(|c| c["name"].as_str().expect("name").to_owned())
                .collect()
        };
        assert_eq!(nodes[0]["name"], "Lead 000");
        assert_eq!(names(&nodes[0]), ["Child A", "Child B"], "by name");
        assert_eq!(nodes[0]["children"]["totalCount"], 2);
        assert_eq!(nodes[2]["children"]["totalCount"], 0);
        assert_eq!(nodes[first - 1]["partnerships"]["totalCount"], 1);
        assert_eq!(names(&nodes[1]), ["Child C", "Child D"]);
        assert!(names(&nodes[2]).is_empty());
        assert_eq!(
            nodes[first - 1]["partnerships"]["nodes"],
            json!([{ "title": format!("Partnership {:03}", first - 1) }])
        );
    }
    assert_eq!(costs[0], costs[1], "{costs:?}");
    assert_eq!(
        costs[1], 5,
        "actors, children, partnerships (with their themes), and each list's counts for all \
         parents: {costs:?}"
    );

    // A nested cursor continues the nested list.
    let page = r#"query($after: String) { actors(first: 1, filter: { nameContains: "Lead 000" }) {
        nodes { children(first: 1, after: $after) { nodes { name } pageInfo { endCursor hasNextPage } } } } }"#;
    let first = app.ok(page, json!({ "after": null })).await;
    let children = &first["actors"]["nodes"][0]["children"];
    assert_eq!(children["nodes"], json!([{ "name": "Child A" }]));
    assert_eq!(children["pageInfo"]["hasNextPage"], true);
    let next = app
        .ok(page, json!({ "after": children["pageInfo"]["endCursor"] }))
        .await;
    let children = &next["actors"]["nodes"][0]["children"];
    assert_eq!(children["nodes"], json!([{ "name": "Child B" }]));
    assert_eq!(children["pageInfo"]["hasNextPage"], false);

    // Streams and programmes -> allocations -> partnership.
    let query = r#"{ fundingStreams { code
          allocations(first: 3) { totalCount nodes { partnership { title } } pageInfo { hasNextPage } } }
        programmes(first: 10) { nodes { allocations(first: 2) { nodes { partnership { title } } } } } }"#;
    let (cost, data) = costed(app, query, json!({})).await;
    let streams = data["fundingStreams"].as_array().expect("streams");
    let amif = streams.iter().find(|s| s["code"] == "AMIF").expect("AMIF");
    assert_eq!(
        amif["allocations"]["nodes"],
        json!([
            { "partnership": { "title": "Partnership 000" } },
            { "partnership": { "title": "Partnership 001" } },
            { "partnership": { "title": "Partnership 002" } },
        ])
    );
    assert_eq!(amif["allocations"]["totalCount"], 100);
    assert_eq!(amif["allocations"]["pageInfo"]["hasNextPage"], true);
    let erdf = streams.iter().find(|s| s["code"] == "ERDF").expect("ERDF");
    assert_eq!(erdf["allocations"]["nodes"], json!([]));
    assert_eq!(
        data["programmes"]["nodes"][0]["allocations"]["nodes"],
        json!([
            { "partnership": { "title": "Partnership 000" } },
            { "partnership": { "title": "Partnership 001" } },
        ])
    );
    // Streams, programmes, one UNION for each of the two nested lists, the partnerships (with
    // their themes), and the three streams' counts in one statement. The partnerships are one
    // statement when the streams and the programmes arrive in the same step of the execution,
    // two when they do not (the two root lists are read concurrently).
    assert!((6..=7).contains(&cost), "{cost}");
}

/// The nested page's query with every field of its types; `wrap` puts each selection set in
/// an inline fragment, which async-graphql's own resolution answers (`api::graphql::in_place`
/// resolves only plain selections).
fn every_field_page(wrap: bool) -> String {
    let set = |ty: &str, fields: &str| {
        if wrap {
            format!("{{ ... on {ty} {{ {fields} }} }}")
        } else {
            format!("{{ {fields} }}")
        }
    };
    let stream = set(
        "FundingStream",
        "id code name legalBasis periodStart periodEnd",
    );
    let actor = set(
        "Actor",
        "id kind name country nutsCode nutsVersion lauCode lauYear population \
         isSmallerCommunity pic vatNumber wikidataId website email version archivedAt verified \
         createdAt updatedAt parent { name }",
    );
    let member = set(
        "Membership",
        &format!(
            "id roles joinedOn leftOn version isCurrent actor {actor} partnership {{ title }}"
        ),
    );
    let rule = set(
        "CeilingRule",
        &format!(
            "id case description maxRate legalReference verified note version stream {stream}"
        ),
    );
    let programme = set(
        "Programme",
        &format!(
            "id code title country nutsCode nutsVersion categoryOfRegion envelope version \
             createdAt updatedAt stream {stream} managingAuthority {{ name }}"
        ),
    );
    let allocation = set(
        "Allocation",
        &format!(
            "id eligibleCost euContribution nationalContribution paid coFinancingRate status \
             version decisionDate reference createdAt updatedAt stream {stream} \
             ceilingRule {rule} programme {programme}"
        ),
    );
    let members = set(
        "MembershipConnection",
        &format!(
            "totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {member} }}"
        ),
    );
    let allocations = set(
        "AllocationConnection",
        &format!("totalCount nodes {allocation}"),
    );
    let partnership = set(
        "Partnership",
        &format!(
            "id title description kind themes governanceLevels startDate endDate status \
             version createdAt updatedAt members(first: 5) {members} \
             allocations(first: 5) {allocations}"
        ),
    );
    let page = set(
        "PartnershipConnection",
        &format!(
            "totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {partnership} }}"
        ),
    );
    format!(
        "query($first: Int) {{ partnerships(first: $first, orderBy: {{ field: TITLE }}) {page} }}"
    )
}

/// The text of the response to `query` as the administrator, for what only the text shows (the
/// order of keys).
async fn response_text(app: &TestApp, query: &str) -> String {
    app.client
        .post(app.url("/graphql"))
        .bearer_auth(&app.admin_token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body")
}

/// Errors sorted by path, so that two responses compare whatever order their fields finished
/// in; without their locations (the two queries' texts differ).
fn sorted_errors(response: &Value) -> Vec<Value> {
    let mut errors = response["errors"].as_array().cloned().unwrap_or_default();
    for error in &mut errors {
        error.as_object_mut().map(|e| e.remove("locations"));
    }
    errors.sort_by_key(|e| e["path"].to_string());
    errors
}

/// The types a page repeats resolve their fields in place (`api::graphql::in_place`): every
/// field, alias, directive, `__typename` and error answers as async-graphql's own resolution
/// does, and keys come in the order they were selected.
async fn in_place_fields_answer_as_async_graphql_does(app: &TestApp) {
    hundred_partnerships(app).await;
    let vars = json!({ "first": 30 });
    let plain = app.ok(&every_field_page(false), vars.clone()).await;
    let wrapped = app.ok(&every_field_page(true), vars).await;
    assert_eq!(plain, wrapped);
    let edges = plain["partnerships"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 30);
    assert_eq!(plain["partnerships"]["totalCount"], 100);
    let first = &edges[0]["node"];
    assert_eq!(first["title"], "Partnership 000");
    assert_eq!(first["members"]["totalCount"], 2);
    let lead = &first["members"]["edges"][0]["node"];
    assert_eq!(lead["roles"], json!(["LEAD"]));
    assert_eq!(lead["actor"]["name"], "Lead 000");
    assert_eq!(lead["actor"]["country"], "ES");
    assert_eq!(lead["actor"]["parent"], Value::Null);
    assert_eq!(lead["partnership"]["title"], "Partnership 000");
    let allocation = &first["allocations"]["nodes"][0];
    assert_eq!(allocation["euContribution"], "750.00");
    assert_eq!(allocation["stream"]["code"], "AMIF");
    assert_eq!(allocation["ceilingRule"]["stream"]["code"], "AMIF");
    assert_eq!(
        allocation["programme"]["managingAuthority"]["name"],
        "Authority"
    );

    // Keys in the order they were selected, in the response's text.
    let text = response_text(
        app,
        "{ partnerships(first: 1, orderBy: { field: TITLE }) { nodes { \
         version members(first: 1) { nodes { actor { name id kind } roles } } title id } } }",
    )
    .await;
    let at = |key: &str| text.find(key).unwrap_or_else(|| panic!("{key} in {text}"));
    assert!(at("\"version\"") < at("\"members\""), "{text}");
    assert!(at("\"name\"") < at("\"kind\""), "{text}");
    assert!(at("\"roles\"") < at("\"title\""), "{text}");
    assert!(at("\"title\"") < at("\"id\":\"UGFy"), "{text}");

    // Aliases, directives, __typename and a key selected twice.
    let data = app
        .ok(
            r#"query($yes: Boolean!) { partnerships(first: 2, orderBy: { field: TITLE }) {
                nodes { __typename t: title title @include(if: $yes) id @skip(if: $yes)
                  members(first: 1) { nodes { actor { n: name name name } } } } } }"#,
            json!({ "yes": true }),
        )
        .await;
    let node = &data["partnerships"]["nodes"][1];
    assert_eq!(node["__typename"], "Partnership");
    assert_eq!(node["t"], "Partnership 001");
    assert_eq!(node["title"], "Partnership 001");
    assert!(node.get("id").is_none(), "{node}");
    let actor = &node["members"]["nodes"][0]["actor"];
    assert_eq!(actor, &json!({ "n": "Lead 001", "name": "Lead 001" }));

    // A field that fails (the history is for funders and administrators): the same errors, at
    // the same paths, and the same data, on both paths.
    let ngo = app
        .ok(
            r#"{ actors(first: 1, filter: { nameContains: "Partner 000" }) { nodes { id } } }"#,
            json!({}),
        )
        .await["actors"]["nodes"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ngo_token = token("ngo", Some(&ngo));
    let failing = |wrap: bool| {
        let node = if wrap {
            "... on Partnership { title history { edges { cursor } } }"
        } else {
            "title history { edges { cursor } }"
        };
        format!(
            "{{ partnerships(first: 3, orderBy: {{ field: TITLE }}) {{ nodes {{ {node} }} }} }}"
        )
    };
    let plain = app.graphql_as(&ngo_token, &failing(false), json!({})).await;
    let wrapped = app.graphql_as(&ngo_token, &failing(true), json!({})).await;
    assert_eq!(plain["data"], wrapped["data"]);
    let errors = sorted_errors(&plain);
    assert_eq!(errors, sorted_errors(&wrapped));
    // The NGO sees the one partnership it is in (the others are drafts); async-graphql leaves
    // the failed field out of its object.
    assert_eq!(
        plain["data"],
        json!({ "partnerships": { "nodes": [{ "title": "Partnership 000" }] } })
    );
    assert_eq!(errors.len(), 1, "{plain}");
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(
        errors[0]["path"],
        json!(["partnerships", "nodes", 0, "history"])
    );
}

/// A member's actor whose selection asks only for `id`, `kind`, `name` and `country` is read
/// from its brief (`api::graphql::actor::member_actor`): the same values, keys and order as the
/// whole actor gives, in the same number of statements; a request that asks for both kinds
/// reads each in one statement of its own.
async fn member_actors_from_their_brief_answer_as_whole_actors(app: &TestApp) {
    hundred_partnerships(app).await;
    let page = |actor: &str| {
        format!(
            "{{ partnerships(first: 30, orderBy: {{ field: TITLE }}) {{ nodes {{ \
             members(first: 5) {{ nodes {{ actor {{ {actor} }} }} }} }} }} }}"
        )
    };
    let (brief_cost, brief) = costed(app, &page("country id k: kind name"), json!({})).await;
    // `population` is not in the brief: the whole actor answers.
    let (whole_cost, mut whole) =
        costed(app, &page("country id k: kind name population"), json!({})).await;
    let nodes = whole["partnerships"]["nodes"]
        .as_array_mut()
        .expect("nodes");
    assert_eq!(nodes.len(), 30);
    for node in nodes {
        for member in node["members"]["nodes"].as_array_mut().expect("members") {
            let actor = member["actor"].as_object_mut().expect("actor");
            assert_eq!(actor.remove("population"), Some(Value::Null));
        }
    }
    assert_eq!(brief, whole);
    assert_eq!(
        brief_cost, whole_cost,
        "one statement for the actors either way"
    );
    let lead = &brief["partnerships"]["nodes"][0]["members"]["nodes"][0]["actor"];
    assert_eq!(lead["name"], "Lead 000");
    assert_eq!(lead["country"], "ES");
    assert_eq!(lead["k"], "NGO");
    assert!(
        lead["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("QWN0b3")),
        "{lead}"
    );
    // The id is the actor's: `node` finds it.
    let found = app
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Actor { name country } } }",
            json!({ "id": lead["id"] }),
        )
        .await;
    assert_eq!(
        found["node"],
        json!({ "name": "Lead 000", "country": "ES" })
    );

    // Keys in the order they were selected, in the response's text.
    let text = response_text(app, &page("name country kind id")).await;
    let at = |key: &str| text.find(key).unwrap_or_else(|| panic!("{key} in {text}"));
    assert!(at("\"name\"") < at("\"country\""), "{text}");
    assert!(at("\"country\"") < at("\"kind\""), "{text}");
    assert!(at("\"kind\"") < at("\"id\""), "{text}");

    // Both kinds in one request: the briefs and the whole actors, one statement each (so every
    // field of the brief, aliased too, was answered from the brief).
    let (both_cost, both) = costed(
        app,
        &page("country id k: kind name } whole: actor { name population"),
        json!({}),
    )
    .await;
    assert_eq!(both_cost, brief_cost + 1);
    let member = &both["partnerships"]["nodes"][0]["members"]["nodes"][1];
    let partner = &brief["partnerships"]["nodes"][0]["members"]["nodes"][1]["actor"];
    assert_eq!(partner["name"], "Partner 000");
    assert_eq!(&member["actor"], partner);
    assert_eq!(
        member["whole"],
        json!({ "name": "Partner 000", "population": null })
    );
}

/// An allocation's budgets and payments and a stream's managers load in one statement for all
/// parents of a page: a page of 10 allocations costs what a page of 100 costs.
async fn budgets_payments_and_managers_are_batched(app: &TestApp) {
    use domain::funding::{AllocationStatus, PaymentKind};
    use domain::money::Euros;
    let amif = hundred_partnerships(app).await;
    let db = &app.db;
    let managers = db
        .actors()
        .list(
            &persistence::repo::ActorFilter {
                name_contains: Some("Lead 00".into()),
                ..Default::default()
            },
            &persistence::PageRequest::first(2),
        )
        .await
        .expect("actors");
    for (_, actor) in &managers.items {
        db.funding()
            .add_manager(amif, actor.id)
            .await
            .expect("manager");
    }
    let allocations = db
        .allocations()
        .list(&Default::default(), &persistence::PageRequest::first(2))
        .await
        .expect("allocations");
    let day = "2024-06-01".parse().expect("date");
    for (_, allocation) in &allocations.items {
        db.allocations()
            .change_status(allocation.id, AllocationStatus::Awarded, Some(day), None)
            .await
            .expect("award");
        for amount in ["100", "50"] {
            db.allocations()
                .record_payment(
                    allocation.id,
                    PaymentKind::Interim,
                    Euros::parse("amount", amount).expect("amount"),
                    day,
                    None,
                )
                .await
                .expect("payment");
        }
    }

    let query = r#"query($first: Int) { allocations(first: $first) { nodes {
        budgets { kind euContribution }
        payments(first: 1) { totalCount nodes { amount } pageInfo { hasNextPage } }
        stream { code managers { name } } } } }"#;
    let mut costs = Vec::new();
    for first in [10, 100] {
        let (cost, data) = costed(app, query, json!({ "first": first })).await;
        costs.push(cost);
        let nodes = data["allocations"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), first);
        assert_eq!(
            nodes[0]["budgets"],
            json!([{ "kind": "ORIGINAL", "euContribution": "750.00" }])
        );
        assert_eq!(
            nodes[1]["payments"],
            json!({ "totalCount": 2, "nodes": [{ "amount": "100.00" }], "pageInfo": { "hasNextPage": true } })
        );
        assert_eq!(
            nodes[2]["payments"],
            json!({ "totalCount": 0, "nodes": [], "pageInfo": { "hasNextPage": false } })
        );
        let mut names: Vec<&str> = nodes[first - 1]["stream"]["managers"]
            .as_array()
            .expect("managers")
            .iter()
            .map(|m| m["name"].as_str().expect("name"))
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["Lead 000", "Lead 001"]);
        assert_eq!(nodes[first - 1]["stream"]["code"], "AMIF");
    }
    assert_eq!(costs[0], costs[1], "{costs:?}");
    assert_eq!(
        costs[1], 7,
        "allocations, budgets, payments and their counts, streams, managers, their actors: \
         {costs:?}"
    );
}

/// The histories of a page's records, the funding totals of its partnerships and actors and
/// the utilisation of programmes load in one statement per kind for all parents of a
/// response: a page of 100 partnerships costs what a page of 10 costs.
async fn histories_totals_and_utilisation_are_batched(app: &TestApp) {
    use domain::funding::{AllocationStatus, PaymentKind};
    use domain::money::Euros;
    hundred_partnerships(app).await;
    let db = &app.db;
    // The first two partnerships' allocations are awarded; the first is paid EUR 100.
    let allocations = db
        .allocations()
        .list(&Default::default(), &persistence::PageRequest::first(2))
        .await
        .expect("allocations");
    let day = "2024-06-01".parse().expect("date");
    for (i, (_, allocation)) in allocations.items.iter().enumerate() {
        db.allocations()
            .change_status(allocation.id, AllocationStatus::Awarded, Some(day), None)
            .await
            .expect("award");
        if i == 0 {
            db.allocations()
                .record_payment(
                    allocation.id,
                    PaymentKind::Interim,
                    Euros::parse("amount", "100").expect("amount"),
                    day,
                    None,
                )
                .await
                .expect("payment");
        }
    }

    // The first partnership has a second version, made over the API.
    let first_id = app
        .ok(
            r#"{ partnerships(first: 1, orderBy: { field: TITLE }) { nodes { id } } }"#,
            json!({}),
        )
        .await["partnerships"]["nodes"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.ok(
        r#"mutation($input: UpdatePartnershipInput!) { updatePartnership(input: $input) { partnership { title } } }"#,
        json!({ "input": { "id": first_id, "description": "Second version" } }),
    )
    .await;

    let query = r#"query($first: Int) {
      partnerships(first: $first, orderBy: { field: TITLE }) { nodes {
        title
        history { hasNextPage edges { node { operation entityType } } }
        funding { allocationCount euContribution paid }
        members(first: 2) { nodes { actor {
          name
          history(first: 1) { hasNextPage edges { node { entityType } } }
          fundingReceived {
            asLead { allocationCount paid }
            asMember { allocationCount euContribution } } } } } } }
      programmes(first: 10) { nodes { code utilisation { awarded paid remaining } } } }"#;
    let mut costs = Vec::new();
    for first in [10, 100] {
        let (cost, data) = costed(app, query, json!({ "first": first })).await;
        costs.push(cost);
        let nodes = data["partnerships"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), first);
        assert_eq!(nodes[0]["title"], "Partnership 000");
        let operations = |node: &Value| -> Vec<String> {
            node["history"]["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"]["operation"].as_str().expect("op").to_owned())
                .collect()
        };
        // Oldest first; the records made by the repositories directly are `direct`.
        assert_eq!(operations(&nodes[0]), ["direct", "updatePartnership"]);
        assert_eq!(operations(&nodes[first - 1]), ["direct"]);
        assert_eq!(
            nodes[first - 1]["history"]["edges"][0]["node"]["entityType"],
            "Partnership"
        );
        assert_eq!(
            nodes[0]["funding"],
            json!({ "allocationCount": 1, "euContribution": "750.00", "paid": "100.00" })
        );
        assert_eq!(
            nodes[1]["funding"],
            json!({ "allocationCount": 1, "euContribution": "750.00", "paid": "0.00" })
        );
        assert_eq!(
            nodes[2]["funding"],
            json!({ "allocationCount": 0, "euContribution": "0.00", "paid": "0.00" })
        );
        let lead = &nodes[0]["members"]["nodes"][0]["actor"];
        assert_eq!(lead["name"], "Lead 000");
        assert_eq!(
            lead["fundingReceived"],
            json!({ "asLead": { "allocationCount": 1, "paid": "100.00" },
                    "asMember": { "allocationCount": 1, "euContribution": "750.00" } })
        );
        assert_eq!(lead["history"]["edges"][0]["node"]["entityType"], "Actor");
        let partner = &nodes[1]["members"]["nodes"][1]["actor"];
        assert_eq!(partner["name"], "Partner 001");
        assert_eq!(
            partner["fundingReceived"],
            json!({ "asLead": { "allocationCount": 0, "paid": "0.00" },
                    "asMember": { "allocationCount": 1, "euContribution": "750.00" } })
        );
        let last = &nodes[first - 1]["members"]["nodes"][1]["actor"];
        assert_eq!(
            last["fundingReceived"]["asMember"],
            json!({ "allocationCount": 0, "euContribution": "0.00" })
        );
        assert_eq!(last["history"]["edges"][0]["node"]["entityType"], "Actor");
        assert_eq!(
            data["programmes"]["nodes"],
            json!([{ "code": "2021ES65AMPR001",
                     "utilisation": { "awarded": "1500.00", "paid": "100.00", "remaining": "99998500.00" } }])
        );
    }
    assert_eq!(costs[0], costs[1], "{costs:?}");
    assert_eq!(
        costs[1], 9,
        "partnerships, their histories, totals, members, actors, their histories and totals, \
         programmes, their utilisation: {costs:?}"
    );
}

/// The root fields come back in the order the document selects them (GraphQL's serialized map
/// ordering), although the query root is merged from parts: with aliases, fragments at the
/// root, and the named operation of a document of several.
async fn root_fields_answer_in_the_documents_order(app: &TestApp) {
    hundred_partnerships(app).await;
    let text = |body: Value| {
        let client = app.client.clone();
        let url = app.url("/graphql");
        let token = app.admin_token.clone();
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("request");
            assert!(response.status().is_success());
            response.text().await.expect("body")
        }
    };
    let in_order = |text: &str, keys: &[&str]| {
        let at: Vec<usize> = keys
            .iter()
            .map(|k| {
                text.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("{k} in {text}"))
            })
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{keys:?} in {text}");
    };
    let plain = text(
        json!({ "query": "{ programmes(first: 1) { nodes { code } } \
        viewer { role } actors { totalCount } partnerships(first: 1) { totalCount } }" }),
    )
    .await;
    in_order(&plain, &["programmes", "viewer", "actors", "partnerships"]);
    assert!(plain.contains("\"actors\":{\"totalCount\":201}"), "{plain}");

    let fragments = text(json!({ "query": "query { ...Counts v: viewer { role } \
        ... on QueryRoot { streams: fundingStreams { code } } } \
        fragment Counts on QueryRoot { partnerships(first: 1) { totalCount } actors { totalCount } }" }))
    .await;
    in_order(&fragments, &["partnerships", "actors", "v", "streams"]);

    for (operation, keys) in [("B", ["actors", "viewer"]), ("A", ["viewer", "actors"])] {
        let named = text(json!({
            "query": "query A { viewer { role } actors { totalCount } } \
                      query B { actors { totalCount } viewer { role } }",
            "operationName": operation
        }))
        .await;
        in_order(&named, &keys);
    }
}
