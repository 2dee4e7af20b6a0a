//! The `registry` command line: serve, migrate, print the schema, load the demo data.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use persistence::Database;

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

#[derive(Debug, Subcommand)]
enum Command {
    /// Applies pending migrations, then serves GraphQL on /graphql.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "REGISTRY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Loads the demo data set first (idempotent).
        #[arg(long)]
        demo: bool,
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
        Command::SeedDemo { database } => {
            let db = open(&database).await?;
            let summary = crate::demo::seed(&db)
                .await
                .map_err(|e| format!("demo data: {e}"))?;
            tracing::info!(%summary, "demo data loaded");
            Ok(())
        }
        Command::Serve {
            listen,
            database,
            demo,
        } => {
            let db = open(&database).await?;
            if demo {
                let summary = crate::demo::seed(&db)
                    .await
                    .map_err(|e| format!("demo data: {e}"))?;
                tracing::info!(%summary, "demo data loaded");
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            tracing::info!("serving GraphQL on http://{listen}/graphql");
            crate::http::serve(listener, db.clone(), crate::http::shutdown_signal())
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
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("registry: {message}");
            ExitCode::FAILURE
        }
    }
}
