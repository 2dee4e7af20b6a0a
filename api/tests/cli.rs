//! The `registry` binary: it refuses to start without a proper secret unless `--dev`, mints
//! tokens the server accepts, and prints the committed schema.

use std::process::{Command, Output};

fn registry(args: &[&str], secret: Option<&str>) -> Output {
    let dir = std::env::temp_dir().join(format!("registry-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_registry"));
    command
        .args(args)
        .current_dir(&dir)
        .env_remove("REGISTRY_JWT_SECRET")
        .env_remove("REGISTRY_JWT_KEYS")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/cli.db?mode=rwc", dir.display()),
        )
        .env("RUST_LOG", "warn");
    if let Some(secret) = secret {
        command.env("REGISTRY_JWT_SECRET", secret);
    }
    command.output().expect("run registry")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn serve_refuses_to_start_without_a_secret() {
    let output = registry(&["serve", "--listen", "127.0.0.1:0"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("REGISTRY_JWT_SECRET is not set"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn serve_refuses_to_start_with_a_short_secret() {
    let output = registry(&["serve", "--listen", "127.0.0.1:0"], Some("too-short"));
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("too short") && message.contains("32 bytes"),
        "{message}"
    );
}

#[test]
fn serve_refuses_a_leeway_over_a_minute() {
    let output = registry(
        &["serve", "--listen", "127.0.0.1:0", "--jwt-leeway", "61"],
        Some("a-secret-that-is-long-enough-for-hs256-0123"),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("REGISTRY_JWT_LEEWAY"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn token_mints_a_jwt_signed_with_the_secret() {
    let secret = "a-secret-that-is-long-enough-for-hs256-0123";
    let output = registry(
        &[
            "token",
            "--role",
            "admin",
            "--ttl",
            "10m",
            "--subject",
            "ops",
        ],
        Some(secret),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let verifier = api::auth::Verifier::new(&api::auth::AuthConfig {
        secret: Some(api::auth::Secret::new(secret.to_owned())),
        keys_file: None,
        issuer: "partnership-registry".into(),
        audience: "partnership-registry".into(),
        leeway_seconds: 0,
    })
    .expect("verifier");
    let claims = verifier.verify(&token).expect("the minted token verifies");
    assert_eq!(claims.role, "admin");
    assert_eq!(claims.sub, "ops");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(
        (now + 590..=now + 610).contains(&claims.exp),
        "ttl of ten minutes"
    );
}

#[test]
fn token_needs_an_actor_for_partner_roles_and_a_known_role() {
    let secret = "a-secret-that-is-long-enough-for-hs256-0123";
    let output = registry(&["token", "--role", "city"], Some(secret));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--actor is required"),
        "{}",
        stderr(&output)
    );
    let output = registry(&["token", "--role", "mayor"], Some(secret));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is not one of"),
        "{}",
        stderr(&output)
    );
    let output = registry(&["token", "--role", "admin"], None);
    assert_eq!(output.status.code(), Some(1), "no secret, no token");
    let output = registry(&["token", "--role", "admin", "--dev"], None);
    assert!(
        output.status.success(),
        "--dev signs with the development secret"
    );
}

#[test]
fn schema_prints_the_committed_sdl() {
    let output = registry(&["schema"], None);
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql"))
            .expect("schema.graphql");
    assert_eq!(String::from_utf8_lossy(&output.stdout), committed);
}

#[tokio::test]
async fn audit_verify_names_a_tampered_event_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("registry-cli-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}/audit.db?mode=rwc", dir.display());
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_registry"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run registry")
    };
    assert!(run(&["seed-demo"]).status.success());
    let output = run(&["audit", "verify"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("audit chain verified: "));
    let db = persistence::Database::connect(&url).await.expect("db");
    use sea_orm::ConnectionTrait;
    db.connection()
        .execute_unprepared("UPDATE audit_event SET operation = 'rewritten' WHERE seq = 7")
        .await
        .expect("tamper");
    db.close().await.expect("close");
    let output = run(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("broken at event 7"),
        "{}",
        stderr(&output)
    );
    let _ = std::fs::remove_dir_all(dir);
}
