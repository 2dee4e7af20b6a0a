//! Prometheus metrics at `GET /metrics`: GraphQL requests by operation name and outcome,
//! their latency, errors by `extensions.code`, HTTP responses by status, refusals by the rate
//! limiter, and the database pool's use. One registry per server (no global state), so tests
//! can run several servers in one process.

use std::collections::HashSet;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Distinct operation names kept as labels; later names are counted as `other`, so a client
/// cannot grow the metrics without bound.
const MAX_OPERATIONS: usize = 200;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Operation {
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationName {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Code {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Status {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolState {
    state: String,
}

type Histograms = Family<OperationName, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<Operation, Counter>,
    latency: Histograms,
    errors: Family<Code, Counter>,
    responses: Family<Status, Counter>,
    rate_limited: Counter,
    pool: Family<PoolState, Gauge>,
    operations: Mutex<HashSet<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("registry");
        let requests = Family::<Operation, Counter>::default();
        let latency = Histograms::new_with_constructor(latency_histogram);
        let errors = Family::<Code, Counter>::default();
        let responses = Family::<Status, Counter>::default();
        let rate_limited = Counter::default();
        let pool = Family::<PoolState, Gauge>::default();
        registry.register(
            "graphql_requests",
            "GraphQL operations by operation name and outcome (ok or error)",
            requests.clone(),
        );
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL operation",
            latency.clone(),
        );
        registry.register(
            "graphql_errors",
            "GraphQL errors by extensions.code",
            errors.clone(),
        );
        registry.register(
            "http_responses",
            "HTTP responses of /graphql by status",
            responses.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by the rate limiter",
            rate_limited.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (idle, in_use, max)",
            pool.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            errors,
            responses,
            rate_limited,
            pool,
            operations: Mutex::new(HashSet::new()),
        }
    }

    /// The label for an operation name: the name when it is a plain GraphQL name and one of
    /// the first [`MAX_OPERATIONS`] seen, `anonymous` without one, `other` otherwise.
    fn label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".to_owned();
        };
        let plain = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !plain {
            return "other".to_owned();
        }
        let mut seen = match self.operations.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        if seen.contains(name) || seen.len() < MAX_OPERATIONS {
            seen.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// One answered operation.
    pub fn operation(&self, name: Option<&str>, ok: bool, seconds: f64, codes: &[String]) {
        let operation = self.label(name);
        let outcome = if ok { "ok" } else { "error" }.to_owned();
        self.requests
            .get_or_create(&Operation {
                operation: operation.clone(),
                outcome,
            })
            .inc();
        self.latency
            .get_or_create(&OperationName { operation })
            .observe(seconds);
        for code in codes {
            self.error(code);
        }
    }

    /// An error answered before or outside execution (a refused request).
    pub fn error(&self, code: &str) {
        self.errors
            .get_or_create(&Code {
                code: code.to_owned(),
            })
            .inc();
    }

    pub fn response(&self, status: u16) {
        self.responses
            .get_or_create(&Status {
                status: status.to_string(),
            })
            .inc();
    }

    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// The metrics in the Prometheus text format, with the pool's use read now.
    pub fn render(&self, pool: persistence::PoolStats) -> String {
        let set = |state: &str, n: u32| {
            self.pool
                .get_or_create(&PoolState {
                    state: state.to_owned(),
                })
                .set(i64::from(n));
        };
        set("idle", pool.idle);
        set("in_use", pool.open.saturating_sub(pool.idle));
        set("max", pool.max);
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }
}
