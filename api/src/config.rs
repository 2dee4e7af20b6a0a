//! The server's settings, layered: built-in defaults, then an optional TOML file (`--config`),
//! then `REGISTRY_*` environment variables, then command-line flags. Every setting is checked
//! at start-up; a bad one stops the server with a message naming it. `registry config check`
//! prints the effective settings with secrets hidden.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything `registry serve` needs besides token verification (see `cli::AuthArgs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://FILE?mode=rwc` or `postgres://USER@HOST:PORT/DB`.
    pub database_url: String,
    /// Largest number of database connections.
    pub database_max_connections: u32,
    /// How long a request waits for a database connection before it fails with
    /// SERVICE_UNAVAILABLE, in milliseconds: short, so an outage fails fast.
    pub database_acquire_timeout_ms: u64,
    /// Waited before each batch of loads is read, in milliseconds. Batching needs no window
    /// (a batch holds every key a step of the execution asks for), so 0 is right for service;
    /// a value plays a slow database, to try timeouts and shutdown.
    pub batch_window_ms: u64,
    /// Schema introspection (`__schema`, `__type`); on with `--dev`.
    pub introspection: bool,
    /// The GraphiQL page at `GET /graphql`; on with `--dev`.
    pub graphiql: bool,
    /// Automatic persisted queries (Apollo APQ, SHA-256 hashes).
    pub persisted_queries: bool,
    /// A JSON file of allowed operations (an array of documents, or an object whose values
    /// are documents); when set, only those documents run (by text or by hash).
    pub allow_list: Option<PathBuf>,
    /// Origins whose browser frontends may call the API (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// How long in-flight requests may take to finish after SIGTERM or SIGINT, in seconds.
    pub shutdown_grace_secs: u64,
    pub limits: Limits,
    pub rate_limits: RateLimits,
}

/// Limits on one request; each is refused, before any database work, with a GraphQL error
/// whose `extensions.code` names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Deepest nesting of selections (DEPTH_LIMIT_EXCEEDED).
    pub max_depth: usize,
    /// Largest complexity: each field costs 1, a connection multiplies its selection by its
    /// `first` (COMPLEXITY_LIMIT_EXCEEDED).
    pub max_complexity: usize,
    /// Most aliased fields in one document (ALIAS_LIMIT_EXCEEDED).
    pub max_aliases: usize,
    /// Most directives on one field (refused by validation).
    pub max_directives: usize,
    /// Most operations in one batch (JSON array) request (BATCH_LIMIT_EXCEEDED).
    pub max_batch: usize,
    /// Largest request body in bytes (BODY_LIMIT_EXCEEDED, HTTP 413).
    pub max_body_bytes: usize,
    /// Longest query document in bytes (QUERY_LENGTH_LIMIT_EXCEEDED).
    pub max_query_bytes: usize,
    /// Longest time a request may run, in milliseconds (REQUEST_TIMEOUT, HTTP 504).
    pub request_timeout_ms: u64,
    /// Most large operations (`large_operation_nodes`) executing at once; the others wait
    /// their turn, first come first served, within `request_timeout_ms`. Default: twice the
    /// cores the server may use; 0: no bound.
    pub max_concurrent_executions: usize,
    /// The estimated size of a large operation, in response values (fields, counted once for
    /// every item of the pages around them: `graphql::limits::Checked::nodes`). Smaller
    /// operations never wait for a turn. 0: every operation takes one.
    pub large_operation_nodes: usize,
}

impl Limits {
    /// How many large operations may execute at once (see `max_concurrent_executions`).
    ///
    /// Why a bound: executions interleave at every load they wait for, so with many more in
    /// flight than the cores can run, each one's rows, values and response leave the caches
    /// before it finishes (on the 2-core benchmark machine, 32 concurrent nested pages cost
    /// 3.5-4.8 ms of server CPU each, 2.6-3.3 ms four at a time). Why large ones only: an
    /// operation holds its turn while it waits on the database, so a bound on every operation
    /// would hold quick lookups behind slow aggregates, and with few statements in flight
    /// PostgreSQL gives each its parallel workers, which cost more CPU in all on shared cores
    /// (a filtered list at 500,000 partnerships fell from 355-445 to 121-126 requests/s when
    /// every operation was bounded; `bench/RESULTS.md`). Small operations gain nothing from it:
    /// their working set is small.
    pub fn concurrent_executions(&self) -> usize {
        if self.max_concurrent_executions > 0 {
            self.max_concurrent_executions
        } else {
            tokio::sync::Semaphore::MAX_PERMITS
        }
    }
}

/// Twice the cores this process may use (the default bound on large operations at once).
fn twice_the_cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get) * 2
}

/// Requests per minute, per token subject (or per client IP without a valid token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    pub enabled: bool,
    /// Per role (`city`, `region`, `ngo`, `funder`, `admin`); roles not named use `default`.
    pub per_role: BTreeMap<String, u32>,
    pub default: u32,
    /// Requests without a valid token, per client IP.
    pub anonymous: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: crate::cli::DEFAULT_DATABASE_URL.to_owned(),
            database_max_connections: 16,
            database_acquire_timeout_ms: 2_000,
            // 0: the loader still yields once, so the sibling resolvers of a response register
            // their keys first and a page's relations stay one statement per level
            // (bench/RESULTS.md: the same database CPU as 5 ms), while a lone lookup no longer
            // waits 5 ms (actor by id: p50 0.5 ms against 6.8 ms).
            batch_window_ms: 0,
            introspection: false,
            graphiql: false,
            persisted_queries: true,
            allow_list: None,
            cors_origins: Vec::new(),
            shutdown_grace_secs: 10,
            limits: Limits::default(),
            rate_limits: RateLimits::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 20_000,
            max_aliases: 30,
            max_directives: 10,
            max_batch: 10,
            max_body_bytes: 256 * 1024,
            max_query_bytes: 32 * 1024,
            request_timeout_ms: 10_000,
            max_concurrent_executions: twice_the_cores(),
            large_operation_nodes: 1_000,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            per_role: [("funder", 1_200), ("admin", 3_000)]
                .into_iter()
                .map(|(r, n)| (r.to_owned(), n))
                .collect(),
            default: 600,
            anonymous: 60,
        }
    }
}

const ROLES: [&str; 5] = ["city", "region", "ngo", "funder", "admin"];

/// A setting that cannot be used, named as in the TOML file (`limits.max_depth`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("setting {setting}: {message}")]
pub struct SettingError {
    pub setting: String,
    pub message: String,
}

fn bad(setting: &str, message: impl Into<String>) -> SettingError {
    SettingError {
        setting: setting.to_owned(),
        message: message.into(),
    }
}

impl Settings {
    /// Reads the TOML file over the defaults (unknown keys are refused).
    pub fn from_file(path: &Path) -> Result<Self, SettingError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad("--config", format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| {
            let setting = e
                .span()
                .and_then(|span| text.get(..span.start))
                .map(|before| before.lines().count())
                .map_or_else(
                    || "--config".to_owned(),
                    |line| format!("--config line {line}"),
                );
            bad(&setting, e.message().to_owned())
        })
    }

    /// Applies `REGISTRY_*` variables (and `DATABASE_URL`) from `env`.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), SettingError> {
        fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, SettingError>
        where
            T::Err: std::fmt::Display,
        {
            value
                .trim()
                .parse()
                .map_err(|e| bad(name, format!("{value:?}: {e}")))
        }
        macro_rules! var {
            ($name:literal, $($field:ident).+) => {
                if let Some(value) = env($name) {
                    self.$($field).+ = parse($name, &value)?;
                }
            };
        }
        var!("REGISTRY_LISTEN", listen);
        var!("DATABASE_URL", database_url);
        var!(
            "REGISTRY_DATABASE_MAX_CONNECTIONS",
            database_max_connections
        );
        var!(
            "REGISTRY_DATABASE_ACQUIRE_TIMEOUT_MS",
            database_acquire_timeout_ms
        );
        var!("REGISTRY_BATCH_WINDOW_MS", batch_window_ms);
        var!("REGISTRY_INTROSPECTION", introspection);
        var!("REGISTRY_GRAPHIQL", graphiql);
        var!("REGISTRY_PERSISTED_QUERIES", persisted_queries);
        var!("REGISTRY_SHUTDOWN_GRACE_SECS", shutdown_grace_secs);
        var!("REGISTRY_MAX_DEPTH", limits.max_depth);
        var!("REGISTRY_MAX_COMPLEXITY", limits.max_complexity);
        var!("REGISTRY_MAX_ALIASES", limits.max_aliases);
        var!("REGISTRY_MAX_DIRECTIVES", limits.max_directives);
        var!("REGISTRY_MAX_BATCH", limits.max_batch);
        var!("REGISTRY_MAX_BODY_BYTES", limits.max_body_bytes);
        var!("REGISTRY_MAX_QUERY_BYTES", limits.max_query_bytes);
        var!("REGISTRY_REQUEST_TIMEOUT_MS", limits.request_timeout_ms);
        var!(
            "REGISTRY_MAX_CONCURRENT_EXECUTIONS",
            limits.max_concurrent_executions
        );
        var!(
            "REGISTRY_LARGE_OPERATION_NODES",
            limits.large_operation_nodes
        );
        var!("REGISTRY_RATE_LIMITS", rate_limits.enabled);
        var!("REGISTRY_RATE_LIMIT_DEFAULT", rate_limits.default);
        var!("REGISTRY_RATE_LIMIT_ANONYMOUS", rate_limits.anonymous);
        if let Some(path) = env("REGISTRY_ALLOW_LIST").filter(|p| !p.is_empty()) {
            self.allow_list = Some(PathBuf::from(path));
        }
        if let Some(origins) = env("REGISTRY_CORS_ORIGINS") {
            self.cors_origins = origins
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect();
        }
        for role in ROLES {
            let name = format!("REGISTRY_RATE_LIMIT_{}", role.to_uppercase());
            if let Some(value) = env(&name) {
                let n = parse(&name, &value)?;
                self.rate_limits.per_role.insert(role.to_owned(), n);
            }
        }
        Ok(())
    }

    /// Refuses settings the server cannot run with, naming the first.
    pub fn validate(&self) -> Result<(), SettingError> {
        let url = &self.database_url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres:")
            || url.starts_with("postgresql:"))
        {
            return Err(bad("database_url", "must start with sqlite: or postgres:"));
        }
        let ranges: [(&str, u64, u64, u64); 15] = [
            (
                "database_max_connections",
                u64::from(self.database_max_connections),
                1,
                1_000,
            ),
            (
                "database_acquire_timeout_ms",
                self.database_acquire_timeout_ms,
                50,
                60_000,
            ),
            ("batch_window_ms", self.batch_window_ms, 0, 5_000),
            ("shutdown_grace_secs", self.shutdown_grace_secs, 0, 600),
            ("limits.max_depth", self.limits.max_depth as u64, 2, 100),
            (
                "limits.max_complexity",
                self.limits.max_complexity as u64,
                10,
                10_000_000,
            ),
            (
                "limits.max_aliases",
                self.limits.max_aliases as u64,
                0,
                10_000,
            ),
            (
                "limits.max_directives",
                self.limits.max_directives as u64,
                1,
                1_000,
            ),
            ("limits.max_batch", self.limits.max_batch as u64, 1, 1_000),
            (
                "limits.max_body_bytes",
                self.limits.max_body_bytes as u64,
                1_024,
                64 << 20,
            ),
            (
                "limits.max_query_bytes",
                self.limits.max_query_bytes as u64,
                64,
                16 << 20,
            ),
            (
                "limits.request_timeout_ms",
                self.limits.request_timeout_ms,
                10,
                600_000,
            ),
            (
                "limits.max_concurrent_executions",
                self.limits.max_concurrent_executions as u64,
                0,
                100_000,
            ),
            (
                "limits.large_operation_nodes",
                self.limits.large_operation_nodes as u64,
                0,
                100_000_000,
            ),
            (
                "rate_limits.default",
                u64::from(self.rate_limits.default),
                1,
                10_000_000,
            ),
        ];
        for (name, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(bad(
                    name,
                    format!("must be between {min} and {max} (was {value})"),
                ));
            }
        }
        if self.rate_limits.anonymous == 0 {
            return Err(bad("rate_limits.anonymous", "must be at least 1"));
        }
        for (role, n) in &self.rate_limits.per_role {
            if !ROLES.contains(&role.as_str()) {
                return Err(bad(
                    &format!("rate_limits.per_role.{role}"),
                    format!("is not a role (one of {})", ROLES.join(", ")),
                ));
            }
            if *n == 0 {
                return Err(bad(
                    &format!("rate_limits.per_role.{role}"),
                    "must be at least 1",
                ));
            }
        }
        for origin in &self.cors_origins {
            let ok = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && axum::http::HeaderValue::from_str(origin).is_ok();
            if !ok {
                return Err(bad(
                    "cors_origins",
                    format!("{origin:?} is not an origin (scheme://host[:port], no path)"),
                ));
            }
        }
        if let Some(path) = &self.allow_list {
            crate::http::AllowList::load(path).map_err(|e| bad("allow_list", e))?;
        }
        Ok(())
    }

    /// The settings as TOML, with the database password hidden.
    pub fn to_toml_redacted(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = redact_url(&self.database_url);
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot print: {e}\n"))
    }
}

/// `postgres://user:secret@host/db` -> `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_and_bad_values_name_their_setting() {
        let dir = std::env::temp_dir().join(format!("registry-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("registry.toml");
        std::fs::write(
            &file,
            "batch_window_ms = 7\n[limits]\nmax_depth = 9\nmax_batch = 3\n",
        )
        .expect("write");
        let mut s = Settings::from_file(&file).expect("parsed");
        assert_eq!(s.batch_window_ms, 7);
        assert_eq!(s.limits.max_depth, 9);
        assert_eq!(s.limits.max_complexity, Limits::default().max_complexity);
        let env: BTreeMap<&str, &str> = [
            ("REGISTRY_MAX_DEPTH", "11"),
            ("REGISTRY_RATE_LIMIT_NGO", "5"),
        ]
        .into();
        s.apply_env(|k| env.get(k).map(|v| (*v).to_owned()))
            .expect("env");
        assert_eq!(s.limits.max_depth, 11, "the environment wins over the file");
        assert_eq!(s.limits.max_batch, 3);
        assert_eq!(s.rate_limits.per_role.get("ngo"), Some(&5));
        s.validate().expect("valid");

        let env: BTreeMap<&str, &str> = [("REGISTRY_MAX_DEPTH", "deep")].into();
        let e = s
            .apply_env(|k| env.get(k).map(|v| (*v).to_owned()))
            .expect_err("refused");
        assert_eq!(e.setting, "REGISTRY_MAX_DEPTH");

        s.limits.max_depth = 1;
        assert_eq!(
            s.validate().map_err(|e| e.setting),
            Err("limits.max_depth".to_owned())
        );

        std::fs::write(&file, "[limits]\nmax_dept = 9\n").expect("write");
        let e = Settings::from_file(&file).expect_err("unknown key");
        assert!(e.message.contains("max_dept"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn large_operations_take_turns_by_default_and_the_bound_can_be_lifted() {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let limits = Limits::default();
        assert_eq!(limits.max_concurrent_executions, 2 * cores);
        assert_eq!(limits.concurrent_executions(), 2 * cores);
        assert_eq!(limits.large_operation_nodes, 1_000);

        let mut s = Settings::default();
        let env: BTreeMap<&str, &str> = [
            ("REGISTRY_MAX_CONCURRENT_EXECUTIONS", "3"),
            ("REGISTRY_LARGE_OPERATION_NODES", "0"),
        ]
        .into();
        s.apply_env(|k| env.get(k).map(|v| (*v).to_owned()))
            .expect("env");
        assert_eq!(s.limits.concurrent_executions(), 3);
        assert_eq!(s.limits.large_operation_nodes, 0);
        s.validate().expect("valid");
        s.limits.max_concurrent_executions = 0;
        assert_eq!(
            s.limits.concurrent_executions(),
            tokio::sync::Semaphore::MAX_PERMITS,
            "0: no bound"
        );
        s.limits.max_concurrent_executions = 100_001;
        assert_eq!(
            s.validate().map_err(|e| e.setting),
            Err("limits.max_concurrent_executions".to_owned())
        );
        s.limits.max_concurrent_executions = 4;
        s.limits.large_operation_nodes = 100_000_001;
        assert_eq!(
            s.validate().map_err(|e| e.setting),
            Err("limits.large_operation_nodes".to_owned())
        );
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/registry"),
            "postgres://app:***@db:5432/registry"
        );
        assert_eq!(
            redact_url("sqlite://registry.db?mode=rwc"),
            "sqlite://registry.db?mode=rwc"
        );
        let s = Settings {
            database_url: "postgres://app:s3cret@db/registry".into(),
            ..Settings::default()
        };
        let shown = s.to_toml_redacted();
        assert!(!shown.contains("s3cret"));
        assert!(shown.contains("max_depth = 12"));
    }
}
