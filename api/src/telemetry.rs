//! Logging with `tracing`: human-readable lines by default, JSON lines when
//! `REGISTRY_LOG_FORMAT=json`; the level from `RUST_LOG` (default `info`). Built with the `otlp`
//! feature and given `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`),
//! spans are also exported over OTLP/HTTP (protobuf, batched) under the service name
//! `partnership-registry` unless `OTEL_SERVICE_NAME` says otherwise; the other standard
//! `OTEL_*` variables (headers, timeout, `OTEL_BSP_*`) are honoured by the SDK. Call
//! [`shutdown`] before exit so the last batch is not lost.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The variables that ask for OTLP export; the signal-specific one too, since the exporter
/// would use it anyway.
const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// Whether one of [`ENDPOINT_VARS`] is set to something.
fn export_requested() -> bool {
    ENDPOINT_VARS
        .iter()
        .any(|var| std::env::var(var).is_ok_and(|v| !v.trim().is_empty()))
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("REGISTRY_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // Two optional layers rather than a boxed one: the same formatters as the former
    // `fmt()` builder, and exactly one of them is present.
    let text_layer = (!json).then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
    let json_layer = json.then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
    });
    let (otel_layer, otel) = otlp::layer();
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(text_layer)
        .with(json_layer)
        .with(otel_layer)
        .try_init()
        .is_ok();
    // A second init (tests) keeps the first subscriber; then the exporter just made has no
    // spans to send and is shut down again.
    otel.finish(installed);
}

/// Flushes the spans still queued for export and stops the exporter; a no-op without the
/// `otlp` feature or without export. Call it once, after the server has stopped.
pub fn shutdown() {
    otlp::shutdown();
}

#[cfg(feature = "otlp")]
mod otlp {
    //! The OpenTelemetry side: a `tracing` layer feeding an SDK tracer provider with a
    //! batching OTLP/HTTP exporter.

    use std::sync::OnceLock;

    use opentelemetry::Key;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::error::OTelSdkError;
    use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
    use tracing::Subscriber;
    use tracing_opentelemetry::OpenTelemetryLayer;
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::{FilterFn, Filtered};
    use tracing_subscriber::registry::LookupSpan;

    /// Used when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names the service.
    const SERVICE_NAME: &str = "partnership-registry";

    /// The installed provider, kept for [`shutdown`]: the global subscriber that holds the
    /// tracer is never dropped, so nothing else would flush the last batch.
    static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

    /// Targets never exported: the exporter's own HTTP stack and the SDK's internal logs
    /// (targets such as `opentelemetry-otlp`, `opentelemetry_sdk`) would otherwise produce
    /// spans about exporting spans, without end, under `RUST_LOG=trace`. A name here also
    /// covers the crates named after it (`hyper` covers `hyper_util`).
    const OWN_TARGETS: [&str; 4] = ["opentelemetry", "reqwest", "hyper", "h2"];

    type OtelLayer<S> =
        Filtered<OpenTelemetryLayer<S, SdkTracer>, FilterFn<fn(&tracing::Metadata<'_>) -> bool>, S>;

    /// What `init` reports once the subscriber is there to log it, and the provider to keep.
    pub(super) struct Pending {
        provider: Option<(SdkTracerProvider, String)>,
        error: Option<String>,
    }

    /// The export layer when one of the endpoint variables is set and the exporter builds.
    pub(super) fn layer<S>() -> (Option<OtelLayer<S>>, Pending)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let none = |error| {
            (
                None,
                Pending {
                    provider: None,
                    error,
                },
            )
        };
        if !super::export_requested() {
            return none(None);
        }
        let (provider, service) = match provider() {
            Ok(built) => built,
            Err(error) => return none(Some(error)),
        };
        let not_own: fn(&tracing::Metadata<'_>) -> bool = |meta| {
            let target = meta.target();
            !OWN_TARGETS.iter().any(|own| {
                target
                    .strip_prefix(own)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '_', '-']))
            })
        };
        let layer = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("registry"))
            .with_filter(FilterFn::new(not_own));
        (
            Some(layer),
            Pending {
                provider: Some((provider, service)),
                error: None,
            },
        )
    }

    impl Pending {
        pub(super) fn finish(self, installed: bool) {
            if let Some(error) = self.error {
                tracing::warn!(%error, "OTLP trace export is off: the exporter could not be built");
            }
            let Some((provider, service)) = self.provider else {
                return;
            };
            if installed && PROVIDER.set(provider.clone()).is_ok() {
                tracing::info!(%service, "exporting traces over OTLP/HTTP");
            } else {
                let _ = provider.shutdown();
            }
        }
    }

    /// The SDK provider with a batch span processor (its own thread; the delay, queue and
    /// batch sizes come from `OTEL_BSP_*`) over an OTLP/HTTP protobuf exporter (the endpoint,
    /// headers and timeout come from `OTEL_EXPORTER_OTLP_*`), and the service name it reports.
    fn provider() -> Result<(SdkTracerProvider, String), String> {
        let exporter = SpanExporter::builder()
            .with_http()
            // Only protobuf is compiled in: an `http/json` or `grpc` in
            // OTEL_EXPORTER_OTLP_PROTOCOL must not select a transport we do not have.
            .with_protocol(Protocol::HttpBinary)
            .build()
            .map_err(|e| e.to_string())?;
        let resource = resource();
        let service = resource.get(&Key::new("service.name")).map_or_else(
            || SERVICE_NAME.to_owned(),
            |name| name.as_str().into_owned(),
        );
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        Ok((provider, service))
    }

    /// The standard detectors (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, SDK name and
    /// version), with our service name instead of the spec's `unknown_service:<binary>`.
    fn resource() -> Resource {
        let detected = Resource::builder().build();
        let named = detected
            .get(&Key::new("service.name"))
            .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
        if named {
            detected
        } else {
            Resource::builder().with_service_name(SERVICE_NAME).build()
        }
    }

    pub(super) fn shutdown() {
        let Some(provider) = PROVIDER.get() else {
            return;
        };
        match provider.shutdown() {
            // A second call has nothing left to flush.
            Ok(()) | Err(OTelSdkError::AlreadyShutdown) => {}
            // The SDK has logged failed exports itself; this is the flush as a whole (say,
            // its 5 s limit passed with the collector unreachable).
            Err(error) => tracing::warn!(%error, "flushing the OTLP trace export"),
        }
    }
}

#[cfg(not(feature = "otlp"))]
mod otlp {
    //! Without the `otlp` feature: nothing is exported, and a configured endpoint is pointed
    //! out once, so a missing feature is not mistaken for a silent collector.

    use tracing_subscriber::layer::Identity;

    /// Whether an endpoint was configured, reported once the subscriber is there.
    pub(super) struct Pending {
        requested: bool,
    }

    pub(super) fn layer() -> (Option<Identity>, Pending) {
        (
            None,
            Pending {
                requested: super::export_requested(),
            },
        )
    }

    impl Pending {
        pub(super) fn finish(self, installed: bool) {
            if installed && self.requested {
                tracing::warn!(
                    "OTEL_EXPORTER_OTLP_ENDPOINT is set, but this build has no OTLP export: rebuild with `--features otlp`"
                );
            }
        }
    }

    pub(super) fn shutdown() {}
}
