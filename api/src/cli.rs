//! The `registry` command line: serve, migrate, print the schema, load the demo data, mint a
//! development token.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use persistence::Database;

use crate::auth::{AuthConfig, DEV_SECRET, MIN_SECRET_BYTES, MintRequest, Secret, Verifier};

/// The embedded default: a SQLite file in the working directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://registry.db?mode=rwc";

#[derive(Debug, Parser)]
#[command(
    name = "registry",
    version,
    about = "Partnership Registry: a GraphQL API for migrant-integration partnerships and their EU funding"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct DatabaseArgs {
    /// sqlite://FILE?mode=rwc (embedded) or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
}

/// Token settings, shared by `serve` and `token`.
#[derive(Debug, clap::Args)]
struct AuthArgs {
    /// HS256 shared secret, at least 32 bytes. Read from the environment only, so it never
    /// shows in a process list.
    #[arg(skip)]
    secret: Option<String>,
    /// A PEM public key or a JWKS file (RS256, ES256, EdDSA; JWKS keys picked by `kid`).
    #[arg(long, env = "REGISTRY_JWT_KEYS")]
    jwt_keys: Option<PathBuf>,
    /// Expected `iss` claim.
    #[arg(
        long,
        env = "REGISTRY_JWT_ISSUER",
        default_value = "partnership-registry"
    )]
    jwt_issuer: String,
    /// Expected `aud` claim.
    #[arg(
        long,
        env = "REGISTRY_JWT_AUDIENCE",
        default_value = "partnership-registry"
    )]
    jwt_audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds (at most 60).
    #[arg(long, env = "REGISTRY_JWT_LEEWAY", default_value_t = 30)]
    jwt_leeway: u64,
    /// Development mode: without a configured secret, use the public development secret.
    #[arg(long)]
    dev: bool,
}

impl AuthArgs {
    /// The verifier's configuration; the secret comes from `REGISTRY_JWT_SECRET`.
    fn config(&self) -> Result<AuthConfig, String> {
        let mut secret = std::env::var("REGISTRY_JWT_SECRET")
            .ok()
            .or_else(|| self.secret.clone())
            .filter(|s| !s.is_empty());
        if self.dev {
            if secret.is_none() && self.jwt_keys.is_none() {
                tracing::warn!(
                    "--dev: using the public development secret; never do this in production"
                );
                secret = Some(DEV_SECRET.to_owned());
            }
        } else if self.jwt_keys.is_none() {
            match &secret {
                None => {
                    return Err(
                        "REGISTRY_JWT_SECRET is not set: give a secret of at least 32 bytes, or REGISTRY_JWT_KEYS, or start with --dev for development".into(),
                    );
                }
                Some(s) if s.len() < MIN_SECRET_BYTES => {
                    return Err(format!(
                        "REGISTRY_JWT_SECRET is too short: at least {MIN_SECRET_BYTES} bytes are needed (got {}); --dev allows it for development",
                        s.len()
                    ));
                }
                Some(_) => {}
            }
        }
        if self.dev
            && let Some(s) = &secret
            && s.len() < MIN_SECRET_BYTES
        {
            tracing::warn!(
                "--dev: REGISTRY_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes; padding it for development"
            );
            secret = Some(format!("{s:0<width$}", width = MIN_SECRET_BYTES));
        }
        Ok(AuthConfig {
            secret: secret.map(Secret::new),
            keys_file: self.jwt_keys.clone(),
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            leeway_seconds: self.jwt_leeway,
        })
    }
}

/// `1h`, `30m`, `90s`, `7d`, or plain seconds.
fn parse_ttl(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 90s, 30m, 1h or 7d"))?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("`{text}`: the unit is one of s, m, h, d")),
    };
    number
        .checked_mul(factor)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("`{text}` is not a positive duration"))
}

/// The server's settings from the command line; see `config::Settings` for the layering.
#[derive(Debug, clap::Args)]
struct ServerArgs {
    /// A TOML file of settings (the README lists them); the environment and flags override it.
    #[arg(long, env = "REGISTRY_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080; env REGISTRY_LISTEN].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// sqlite://FILE?mode=rwc or postgres://USER@HOST:PORT/DB [env DATABASE_URL].
    #[arg(long)]
    database_url: Option<String>,
    /// Waited before each batch of loads is read, in milliseconds: batching needs none, so
    /// this only plays a slow database [default: 0; env REGISTRY_BATCH_WINDOW_MS].
    #[arg(long)]
    batch_window_ms: Option<u64>,
    /// Turns schema introspection on (off by default outside --dev).
    #[arg(long)]
    introspection: bool,
    /// Turns the GraphiQL page on (off by default outside --dev).
    #[arg(long)]
    graphiql: bool,
    /// Runs only the operations listed in this JSON file.
    #[arg(long)]
    allow_list: Option<PathBuf>,
    /// A frontend origin allowed to call the API from a browser (repeatable).
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
    /// Deepest selection nesting [default: 12].
    #[arg(long)]
    max_depth: Option<usize>,
    /// Largest query complexity [default: 20000].
    #[arg(long)]
    max_complexity: Option<usize>,
    /// Longest time a request may run, in milliseconds [default: 10000].
    #[arg(long)]
    request_timeout_ms: Option<u64>,
    /// Turns rate limiting off.
    #[arg(long)]
    no_rate_limits: bool,
}

impl ServerArgs {
    /// Defaults, then the TOML file, then the environment, then these flags (`--dev` turns
    /// introspection and GraphiQL on); checked.
    fn settings(&self, dev: bool) -> Result<crate::config::Settings, String> {
        let mut s = match &self.config {
            Some(path) => crate::config::Settings::from_file(path).map_err(|e| e.to_string())?,
            None => crate::config::Settings::default(),
        };
        s.apply_env(|name| std::env::var(name).ok())
            .map_err(|e| e.to_string())?;
        if let Some(v) = self.listen {
            s.listen = v;
        }
        if let Some(v) = &self.database_url {
            s.database_url.clone_from(v);
        }
        if let Some(v) = self.batch_window_ms {
            s.batch_window_ms = v;
        }
        if self.introspection || dev {
            s.introspection = true;
        }
        if self.graphiql || dev {
            s.graphiql = true;
        }
        if let Some(v) = &self.allow_list {
            s.allow_list = Some(v.clone());
        }
        if !self.cors_origins.is_empty() {
            s.cors_origins.clone_from(&self.cors_origins);
        }
        if let Some(v) = self.max_depth {
            s.limits.max_depth = v;
        }
        if let Some(v) = self.max_complexity {
            s.limits.max_complexity = v;
        }
        if let Some(v) = self.request_timeout_ms {
            s.limits.request_timeout_ms = v;
        }
        if self.no_rate_limits {
            s.rate_limits.enabled = false;
        }
        s.validate().map_err(|e| e.to_string())?;
        Ok(s)
    }
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Prints the effective settings (defaults, file, environment, flags) with secrets
    /// hidden; exits with status 1 naming the first invalid setting.
    Check {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        auth: AuthArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walks the hash chain of the audit trail; exits with status 1 at the first event whose
    /// hash or link does not match, naming it.
    Verify {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Applies pending migrations, then serves GraphQL on /graphql.
    Serve {
        #[command(flatten)]
        server: ServerArgs,
        /// Loads the demo data set first (idempotent).
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        auth: AuthArgs,
    },
    /// The server's configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Mints an HS256 token with the configured secret, for development and tests.
    Token {
        /// city, region, ngo, funder or admin.
        #[arg(long)]
        role: String,
        /// The actor's id as the API shows it (required for every role but admin).
        #[arg(long)]
        actor: Option<String>,
        /// How long the token is valid: 90s, 30m, 1h, 7d.
        #[arg(long, default_value = "1h", value_parser = parse_ttl)]
        ttl: u64,
        /// The `sub` claim.
        #[arg(long, default_value = "registry-cli")]
        subject: String,
        #[command(flatten)]
        auth: AuthArgs,
    },
    /// Applies pending migrations and exits.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Prints the GraphQL schema (SDL).
    Schema,
    /// Loads the demo data set (public facts only; running it again changes nothing).
    SeedDemo {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Writes the synthetic data set (scale 1: 10,000 actors, 50,000 partnerships, 250,000
    /// memberships, 100,000 allocations) into an empty registry; the same scale writes the same
    /// rows.
    SeedSynthetic {
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Loads actors, partnerships, memberships and allocations from a CSV or JSON Lines
    /// file, every line checked by the API's rules; by default the whole file or nothing.
    Import {
        /// csv (one record type per file, with --type) or jsonl (one JSON object per line).
        #[arg(long, value_enum)]
        format: crate::import::Format,
        /// The type of every record; in JSON Lines each line may name it in "type" instead.
        #[arg(long = "type", value_enum)]
        record_type: Option<crate::import::RecordType>,
        /// Roll the whole file back on the first invalid line (the default).
        #[arg(long, default_value_t = true, conflicts_with = "skip_invalid")]
        all_or_nothing: bool,
        /// Skip invalid lines (each is reported) and import the rest; rules across lines
        /// (a partnership's set of members) still roll the file back.
        #[arg(long)]
        skip_invalid: bool,
        /// Seconds between progress lines when standard error is not a terminal (a log, a CI
        /// job); a terminal gets a progress bar instead.
        #[arg(long, default_value_t = 5.0, value_parser = progress_every)]
        progress_every: f64,
        /// The file to read.
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

async fn open(database: &DatabaseArgs) -> Result<Database, String> {
    let db = Database::connect(&database.database_url)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    db.migrate()
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    Ok(db)
}

/// `--progress-every`: seconds, at least a millisecond and at most a day.
fn progress_every(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(s) if (0.001..=86_400.0).contains(&s) => Ok(s),
        _ => Err("must be a number of seconds from 0.001 to 86400".into()),
    }
}

/// Runs an import with a progress bar on a terminal, or a progress line every `every`
/// otherwise (a log, a CI job), and prints what was written.
async fn import(
    db: &Database,
    file: &std::path::Path,
    options: &crate::import::Options,
    every: std::time::Duration,
) -> Result<(), String> {
    use std::io::IsTerminal;
    use std::sync::atomic::Ordering;
    let size = std::fs::metadata(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?
        .len();
    let progress = Arc::new(crate::import::Progress::default());
    let started = std::time::Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} (eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let watcher = {
        let progress = Arc::clone(&progress);
        let bar = bar.clone();
        tokio::spawn(async move {
            let period = if bar.is_some() {
                std::time::Duration::from_millis(100)
            } else {
                every
            };
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tick.tick().await;
                let bytes = progress.bytes.load(Ordering::Relaxed);
                let rows = progress.rows.load(Ordering::Relaxed);
                match &bar {
                    Some(bar) => {
                        bar.set_position(bytes);
                        bar.set_message(format!("{rows} lines"));
                    }
                    None => eprintln!(
                        "import: {rows} lines, {:.0}% of {size} bytes, {:.0} s",
                        bytes as f64 * 100.0 / size.max(1) as f64,
                        started.elapsed().as_secs_f64()
                    ),
                }
            }
        })
    };
    let result = crate::import::run(db, file, options, progress).await;
    watcher.abort();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = result.map_err(|e| format!("import refused, nothing was written: {e}"))?;
    for message in &report.skipped {
        eprintln!("skipped: {message}");
    }
    let c = report.counts;
    println!(
        "{} actors, {} partnerships, {} memberships and {} allocations imported in {:.1} s{}",
        c.actors,
        c.partnerships,
        c.memberships,
        c.allocations,
        started.elapsed().as_secs_f64(),
        if report.skipped.is_empty() {
            String::new()
        } else {
            format!("; {} lines skipped", report.skipped.len())
        }
    );
    Ok(())
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Migrate { database } => {
            open(&database).await?;
            tracing::info!("migrations are up to date");
            Ok(())
        }
        Command::Import {
            format,
            record_type,
            all_or_nothing: _,
            skip_invalid,
            progress_every,
            file,
            database,
        } => {
            let db = open(&database)
                .await?
                .with_audit(persistence::audit::AuditContext::system("import"));
            let options = crate::import::Options {
                format,
                record_type,
                skip_invalid,
            };
            let every = std::time::Duration::from_secs_f64(progress_every);
            import(&db, &file, &options, every).await
        }
        Command::SeedSynthetic { scale, database } => {
            let db = open(&database)
                .await?
                .with_audit(persistence::audit::AuditContext::system("seed-synthetic"));
            let started = std::time::Instant::now();
            let counts = db
                .seed_synthetic(scale)
                .await
                .map_err(|e| format!("synthetic data: {e}"))?;
            println!(
                "{} actors, {} partnerships, {} memberships and {} allocations written in {:.1} s",
                counts.actors,
                counts.partnerships,
                counts.memberships,
                counts.allocations,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { database },
        } => {
            let db = open(&database).await?;
            let report = db
                .verify_chain()
                .await
                .map_err(|e| format!("cannot read the audit trail: {e}"))?;
            match report.first_broken {
                None => {
                    println!("audit chain verified: {} events", report.events_checked);
                    Ok(())
                }
                Some(seq) => Err(format!(
                    "audit chain broken at event {seq}: {} ({} events before it verified)",
                    report.reason.unwrap_or_default(),
                    report.events_checked
                )),
            }
        }
        Command::SeedDemo { database } => {
            let db = open(&database)
                .await?
                .with_audit(persistence::audit::AuditContext::system("seed-demo"));
            let summary = crate::demo::seed(&db)
                .await
                .map_err(|e| format!("demo data: {e}"))?;
            tracing::info!(%summary, "demo data loaded");
            Ok(())
        }
        Command::Token {
            role,
            actor,
            ttl,
            subject,
            auth,
        } => {
            let config = auth.config()?;
            let secret = config.secret.ok_or(
                "registry token signs with REGISTRY_JWT_SECRET (or the development secret with --dev)",
            )?;
            match domain::access::Role::from_code(&role) {
                None => {
                    return Err(format!(
                        "--role: `{role}` is not one of city, region, ngo, funder, admin"
                    ));
                }
                Some(r) if r != domain::access::Role::Admin && actor.is_none() => {
                    return Err(format!(
                        "--actor is required for the role `{role}`: the actor's id as the API shows it"
                    ));
                }
                Some(_) => {}
            }
            let token = crate::auth::mint(
                secret.expose(),
                &MintRequest {
                    subject,
                    role,
                    actor_id: actor,
                    ttl_seconds: ttl,
                    issuer: config.issuer,
                    audience: config.audience,
                },
            )?;
            println!("{token}");
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check { server, auth },
        } => {
            let settings = server.settings(auth.dev)?;
            let auth_config = auth.config()?;
            Verifier::new(&auth_config)?;
            print!("{}", settings.to_toml_redacted());
            println!();
            println!("[auth]");
            println!(
                "jwt_secret = {:?}",
                if std::env::var("REGISTRY_JWT_SECRET").is_ok_and(|s| !s.is_empty()) {
                    "set (hidden)"
                } else if auth.dev && auth.jwt_keys.is_none() {
                    "the public development secret (--dev)"
                } else {
                    "not set"
                }
            );
            println!(
                "jwt_keys = {:?}",
                auth.jwt_keys
                    .as_ref()
                    .map_or_else(|| "none".to_owned(), |p| p.display().to_string())
            );
            println!("jwt_issuer = {:?}", auth.jwt_issuer);
            println!("jwt_audience = {:?}", auth.jwt_audience);
            println!("jwt_leeway = {}", auth.jwt_leeway);
            Ok(())
        }
        Command::Serve { server, demo, auth } => {
            let settings = server.settings(auth.dev)?;
            let verifier = Arc::new(Verifier::new(&auth.config()?)?);
            let pool = persistence::PoolSettings {
                max_connections: settings.database_max_connections,
                acquire_timeout: std::time::Duration::from_millis(
                    settings.database_acquire_timeout_ms,
                ),
            };
            let db = Database::connect_with(&settings.database_url, pool)
                .await
                .map_err(|e| format!("cannot open the database: {e}"))?;
            db.migrate()
                .await
                .map_err(|e| format!("migrations failed: {e}"))?;
            if demo {
                let db = db.with_audit(persistence::audit::AuditContext::system("seed-demo"));
                let summary = crate::demo::seed(&db)
                    .await
                    .map_err(|e| format!("demo data: {e}"))?;
                tracing::info!(%summary, "demo data loaded");
            }
            let listen = settings.listen;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            tracing::info!("serving GraphQL on http://{listen}/graphql");
            crate::http::serve(
                listener,
                db.clone(),
                verifier,
                settings,
                crate::http::shutdown_signal(),
            )
            .await
            .map_err(|e| format!("server error: {e}"))?;
            db.close()
                .await
                .map_err(|e| format!("closing the database: {e}"))?;
            Ok(())
        }
    }
}

/// Parses the command line, runs the command, and turns failures into exit status 1 with a
/// message on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("registry: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Flush the spans still queued for OTLP export; a no-op without the `otlp` feature.
    crate::telemetry::shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("registry: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ttl;

    #[test]
    fn ttls_have_units() {
        assert_eq!(parse_ttl("1h"), Ok(3600));
        assert_eq!(parse_ttl("30m"), Ok(1800));
        assert_eq!(parse_ttl("90"), Ok(90));
        assert_eq!(parse_ttl("7d"), Ok(604_800));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("1y").is_err());
        assert!(parse_ttl("h").is_err());
    }
}
