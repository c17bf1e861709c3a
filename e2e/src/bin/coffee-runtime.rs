//! `coffee-runtime`: the local pod runtime as a command, for the demo and for manual use.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use e2e::runtime::{self, RuntimeConfig};
use tracing_subscriber::EnvFilter;

/// Runs the Deployments found on the API server (`KUBECONFIG`) as local processes.
#[derive(Debug, Parser)]
#[command(name = "coffee-runtime", version, about)]
struct Args {
    /// Directory holding the binaries that container images name; defaults to this binary's own.
    #[arg(long, env = "COFFEE_RUNTIME_BIN_DIR")]
    bin_dir: Option<PathBuf>,
    /// Only run Deployments in this namespace (all namespaces when unset).
    #[arg(long, env = "COFFEE_RUNTIME_NAMESPACE")]
    namespace: Option<String>,
    /// Only run Deployments matching this label selector.
    #[arg(
        long,
        env = "COFFEE_RUNTIME_SELECTOR",
        default_value = "app.kubernetes.io/part-of=coffee-pipeline"
    )]
    selector: String,
    /// Where each pod's output goes, as `<dir>/<namespace>/<pod>.log`.
    #[arg(long, env = "COFFEE_RUNTIME_LOG_DIR", default_value = "pod-logs")]
    log_dir: PathBuf,
    /// Prometheus file_sd directory for scrape targets (the test bed's env file sets it).
    #[arg(long, env = "PROMETHEUS_TARGETS_DIR")]
    targets_dir: Option<PathBuf>,
    /// Upper bound on readiness probe periods, in milliseconds.
    #[arg(long, env = "COFFEE_RUNTIME_MAX_PROBE_PERIOD_MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    max_probe_period_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let Args {
        bin_dir,
        namespace,
        selector,
        log_dir,
        targets_dir,
        max_probe_period_ms,
    } = Args::parse();
    let bin_dir = match bin_dir {
        Some(dir) => dir,
        None => std::env::current_exe()
            .context("finding this binary's directory")?
            .parent()
            .context("this binary has no parent directory")?
            .to_path_buf(),
    };
    anyhow::ensure!(
        bin_dir.is_dir(),
        "--bin-dir {} is not a directory",
        bin_dir.display()
    );
    let client = kube::Client::try_default()
        .await
        .context("connecting to the API server named by KUBECONFIG")?;
    let kubeconfig = kube::config::Kubeconfig::read()
        .context("reading the kubeconfig named by KUBECONFIG, for the pods' API server")?;
    let mut config = RuntimeConfig::new(bin_dir, selector, log_dir)
        .with_api_server_of(&kubeconfig)
        .map_err(|reason| anyhow::anyhow!("the kubeconfig named by KUBECONFIG: {reason}"))?;
    config.namespace = namespace;
    config.targets_dir = targets_dir;
    config.max_probe_period = Duration::from_millis(max_probe_period_ms);
    let (pods, _) = tokio::sync::watch::channel(Vec::new());
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing a SIGTERM handler")?;
    runtime::run(client, config, pods, async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    })
    .await;
    Ok(())
}
