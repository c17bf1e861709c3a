//! Flags of `coffee-operator` (the default command), with environment fallbacks.

use coffee_telemetry::LogFormat;

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
}
