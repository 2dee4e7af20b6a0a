//! Identity and access end to end, on SQLite and PostgreSQL: every kind of bad token gets 401
//! and no data; RS256, ES256 and EdDSA keys from PEM and JWKS files; and the rights of every
//! role, allowed and refused, with real signed tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::{AUDIENCE, ISSUER, TEST_SECRET, TestApp, error_code, on_both_databases, token};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

on_both_databases!(
    bad_tokens_get_401_and_no_data,
    public_keys_from_pem_and_jwks_verify_only_their_algorithm,
    actors_rights,
    partnership_rights_and_draft_visibility,
    funding_rights,
);

const CREATE_ACTOR: &str =
    "mutation($input: CreateActorInput!) { createActor(input: $input) { actor { id name } } }";
const UPDATE_ACTOR: &str = "mutation($input: UpdateActorInput!) { updateActor(input: $input) { actor { id name parent { name } } } }";

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims(role: &str, actor: Option<&str>) -> Value {
    let mut c = json!({ "sub": "tester", "exp": now() + 600, "iss": ISSUER, "aud": AUDIENCE, "role": role });
    if let Some(actor) = actor {
        c["actor_id"] = json!(actor);
    }
    c
}

fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

fn hs256(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
        None,
        claims,
    )
}

/// A well-formed id of nothing.
fn global_id(type_name: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{}", uuid::Uuid::now_v7().simple()))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

async fn create_actor(app: &TestApp, input: Value) -> String {
    let data = app.ok(CREATE_ACTOR, json!({ "input": input })).await;
    data["createActor"]["actor"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

const PROBE: &str = "{ fundingStreams { code } }";

/// POSTs the probe query with an Authorization header value (or none), returns status,
/// WWW-Authenticate and body.
async fn probe(
    app: &TestApp,
    authorization: Option<String>,
    path: &str,
) -> (u16, Option<String>, Value) {
    let mut request = app
        .client
        .post(app.url(path))
        .json(&json!({ "query": PROBE }));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("post");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

async fn bad_tokens_get_401_and_no_data(app: &TestApp) {
    let city = create_actor(
        app,
        json!({ "kind": "MUNICIPALITY", "name": "Calp", "country": "ES" }),
    )
    .await;
    let ministry = create_actor(
        app,
        json!({ "kind": "NATIONAL_AUTHORITY", "name": "Ministry", "country": "ES" }),
    )
    .await;
    let valid = hs256(&claims("city", Some(&city)));
    let (status, _, body) = probe(app, Some(format!("Bearer {valid}")), "/graphql").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["fundingStreams"][0]["code"], "AMIF");
    // The scheme is case-insensitive.
    assert_eq!(
        probe(app, Some(format!("bearer {valid}")), "/graphql")
            .await
            .0,
        200
    );

    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(&claims("admin", None))
    );
    let rsa_public_as_secret = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(&fixture("rsa-public.pem")),
        None,
        &claims("admin", None),
    );
    let tampered = {
        let parts: Vec<&str> = valid.split('.').collect();
        format!("{}.{}.{}", parts[0], b64(&claims("admin", None)), parts[2])
    };
    let bad_signature = {
        let (head, sig) = valid.rsplit_once('.').expect("jwt");
        let flipped: String = sig.chars().rev().collect();
        format!("{head}.{flipped}")
    };
    let critical = {
        let mut header = Header::new(Algorithm::HS256);
        header.crit = Some(vec!["exp-extension".into()]);
        jsonwebtoken::encode(
            &header,
            &claims("city", Some(&city)),
            &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
        )
        .expect("sign")
    };
    let without = |claim: &str| {
        let mut c = claims("city", Some(&city));
        c.as_object_mut().expect("object").remove(claim);
        hs256(&c)
    };
    let with = |claim: &str, value: Value| {
        let mut c = claims("city", Some(&city));
        c[claim] = value;
        hs256(&c)
    };
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("alg none", Some(format!("Bearer {alg_none}"))),
        (
            "HS256 signed with the RSA public key as secret",
            Some(format!("Bearer {rsa_public_as_secret}")),
        ),
        (
            "expired",
            Some(format!("Bearer {}", with("exp", json!(now() - 3600)))),
        ),
        (
            "nbf in the future",
            Some(format!("Bearer {}", with("nbf", json!(now() + 3600)))),
        ),
        (
            "wrong iss",
            Some(format!("Bearer {}", with("iss", json!("someone-else")))),
        ),
        (
            "wrong aud",
            Some(format!("Bearer {}", with("aud", json!("another-service")))),
        ),
        (
            "payload changed after signing",
            Some(format!("Bearer {tampered}")),
        ),
        ("bad signature", Some(format!("Bearer {bad_signature}"))),
        ("no sub", Some(format!("Bearer {}", without("sub")))),
        ("no exp", Some(format!("Bearer {}", without("exp")))),
        ("no iss", Some(format!("Bearer {}", without("iss")))),
        ("no aud", Some(format!("Bearer {}", without("aud")))),
        ("no role", Some(format!("Bearer {}", without("role")))),
        (
            "no actor_id for a city",
            Some(format!("Bearer {}", without("actor_id"))),
        ),
        (
            "exp of the wrong type",
            Some(format!(
                "Bearer {}",
                with("exp", json!((now() + 600).to_string()))
            )),
        ),
        (
            "actor_id of the wrong type",
            Some(format!("Bearer {}", with("actor_id", json!(42)))),
        ),
        (
            "role of the wrong type",
            Some(format!("Bearer {}", with("role", json!(["admin"])))),
        ),
        (
            "unknown role",
            Some(format!("Bearer {}", with("role", json!("superuser")))),
        ),
        (
            "role not matching the actor's kind",
            Some(format!("Bearer {}", with("role", json!("region")))),
        ),
        (
            "funder whose actor manages no stream",
            Some(format!(
                "Bearer {}",
                hs256(&claims("funder", Some(&ministry)))
            )),
        ),
        (
            "actor id that does not exist",
            Some(format!(
                "Bearer {}",
                with("actor_id", json!(global_id("Actor")))
            )),
        ),
        (
            "actor id of another type",
            Some(format!(
                "Bearer {}",
                with("actor_id", json!(global_id("Partnership")))
            )),
        ),
        (
            "a critical header extension",
            Some(format!("Bearer {critical}")),
        ),
        ("garbage", Some("Bearer not.a.token".to_owned())),
        (
            "a 64 KB token",
            Some(format!("Bearer {}", "a".repeat(64 * 1024))),
        ),
        ("Basic scheme", Some(format!("Basic {valid}"))),
        ("empty bearer", Some("Bearer ".to_owned())),
    ];
    for (name, authorization) in cases {
        let (status, challenge, body) = probe(app, authorization, "/graphql").await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{name}: {body}");
        assert!(body.get("data").is_none(), "{name}: no data at all: {body}");
        assert!(
            challenge.is_some_and(|c| c.starts_with("Bearer")),
            "{name}: a WWW-Authenticate challenge"
        );
    }
    // A token in the query string is not a token.
    let (status, _, body) = probe(app, None, &format!("/graphql?access_token={valid}")).await;
    assert_eq!(status, 401, "token in a query parameter: {body}");
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    // Liveness needs no token.
    let response = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(response.status(), 200);
    // Nothing was written by any refused request.
    assert_eq!(app.count_rows("actor").await, 2);
}

async fn public_keys_from_pem_and_jwks_verify_only_their_algorithm(app: &TestApp) {
    let city = create_actor(
        app,
        json!({ "kind": "MUNICIPALITY", "name": "Calp", "country": "ES" }),
    )
    .await;
    let c = claims("city", Some(&city));
    let rsa = EncodingKey::from_rsa_pem(&fixture("rsa-private.pem")).expect("rsa");
    let ec = EncodingKey::from_ec_pem(&fixture("ec-private.pem")).expect("ec");
    let ed = EncodingKey::from_ed_pem(&fixture("ed-private.pem")).expect("ed");

    // A JWKS with one key of each kind.
    let jwk = |key: &EncodingKey, alg: Algorithm, kid: &str| {
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(key, alg).expect("jwk");
        jwk.common.key_id = Some(kid.to_owned());
        jwk
    };
    let set = jsonwebtoken::jwk::JwkSet {
        keys: vec![
            jwk(&rsa, Algorithm::RS256, "rsa-1"),
            jwk(&ec, Algorithm::ES256, "ec-1"),
            jwk(&ed, Algorithm::EdDSA, "ed-1"),
        ],
    };
    let dir = std::env::temp_dir().join(format!("registry-jwks-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, serde_json::to_string(&set).expect("json")).expect("write");

    let server_with = |keys: std::path::PathBuf| {
        let url = app.db_url();
        async move {
            let db = persistence::test_db::TestDatabase::reuse(&url);
            TestApp::spawn_with(db, e2e::auth_config(Some(keys))).await
        }
    };
    let with_jwks = server_with(jwks).await;
    let accepted = |server: &TestApp, token: String| {
        let server_url = server.url("/graphql");
        let client = server.client.clone();
        async move {
            let response = client
                .post(server_url)
                .bearer_auth(token)
                .json(&json!({ "query": PROBE }))
                .send()
                .await
                .expect("post");
            response.status().as_u16()
        }
    };
    assert_eq!(
        accepted(&with_jwks, sign(Algorithm::RS256, &rsa, Some("rsa-1"), &c)).await,
        200
    );
    assert_eq!(
        accepted(&with_jwks, sign(Algorithm::ES256, &ec, Some("ec-1"), &c)).await,
        200
    );
    assert_eq!(
        accepted(&with_jwks, sign(Algorithm::EdDSA, &ed, Some("ed-1"), &c)).await,
        200
    );
    assert_eq!(
        accepted(&with_jwks, hs256(&c)).await,
        200,
        "the shared secret still works beside the keys"
    );
    assert_eq!(
        accepted(&with_jwks, sign(Algorithm::RS256, &rsa, Some("ec-1"), &c)).await,
        401,
        "kid of another algorithm"
    );
    assert_eq!(
        accepted(&with_jwks, sign(Algorithm::RS256, &rsa, Some("rsa-9"), &c)).await,
        401,
        "unknown kid"
    );
    assert_eq!(
        accepted(&with_jwks, sign(Algorithm::RS256, &rsa, None, &c)).await,
        401,
        "no kid with a JWKS"
    );
    assert_eq!(
        accepted(&with_jwks, sign(Algorithm::PS256, &rsa, Some("rsa-1"), &c)).await,
        401,
        "PS256 is not configured"
    );
    let hs_with_kid = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
        Some("rsa-1"),
        &c,
    );
    assert_eq!(
        accepted(&with_jwks, hs_with_kid).await,
        401,
        "HS256 naming an RSA key"
    );
    let _ = with_jwks.stop().await;

    // A single PEM public key: tokens without kid, of that algorithm only.
    for (file, alg, key) in [
        ("rsa-public.pem", Algorithm::RS256, &rsa),
        ("ec-public.pem", Algorithm::ES256, &ec),
        ("ed-public.pem", Algorithm::EdDSA, &ed),
    ] {
        let server =
            server_with(format!("{}/fixtures/{file}", env!("CARGO_MANIFEST_DIR")).into()).await;
        assert_eq!(
            accepted(&server, sign(alg, key, None, &c)).await,
            200,
            "{file}"
        );
        let other = if alg == Algorithm::RS256 {
            sign(Algorithm::ES256, &ec, None, &c)
        } else {
            sign(Algorithm::RS256, &rsa, None, &c)
        };
        assert_eq!(
            accepted(&server, other).await,
            401,
            "{file}: another algorithm"
        );
        let _ = server.stop().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

async fn forbidden(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let before = app.all_counts().await;
    let response = app.graphql_as(token, query, variables.clone()).await;
    assert_eq!(
        error_code(&response),
        "FORBIDDEN",
        "{variables}: {response:#}"
    );
    let message = response["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("forbidden: ") && message.contains("needs"),
        "names the missing right: {message}"
    );
    assert_eq!(
        app.all_counts().await,
        before,
        "a refused request changes nothing"
    );
    response
}

async fn actors_rights(app: &TestApp) {
    let region = create_actor(app, json!({ "kind": "REGION", "name": "Comunitat Valenciana", "country": "ES", "nutsCode": "ES52", "nutsVersion": 2021 })).await;
    let other_region = create_actor(
        app,
        json!({ "kind": "REGION", "name": "Navarra", "country": "ES" }),
    )
    .await;
    let city = create_actor(
        app,
        json!({ "kind": "MUNICIPALITY", "name": "Calp", "country": "ES", "parentId": region }),
    )
    .await;
    let foreign_city = create_actor(app, json!({ "kind": "MUNICIPALITY", "name": "Tudela", "country": "ES", "parentId": other_region })).await;
    let ngo = create_actor(
        app,
        json!({ "kind": "NGO", "name": "Caritas", "country": "ES" }),
    )
    .await;
    let city_token = token("city", Some(&city));
    let region_token = token("region", Some(&region));
    let ngo_token = token("ngo", Some(&ngo));

    // Everyone authenticated reads actors.
    let data = app
        .ok_as(&ngo_token, "{ actors { totalCount } }", json!({}))
        .await;
    assert_eq!(data["actors"]["totalCount"], 5);

    // A partner edits its own actor, and nothing else.
    let data = app
        .ok_as(
            &city_token,
            UPDATE_ACTOR,
            json!({ "input": { "id": city, "name": "Calp (Alicante)" } }),
        )
        .await;
    assert_eq!(data["updateActor"]["actor"]["name"], "Calp (Alicante)");
    forbidden(
        app,
        &city_token,
        UPDATE_ACTOR,
        json!({ "input": { "id": ngo, "name": "Hijacked" } }),
    )
    .await;
    forbidden(
        app,
        &ngo_token,
        UPDATE_ACTOR,
        json!({ "input": { "id": city, "name": "Hijacked" } }),
    )
    .await;
    forbidden(
        app,
        &ngo_token,
        CREATE_ACTOR,
        json!({ "input": { "kind": "NGO", "name": "New", "country": "ES" } }),
    )
    .await;
    forbidden(app, &city_token, CREATE_ACTOR, json!({ "input": { "kind": "MUNICIPALITY", "name": "New", "country": "ES", "parentId": region } })).await;

    // A region registers and edits the municipalities of its territory.
    let data = app
        .ok_as(&region_token, CREATE_ACTOR, json!({ "input": { "kind": "MUNICIPALITY", "name": "Cocentaina", "country": "ES", "parentId": region } }))
        .await;
    let cocentaina = data["createActor"]["actor"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.ok_as(
        &region_token,
        UPDATE_ACTOR,
        json!({ "input": { "id": cocentaina, "population": 11500 } }),
    )
    .await;
    app.ok_as(
        &region_token,
        UPDATE_ACTOR,
        json!({ "input": { "id": city, "population": 21000 } }),
    )
    .await;
    forbidden(app, &region_token, CREATE_ACTOR, json!({ "input": { "kind": "MUNICIPALITY", "name": "Elsewhere", "country": "ES", "parentId": other_region } })).await;
    forbidden(
        app,
        &region_token,
        CREATE_ACTOR,
        json!({ "input": { "kind": "MUNICIPALITY", "name": "Nowhere", "country": "ES" } }),
    )
    .await;
    forbidden(app, &region_token, CREATE_ACTOR, json!({ "input": { "kind": "NGO", "name": "Regional NGO", "country": "ES", "parentId": region } })).await;
    forbidden(
        app,
        &region_token,
        UPDATE_ACTOR,
        json!({ "input": { "id": foreign_city, "name": "Annexed" } }),
    )
    .await;
    forbidden(
        app,
        &region_token,
        UPDATE_ACTOR,
        json!({ "input": { "id": city, "parentId": other_region } }),
    )
    .await;
    forbidden(
        app,
        &region_token,
        UPDATE_ACTOR,
        json!({ "input": { "id": other_region, "name": "Renamed" } }),
    )
    .await;

    // Only administrators verify.
    let verify =
        "mutation($input: VerifyActorInput!) { verifyActor(input: $input) { actor { verified } } }";
    forbidden(
        app,
        &region_token,
        verify,
        json!({ "input": { "id": city } }),
    )
    .await;
    let data = app.ok(verify, json!({ "input": { "id": city } })).await;
    assert_eq!(data["verifyActor"]["actor"]["verified"], true);
    // A partner cannot move itself in the hierarchy, and its own edits undo a verification.
    forbidden(
        app,
        &city_token,
        UPDATE_ACTOR,
        json!({ "input": { "id": city, "parentId": other_region } }),
    )
    .await;
    forbidden(
        app,
        &city_token,
        UPDATE_ACTOR,
        json!({ "input": { "id": city, "parentId": null } }),
    )
    .await;
    let data = app
        .ok_as(&city_token, "mutation($input: UpdateActorInput!) { updateActor(input: $input) { actor { name verified } } }", json!({ "input": { "id": city, "name": "Calp" } }))
        .await;
    assert_eq!(
        data["updateActor"]["actor"],
        json!({ "name": "Calp", "verified": false })
    );

    // The viewer is who the token says.
    let data = app
        .ok_as(
            &region_token,
            "{ viewer { subject role actor { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["viewer"],
        json!({ "subject": "region-tester", "role": "REGION", "actor": { "name": "Comunitat Valenciana" } })
    );
}

const CREATE_PARTNERSHIP: &str = "mutation($input: CreatePartnershipInput!) { createPartnership(input: $input) { partnership { id status members { nodes { roles actor { name } } } } } }";
const ADD_MEMBER: &str =
    "mutation($input: AddMemberInput!) { addMember(input: $input) { membership { id roles } } }";
const CHANGE_STATUS: &str = "mutation($input: ChangePartnershipStatusInput!) { changePartnershipStatus(input: $input) { partnership { status } } }";
const UPDATE_PARTNERSHIP: &str = "mutation($input: UpdatePartnershipInput!) { updatePartnership(input: $input) { partnership { title } } }";
const LEAVE: &str = "mutation($input: LeavePartnershipInput!) { leavePartnership(input: $input) { membership { leftOn } } }";

async fn funder(app: &TestApp, name: &str, stream: &str) -> (String, String) {
    let actor = create_actor(
        app,
        json!({ "kind": "NATIONAL_AUTHORITY", "name": name, "country": "ES" }),
    )
    .await;
    let data = app
        .ok(
            "query($c: String!) { fundingStream(code: $c) { id } }",
            json!({ "c": stream }),
        )
        .await;
    let stream_id = data["fundingStream"]["id"]
        .as_str()
        .expect("stream")
        .to_owned();
    app.ok(
        "mutation($input: StreamManagerInput!) { addStreamManager(input: $input) { fundingStream { managers { name } } } }",
        json!({ "input": { "streamId": stream_id, "actorId": actor } }),
    )
    .await;
    (token("funder", Some(&actor)), stream_id)
}

async fn partnership_rights_and_draft_visibility(app: &TestApp) {
    let ngo = create_actor(
        app,
        json!({ "kind": "NGO", "name": "Caritas", "country": "ES" }),
    )
    .await;
    let city = create_actor(
        app,
        json!({ "kind": "MUNICIPALITY", "name": "Calp", "country": "ES" }),
    )
    .await;
    let other_city = create_actor(
        app,
        json!({ "kind": "MUNICIPALITY", "name": "Valencia", "country": "ES" }),
    )
    .await;
    let ngo_token = token("ngo", Some(&ngo));
    let city_token = token("city", Some(&city));
    let other_token = token("city", Some(&other_city));
    let (funder_token, _) = funder(app, "Ministry", "AMIF").await;

    // A partner creates a partnership and becomes its LEAD.
    let data = app
        .ok_as(&ngo_token, CREATE_PARTNERSHIP, json!({ "input": { "title": "Draft programme", "kind": "REGIONAL_SPONSORSHIP_PROGRAMME", "startDate": "2025-01-01" } }))
        .await;
    let p = &data["createPartnership"]["partnership"];
    assert_eq!(p["status"], "DRAFT");
    assert_eq!(
        p["members"]["nodes"],
        json!([{ "roles": ["LEAD"], "actor": { "name": "Caritas" } }])
    );
    let draft = p["id"].as_str().expect("id").to_owned();
    forbidden(app, &city_token, CREATE_PARTNERSHIP, json!({ "input": { "title": "Led by another", "kind": "PROJECT_CONSORTIUM", "startDate": "2025-01-01", "leadActorId": ngo } })).await;
    forbidden(app, &funder_token, CREATE_PARTNERSHIP, json!({ "input": { "title": "A funder's", "kind": "PROJECT_CONSORTIUM", "startDate": "2025-01-01" } })).await;

    // To outsiders a DRAFT does not exist; members, funders and admins see it.
    let read = "query($id: ID!) { partnership(id: $id) { title } node(id: $id) { id } partnerships { totalCount } }";
    let data = app.ok_as(&city_token, read, json!({ "id": draft })).await;
    assert_eq!(
        data,
        json!({ "partnership": null, "node": null, "partnerships": { "totalCount": 0 } })
    );
    for t in [&ngo_token, &funder_token, &app.admin_token] {
        let data = app.ok_as(t, read, json!({ "id": draft })).await;
        assert_eq!(data["partnership"]["title"], "Draft programme");
        assert_eq!(data["partnerships"]["totalCount"], 1);
    }
    let response = app
        .graphql_as(
            &city_token,
            UPDATE_PARTNERSHIP,
            json!({ "input": { "id": draft, "title": "Mine now" } }),
        )
        .await;
    assert_eq!(
        error_code(&response),
        "NOT_FOUND",
        "not FORBIDDEN: the draft does not exist for an outsider"
    );
    let response = app
        .graphql_as(
            &city_token,
            ADD_MEMBER,
            json!({ "input": { "partnershipId": draft, "actorId": city, "roles": ["PARTNER"] } }),
        )
        .await;
    assert_eq!(
        error_code(&response),
        "BAD_USER_INPUT",
        "joining a draft one cannot see: {response}"
    );

    // The LEAD adds a member, who then sees the draft but cannot manage it.
    let data = app
        .ok_as(
            &ngo_token,
            ADD_MEMBER,
            json!({ "input": { "partnershipId": draft, "actorId": city, "roles": ["PARTNER"] } }),
        )
        .await;
    let city_membership = data["addMember"]["membership"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let data = app.ok_as(&city_token, read, json!({ "id": draft })).await;
    assert_eq!(data["partnership"]["title"], "Draft programme");
    let data = app.ok_as(&other_token, "query($id: ID!) { actor(id: $id) { memberships { totalCount } partnerships { totalCount } } }", json!({ "id": city })).await;
    assert_eq!(
        data["actor"],
        json!({ "memberships": { "totalCount": 0 }, "partnerships": { "totalCount": 0 } }),
        "an outsider does not see memberships of drafts"
    );
    forbidden(
        app,
        &city_token,
        UPDATE_PARTNERSHIP,
        json!({ "input": { "id": draft, "title": "Taken over" } }),
    )
    .await;
    forbidden(
        app,
        &city_token,
        CHANGE_STATUS,
        json!({ "input": { "id": draft, "status": "ACTIVE" } }),
    )
    .await;
    forbidden(
        app,
        &city_token,
        ADD_MEMBER,
        json!({ "input": { "partnershipId": draft, "actorId": other_city, "roles": ["PARTNER"] } }),
    )
    .await;
    forbidden(
        app,
        &funder_token,
        CHANGE_STATUS,
        json!({ "input": { "id": draft, "status": "ACTIVE" } }),
    )
    .await;

    // The LEAD activates; then anyone may join by itself, but not add others.
    app.ok_as(
        &ngo_token,
        UPDATE_PARTNERSHIP,
        json!({ "input": { "id": draft, "title": "Programme" } }),
    )
    .await;
    app.ok_as(
        &ngo_token,
        CHANGE_STATUS,
        json!({ "input": { "id": draft, "status": "ACTIVE" } }),
    )
    .await;
    forbidden(
        app,
        &other_token,
        ADD_MEMBER,
        json!({ "input": { "partnershipId": draft, "actorId": other_city, "roles": ["FUNDING"] } }),
    )
    .await;
    let data = app.ok_as(&other_token, ADD_MEMBER, json!({ "input": { "partnershipId": draft, "actorId": other_city, "roles": ["PARTNER"], "joinedOn": "2001-01-01" } })).await;
    let other_membership = data["addMember"]["membership"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // A member leaves by itself; it cannot end another's membership; the LEAD can.
    forbidden(
        app,
        &city_token,
        LEAVE,
        json!({ "input": { "id": other_membership } }),
    )
    .await;
    let update_member = "mutation($input: UpdateMemberInput!) { updateMember(input: $input) { membership { roles } } }";
    forbidden(
        app,
        &city_token,
        update_member,
        json!({ "input": { "id": city_membership, "roles": ["PARTNER", "FUNDING"] } }),
    )
    .await;
    app.ok_as(
        &city_token,
        LEAVE,
        json!({ "input": { "id": city_membership } }),
    )
    .await;
    forbidden(
        app,
        &city_token,
        LEAVE,
        json!({ "input": { "id": city_membership, "leftOn": "2002-01-01" } }),
    )
    .await;
    app.ok_as(
        &ngo_token,
        LEAVE,
        json!({ "input": { "id": other_membership } }),
    )
    .await;
    let data = app.ok_as(&other_token, read, json!({ "id": draft })).await;
    assert_eq!(
        data["partnership"]["title"], "Programme",
        "an ACTIVE partnership is visible to all"
    );
}

async fn funding_rights(app: &TestApp) {
    let ngo = create_actor(
        app,
        json!({ "kind": "NGO", "name": "Caritas", "country": "ES" }),
    )
    .await;
    let ngo_token = token("ngo", Some(&ngo));
    let (amif_funder, amif) = funder(app, "Ministry of Inclusion", "AMIF").await;
    let (erdf_funder, _) = funder(app, "Managing authority ERDF", "ERDF").await;
    let data = app
        .ok_as(&ngo_token, CREATE_PARTNERSHIP, json!({ "input": { "title": "SOMOS", "kind": "REGIONAL_SPONSORSHIP_PROGRAMME", "startDate": "2025-01-01" } }))
        .await;
    let partnership = data["createPartnership"]["partnership"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let create = "mutation($input: CreateAllocationInput!) { createAllocation(input: $input) { allocation { id status } } }";
    let authority = create_actor(
        app,
        json!({ "kind": "NATIONAL_AUTHORITY", "name": "AMIF authority", "country": "ES" }),
    )
    .await;
    let programme_input = json!({ "input": { "streamId": amif, "code": "2021ES65AMPR001", "title": "AMIF Spain",
                                  "managingAuthorityId": authority, "country": "ES", "envelope": "1000000" } });
    let create_programme = "mutation($input: CreateProgrammeInput!) { createProgramme(input: $input) { programme { id } } }";
    forbidden(app, &erdf_funder, create_programme, programme_input.clone()).await;
    forbidden(app, &ngo_token, create_programme, programme_input.clone()).await;
    let data = app
        .ok_as(&amif_funder, create_programme, programme_input)
        .await;
    let programme = data["createProgramme"]["programme"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let input = json!({ "input": { "partnershipId": partnership, "programmeId": programme, "ceilingCase": "STANDARD", "eligibleCost": "1000", "euContribution": "750" } });
    forbidden(app, &ngo_token, create, input.clone()).await;
    forbidden(app, &erdf_funder, create, input.clone()).await;
    let data = app.ok_as(&amif_funder, create, input).await;
    let allocation = data["createAllocation"]["allocation"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let award = "mutation($input: ChangeAllocationStatusInput!) { changeAllocationStatus(input: $input) { allocation { status } } }";
    let award_input =
        json!({ "input": { "id": allocation, "status": "AWARDED", "decisionDate": "2025-03-01" } });
    forbidden(app, &erdf_funder, award, award_input.clone()).await;
    forbidden(app, &ngo_token, "mutation($input: UpdateAllocationInput!) { updateAllocation(input: $input) { allocation { id } } }", json!({ "input": { "id": allocation, "euContribution": "1" } })).await;
    let data = app.ok_as(&amif_funder, award, award_input).await;
    assert_eq!(
        data["changeAllocationStatus"]["allocation"]["status"],
        "AWARDED"
    );

    // Streams, managers and ceiling rules: administrators only.
    let rule = "mutation($input: CreateCeilingRuleInput!) { createCeilingRule(input: $input) { ceilingRule { id case maxRate verified } } }";
    let rule_input = json!({ "input": { "streamId": amif, "case": "OUTERMOST_REGION", "description": "Outermost regions", "maxRate": "0.85", "legalReference": "Regulation (EU) 2021/1147" } });
    forbidden(app, &amif_funder, rule, rule_input.clone()).await;
    let data = app.ok(rule, rule_input).await;
    assert_eq!(
        data["createCeilingRule"]["ceilingRule"]["maxRate"],
        "0.8500"
    );
    let rule_id = data["createCeilingRule"]["ceilingRule"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let correct = "mutation($input: UpdateCeilingRuleInput!) { updateCeilingRule(input: $input) { ceilingRule { maxRate verified } } }";
    forbidden(
        app,
        &amif_funder,
        correct,
        json!({ "input": { "id": rule_id, "maxRate": "1" } }),
    )
    .await;
    let data = app
        .ok(
            correct,
            json!({ "input": { "id": rule_id, "maxRate": "0.8", "verified": true } }),
        )
        .await;
    assert_eq!(
        data["updateCeilingRule"]["ceilingRule"],
        json!({ "maxRate": "0.8000", "verified": true })
    );
    let response = app
        .graphql(
            correct,
            json!({ "input": { "id": rule_id, "maxRate": "1.5" } }),
        )
        .await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    forbidden(app, &amif_funder, "mutation($input: StreamManagerInput!) { addStreamManager(input: $input) { fundingStream { code } } }", json!({ "input": { "streamId": amif, "actorId": ngo } })).await;
    // Funders read everything, including the managers of streams.
    let data = app
        .ok_as(
            &erdf_funder,
            "{ fundingStream(code: \"AMIF\") { managers { name } allocations { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["fundingStream"],
        json!({ "managers": [{ "name": "Ministry of Inclusion" }], "allocations": { "totalCount": 1 } })
    );
}
