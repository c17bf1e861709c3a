//! Logging and tracing for the coffee-pipeline services.
//!
//! Logs go to stderr as text or JSON, filtered by `RUST_LOG` (default `info`). Every span has a
//! W3C trace id that travels with its events through Kafka headers ([`propagation`]); with an
//! OTLP endpoint the spans are OpenTelemetry spans and exported, without one they carry only
//! their ids (`trace_ids`), which is all propagation needs.

pub mod propagation;
mod trace_ids;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `RUST_LOG` is not a valid filter.
    #[error("RUST_LOG={value:?} is not a valid log filter: {reason}")]
    Filter { value: String, reason: String },
    /// Another subscriber was installed first.
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInstalled(String),
    /// The OTLP exporter could not be built for the endpoint.
    #[error("exporting traces to {endpoint}: {reason}")]
    Exporter { endpoint: String, reason: String },
}

/// Keeps the tracer provider (if spans are exported) alive; dropping it ends tracing.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // Flushes spans still batched for the exporter; a failure here has nowhere to go.
        if let Some(provider) = &self.provider {
            let _ = provider.shutdown();
        }
    }
}

/// Installs the global subscriber and the W3C trace-context propagator for `service`. With
/// `otlp_traces_endpoint` (a full URL such as `http://collector:4318/v1/traces`), spans are
/// OpenTelemetry spans exported there over OTLP/HTTP in batches; without it they only carry
/// their trace ids, a caller's sampled flag included, into the events' headers.
pub fn init(
    service: &'static str,
    format: LogFormat,
    otlp_traces_endpoint: Option<&str>,
) -> Result<Telemetry, TelemetryError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) => EnvFilter::try_new(&value).map_err(|e| TelemetryError::Filter {
            value,
            reason: e.to_string(),
        })?,
        Err(_) => EnvFilter::new("info"),
    };
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = otlp_traces_endpoint
        .map(|endpoint| exporting_provider(service, endpoint))
        .transpose()?;
    let logs = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    // Per-span bookkeeping that nothing here reads (busy/idle time, thread and source
    // location attributes, the OpenTelemetry context on every poll) is left out even when
    // exporting; trace ids come from the span itself.
    let exported = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service))
            .with_tracked_inactivity(false)
            .with_context_activation(false)
            .with_threads(false)
            .with_location(false)
    });
    let ids_only = provider.is_none().then_some(trace_ids::TraceIdsLayer);
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(exported)
        .with(ids_only)
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInstalled(e.to_string()))?;
    Ok(Telemetry { provider })
}

fn exporting_provider(
    service: &'static str,
    endpoint: &str,
) -> Result<SdkTracerProvider, TelemetryError> {
    plain_http(endpoint)?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| TelemetryError::Exporter {
            endpoint: endpoint.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(SdkTracerProvider::builder()
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .with_batch_exporter(exporter)
        .build())
}

/// The exporter's HTTP client is built without a TLS backend: an `https://` endpoint would be
/// accepted and every export would then fail at run time, so it is refused at start-up instead.
fn plain_http(endpoint: &str) -> Result<(), TelemetryError> {
    if endpoint.starts_with("http://") {
        return Ok(());
    }
    Err(TelemetryError::Exporter {
        endpoint: endpoint.to_owned(),
        reason: "only plain http:// is supported (no TLS backend is built in); send spans to a \
                 collector on the pod's network, e.g. an OpenTelemetry Collector sidecar or node agent"
            .to_owned(),
    })
}

/// Runs a service's main future with telemetry set up first, and turns the outcome into the
/// process's exit code: 0 on success; 1 with the error logged and printed (alternate form, so
/// an `anyhow` chain shows every cause); 2 when telemetry itself cannot be set up.
pub async fn run_service<E: std::fmt::Display>(
    service: &'static str,
    format: LogFormat,
    otlp_traces_endpoint: Option<&str>,
    app: impl std::future::Future<Output = Result<(), E>>,
) -> std::process::ExitCode {
    let _telemetry = match init(service, format, otlp_traces_endpoint) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("{service}: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    match app.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("{service}: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The Prometheus text exposition of every metric in `registry`, as each service's `/metrics`
/// answers it.
pub fn metrics_text(registry: &prometheus::Registry) -> String {
    use prometheus::Encoder as _;
    let mut buffer = Vec::new();
    // Encoding into a Vec fails only for invalid metric families, which registering them rules
    // out; a scrape then gets what was encoded so far.
    let _ = prometheus::TextEncoder::new().encode(&registry.gather(), &mut buffer);
    String::from_utf8(buffer).unwrap_or_default()
}

/// Resolves on SIGTERM (what Kubernetes sends) or Ctrl-C, so every service stops the same way.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the process");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("shutting down");
}

/// The registry each service's metrics start from: it already holds the process's own CPU
/// time, resident memory, open files and start time (`process_*`), which give a pod's CPU,
/// memory and restarts wherever the service is scraped, kubelet or not.
pub fn registry() -> Result<prometheus::Registry, prometheus::Error> {
    let registry = prometheus::Registry::new();
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;
    Ok(registry)
}
