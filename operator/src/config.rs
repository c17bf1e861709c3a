//! Flags of `coffee-operator` (the default command), with environment fallbacks.

use coffee_telemetry::LogFormat;

use crate::allowed_clusters::AllowedClusters;
use crate::crd::PodOptions;
use crate::reconcile::workloads::WorkloadDefaults;

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Port for probes and metrics.
    #[arg(long, env = "METRICS_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Only pipelines in this namespace; every namespace when unset.
    #[arg(long, env = "WATCH_NAMESPACE")]
    pub namespace: Option<String>,
    /// Take part in leader election, so that of several replicas only one reconciles.
    #[arg(long, env = "LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// Namespace of the leader-election Lease.
    #[arg(
        long,
        env = "LEASE_NAMESPACE",
        default_value = "coffee-pipeline-system"
    )]
    pub lease_namespace: String,
    /// Name of the leader-election Lease.
    #[arg(long, env = "LEASE_NAME", default_value = "coffee-operator")]
    pub lease_name: String,
    /// Seconds a leader's lease lasts without renewal; a standby takes over after it expires.
    #[arg(long, env = "LEASE_DURATION_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..=300))]
    pub lease_duration_secs: u64,
    /// This replica's identity in the Lease; the pod name in a cluster.
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Export spans over OTLP/HTTP to this URL; off when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")]
    pub otlp_traces_endpoint: Option<String>,
    /// Image of the order intake for pipelines that name none.
    #[arg(long, env = "PRODUCER_IMAGE", default_value = concat!("ghcr.io/coffee-pipeline/coffee-producer:", env!("CARGO_PKG_VERSION")), value_parser = image)]
    pub producer_image: String,
    /// Image of the order processing for pipelines that name none.
    #[arg(long, env = "CONSUMER_IMAGE", default_value = concat!("ghcr.io/coffee-pipeline/coffee-consumer:", env!("CARGO_PKG_VERSION")), value_parser = image)]
    pub consumer_image: String,
    /// What every pipeline's pods get unless the pipeline says otherwise, as the JSON of a
    /// pipeline's `producer.pod` (labels, annotations, nodeSelector, tolerations, affinity,
    /// topologySpreadConstraints, priorityClassName, imagePullSecrets).
    #[arg(long, env = "POD_DEFAULTS", default_value = "{}", value_parser = pod_defaults)]
    pub pod_defaults: PodOptions,
    /// The Kafka clusters pipelines may name, comma-separated `host:port` or `*.domain:port`;
    /// a pipeline naming another gets `KafkaClusterNotAllowed` and is never dialled. Every
    /// cluster when empty.
    #[arg(long, env = "ALLOWED_KAFKA_CLUSTERS", default_value = "", value_parser = AllowedClusters::parse)]
    pub allowed_kafka_clusters: AllowedClusters,
}

impl RunArgs {
    pub fn workload_defaults(&self) -> WorkloadDefaults {
        WorkloadDefaults {
            producer_image: self.producer_image.clone(),
            consumer_image: self.consumer_image.clone(),
            pod: self.pod_defaults.clone(),
        }
    }
}

fn image(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() || text.len() > 1000 || text.chars().any(char::is_whitespace) {
        return Err(format!(
            "{text:?} is not an image reference (1 to 1000 characters, no spaces)"
        ));
    }
    Ok(text.to_owned())
}

fn pod_defaults(text: &str) -> Result<PodOptions, String> {
    let options: PodOptions =
        serde_json::from_str(text).map_err(|e| format!("not the JSON of pod options: {e}"))?;
    if let Some(key) = options
        .labels
        .keys()
        .find(|k| k.starts_with("app.kubernetes.io/"))
    {
        return Err(format!(
            "label {key:?}: the app.kubernetes.io/ labels are the operator's, it selects pods by them"
        ));
    }
    Ok(options)
}
