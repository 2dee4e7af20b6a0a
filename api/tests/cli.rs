//! The `registry` binary: it refuses to start without a proper secret unless `--dev`, mints
//! tokens the server accepts, prints the committed schema, imports files (whole or skipping
//! invalid lines) and writes synthetic data, with exit statuses and messages a user sees.

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

/// A fresh SQLite database in a directory of its own, and a runner of `registry` on it.
struct Scratch {
    dir: std::path::PathBuf,
    url: String,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "registry-cli-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}/cli.db?mode=rwc", dir.display());
        Self { dir, url }
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, content).expect("write");
        path.display().to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_registry"))
            .args(args)
            .env("DATABASE_URL", &self.url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run registry")
    }

    async fn rows(&self, table: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let db = persistence::Database::connect(&self.url).await.expect("db");
        let row = db
            .connection()
            .query_one_raw(sea_orm::Statement::from_string(
                db.connection().get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("a row");
        let n = row.try_get("", "n").expect("n");
        db.close().await.expect("close");
        n
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `registry import` as a user runs it: an invalid line refuses the whole file with its line
/// and field, exit status 1 and nothing written; `--skip-invalid` (whatever the default of
/// `--all-or-nothing`) imports the valid lines and names the others; CSV takes `--type`.
#[tokio::test]
async fn import_refuses_an_invalid_file_whole_or_skips_its_invalid_lines() {
    let scratch = Scratch::new("import");
    let file = scratch.file(
        "actors.jsonl",
        "{\"type\":\"actor\",\"kind\":\"NGO\",\"name\":\"Centro Astalli\",\"country\":\"IT\"}\n\
         {\"type\":\"actor\",\"kind\":\"NGO\",\"name\":\"\",\"country\":\"IT\"}\n",
    );
    let refused = scratch.run(&["import", "--format", "jsonl", &file]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(
        message.contains("import refused, nothing was written")
            && message.contains("line 2: name: "),
        "{message}"
    );
    assert_eq!(scratch.rows("actor").await, 0);
    assert_eq!(scratch.rows("audit_event").await, 0);

    let skipped = scratch.run(&["import", "--format", "jsonl", "--skip-invalid", &file]);
    assert!(skipped.status.success(), "{}", stderr(&skipped));
    assert!(
        stderr(&skipped).contains("skipped: line 2: name: "),
        "{}",
        stderr(&skipped)
    );
    let out = String::from_utf8_lossy(&skipped.stdout);
    assert!(
        out.starts_with("1 actors, 0 partnerships, 0 memberships and 0 allocations imported in ")
            && out.contains("; 1 lines skipped"),
        "{out}"
    );
    assert_eq!(scratch.rows("actor").await, 1);
    assert_eq!(scratch.rows("audit_event").await, 1, "one import event");

    let csv = scratch.file(
        "actors.csv",
        "kind,name,country,nutsCode,nutsVersion,population,parentId\nREGION,Lazio,IT,ITI4,2021,,\n",
    );
    let untyped = scratch.run(&["import", "--format", "csv", &csv]);
    assert_eq!(untyped.status.code(), Some(1));
    assert!(stderr(&untyped).contains("--type"), "{}", stderr(&untyped));
    let typed = scratch.run(&["import", "--format", "csv", "--type", "actor", &csv]);
    assert!(typed.status.success(), "{}", stderr(&typed));
    assert_eq!(scratch.rows("actor").await, 2);
}

/// Away from a terminal (a log, a CI job) the import prints plain progress lines, every
/// `--progress-every` seconds, with the lines done and the share of the file read; a bad
/// interval is refused with the rule.
#[tokio::test]
async fn import_prints_plain_progress_lines_away_from_a_terminal() {
    let scratch = Scratch::new("progress");
    let lines: String = (0..3000)
        .map(|i| {
            format!("{{\"type\":\"actor\",\"kind\":\"NGO\",\"name\":\"NGO {i:05}\",\"country\":\"IT\"}}\n")
        })
        .collect();
    let size = lines.len();
    let file = scratch.file("actors.jsonl", &lines);
    for bad in ["0", "-1", "soon"] {
        let flag = format!("--progress-every={bad}");
        let refused = scratch.run(&["import", "--format", "jsonl", &flag, &file]);
        assert_eq!(refused.status.code(), Some(2), "{bad}");
        assert!(
            stderr(&refused).contains("must be a number of seconds from 0.001 to 86400"),
            "{}",
            stderr(&refused)
        );
    }
    assert!(
        !scratch.dir.join("cli.db").exists(),
        "refused before the database is opened"
    );

    // The test's stderr is a pipe, never a terminal.
    let run = scratch.run(&[
        "import",
        "--format",
        "jsonl",
        "--progress-every",
        "0.005",
        &file,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let err = stderr(&run);
    let progress: Vec<(u64, f64)> = err
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("import: ")?;
            let (done, rest) = rest.split_once(" lines, ")?;
            let (share, rest) = rest.split_once("% of ")?;
            assert!(rest.starts_with(&format!("{size} bytes, ")), "{line}");
            Some((done.parse().ok()?, share.parse().ok()?))
        })
        .collect();
    assert!(!progress.is_empty(), "no progress line in {err}");
    assert!(
        progress
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1),
        "{progress:?}"
    );
    assert!(
        progress
            .iter()
            .all(|(done, share)| *done <= 3000 && *share <= 100.0),
        "{progress:?}"
    );
    assert!(!err.contains('\r'), "no bar drawing on a pipe: {err}");
    assert!(
        String::from_utf8_lossy(&run.stdout).starts_with(
            "3000 actors, 0 partnerships, 0 memberships and 0 allocations imported in "
        ),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    assert_eq!(scratch.rows("actor").await, 3000);
}

/// `registry seed-synthetic` refuses a scale outside (0, 100] with the rule, and writes the
/// scale's counts into an empty registry only.
#[tokio::test]
async fn seed_synthetic_checks_its_scale_and_wants_an_empty_registry() {
    let scratch = Scratch::new("synthetic");
    for bad in ["0", "101"] {
        let output = scratch.run(&["seed-synthetic", "--scale", bad]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("scale: must be above 0 and at most 100"),
            "{}",
            stderr(&output)
        );
    }
    let output = scratch.run(&["seed-synthetic", "--scale", "0.01"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(scratch.rows("actor").await, 100);
    assert_eq!(scratch.rows("partnership").await, 500);
    assert_eq!(scratch.rows("membership").await, 2500);
    assert_eq!(scratch.rows("allocation").await, 1000);
    let again = scratch.run(&["seed-synthetic", "--scale", "0.01"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("empty registry"),
        "{}",
        stderr(&again)
    );
    assert_eq!(scratch.rows("actor").await, 100, "nothing added");
}
