//! The local pod runtime: the kubelet and deployment controller of this test bed.
//!
//! Pods cannot run on the machines this project is built on (no container runtime, no nodes), so
//! the runtime watches Deployments on the real API server and runs each one's `spec.replicas` as
//! local processes: the binary named by the container image, with the container's args and its
//! environment resolved from ConfigMaps, Secrets and the downward API. Each replica gets its own
//! local port for every container port (any env var whose value is the container port number is
//! rewritten to it), is probed for readiness, restarted with back-off when it exits, and
//! registered as a Prometheus scrape target. Deployment status is written back so that
//! controllers see `readyReplicas` as they would in a cluster.

mod deployment;
mod env;
pub mod identity;
mod image;
mod pod;
mod probe;
mod rollout;
mod status;
mod targets;
mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::config::{Cluster, Kubeconfig};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

pub use env::PortAssignment;
pub use pod::Backoff;

use deployment::{DeploymentKey, ManagedDeployment};

/// Why a pod could not be started. Each variant names the object or value at fault.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The pod template asks for something the local runtime cannot do.
    #[error("deployment {deployment}: the pod template {reason}")]
    Template { deployment: String, reason: String },
    /// The container image does not name a binary that exists.
    #[error("image {image:?} {reason}")]
    Image { image: String, reason: String },
    /// A ConfigMap or Secret (or one of its keys) that the environment needs does not exist.
    #[error("{kind} {name}{} not found", key.as_ref().map(|k| format!(" (key {k})")).unwrap_or_default())]
    MissingReference {
        kind: &'static str,
        name: String,
        key: Option<String>,
    },
    /// An env var uses a source the runtime cannot provide.
    #[error("env var {var}: {reason}")]
    Env { var: String, reason: String },
    /// A container port would be shared by every replica, since no env var passes it.
    #[error(
        "container port {port} is not passed to the process in any env var; set one to {port} \
         (e.g. SERVER_PORT) so that each replica gets its own local port"
    )]
    PortNotPassed { port: i32 },
    /// Reading a referenced ConfigMap or Secret from the API server failed.
    #[error("reading {kind} {name}: {source}")]
    Api {
        kind: &'static str,
        name: String,
        source: kube::Error,
    },
    /// The pod's ServiceAccount token could not be issued or written.
    #[error("identity of ServiceAccount {service_account}: {reason}")]
    Identity {
        service_account: String,
        reason: String,
    },
    /// The process (or its log file) could not be created.
    #[error("starting {binary}: {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
}

/// How the runtime finds binaries, which Deployments it runs, and where it writes.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where the binaries named by container images live (the cargo target directory).
    pub bin_dir: PathBuf,
    /// Only Deployments in this namespace; all namespaces when `None`.
    pub namespace: Option<String>,
    /// Only Deployments carrying these labels, e.g. `app.kubernetes.io/part-of=coffee-pipeline`.
    pub label_selector: String,
    /// Each pod's stdout and stderr go to `<log_dir>/<namespace>/<pod>.log`.
    pub log_dir: PathBuf,
    /// Prometheus file_sd directory; no targets are written when `None`.
    pub targets_dir: Option<PathBuf>,
    pub restart_backoff: Backoff,
    /// Upper bound on the readiness probe period, so tests need not wait out `periodSeconds`.
    pub max_probe_period: Duration,
    /// The API server pods are given, with a token of their ServiceAccount (see
    /// [`RuntimeConfig::with_api_server_of`]); pods get no identity when `None`.
    pub api_server: Option<Cluster>,
}

impl RuntimeConfig {
    /// Settings for a runtime that runs the workspace's own binaries, with quick probes and
    /// restarts suited to tests. `log_dir` is made absolute: each pod's kubeconfig names its
    /// token file inside it, and kubeconfig paths are relative to the kubeconfig's own directory
    /// (a relative `--log-dir` doubled into a path that did not exist, and no pod could start).
    pub fn new(bin_dir: PathBuf, label_selector: impl Into<String>, log_dir: PathBuf) -> Self {
        Self {
            bin_dir,
            namespace: None,
            label_selector: label_selector.into(),
            log_dir: std::path::absolute(&log_dir).unwrap_or(log_dir),
            targets_dir: None,
            restart_backoff: Backoff {
                initial: Duration::from_millis(500),
                max: Duration::from_secs(30),
                reset_after: Duration::from_secs(30),
            },
            max_probe_period: Duration::from_millis(500),
            api_server: None,
        }
    }

    /// Gives every pod whose template mounts a ServiceAccount token the identity of that
    /// ServiceAccount on the API server of `kubeconfig`'s current context.
    pub fn with_api_server_of(mut self, kubeconfig: &Kubeconfig) -> Result<Self, String> {
        self.api_server = Some(identity::cluster_of(kubeconfig)?);
        Ok(self)
    }
}

/// A pod as the runtime sees it, for tests and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSnapshot {
    pub namespace: String,
    pub deployment: String,
    pub name: String,
    pub pid: Option<u32>,
    pub ready: bool,
    pub restarts: u32,
    pub ports: Vec<PortAssignment>,
    pub last_error: Option<String>,
}

impl PodSnapshot {
    /// Where this pod's `container_port` is reached here (`http://127.0.0.1:<local port>`).
    pub fn base_url(&self, container_port: i32) -> Option<String> {
        self.ports
            .iter()
            .find(|a| a.container_port == container_port)
            .map(|a| format!("http://127.0.0.1:{}", a.local_port))
    }
}

/// A runtime running in the background of this process.
#[derive(Debug)]
pub struct RuntimeHandle {
    pods: watch::Receiver<Vec<PodSnapshot>>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RuntimeHandle {
    /// The pods as of each pass, for a task that follows them.
    pub fn subscribe(&self) -> watch::Receiver<Vec<PodSnapshot>> {
        self.pods.clone()
    }

    /// The pods as of the runtime's last pass (every 200 ms).
    pub fn pods(&self) -> Vec<PodSnapshot> {
        self.pods.borrow().clone()
    }

    /// Stops every pod (SIGTERM, then SIGKILL after its grace period) and waits for that.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        if let Err(error) = self.task.await {
            warn!(%error, "runtime task failed");
        }
    }
}

/// Starts a runtime on the current tokio runtime.
pub fn spawn(client: Client, config: RuntimeConfig) -> RuntimeHandle {
    let (pods_tx, pods) = watch::channel(Vec::new());
    let (shutdown, shutdown_rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        run(client, config, pods_tx, async {
            let _ = shutdown_rx.await;
        })
        .await;
    });
    RuntimeHandle {
        pods,
        shutdown,
        task,
    }
}

/// Runs until `shutdown` completes, then stops every pod it started.
pub async fn run(
    client: Client,
    config: RuntimeConfig,
    pods: watch::Sender<Vec<PodSnapshot>>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let api: Api<Deployment> = match &config.namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    };
    let (store, writer) = reflector::store();
    let watch_config = watcher::Config::default().labels(&config.label_selector);
    let watch = reflector(writer, watcher(api, watch_config))
        .default_backoff()
        .for_each(|event| async move {
            if let Err(error) = event {
                warn!(%error, "watching Deployments failed; retrying");
            }
        });
    let watch = tokio::spawn(watch);
    if let Some(dir) = &config.targets_dir {
        match targets::sweep_orphans(dir) {
            Ok(0) => {}
            Ok(removed) => info!(
                removed,
                "removed the scrape targets of runtimes that exited"
            ),
            Err(error) => warn!(%error, "sweeping stale scrape targets"),
        }
    }
    info!(selector = %config.label_selector, namespace = ?config.namespace, bin_dir = %config.bin_dir.display(), "local pod runtime started");

    tokio::pin!(shutdown);
    tokio::select! {
        () = &mut shutdown => {
            watch.abort();
            return;
        }
        listed = store.wait_until_ready() => if listed.is_err() {
            warn!("the Deployment watch ended before its first listing");
            return;
        }
    }

    let mut managed: BTreeMap<DeploymentKey, ManagedDeployment> = BTreeMap::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticks.tick() => {}
        }
        let deployments = store.state();
        let present: BTreeSet<DeploymentKey> =
            deployments.iter().map(|d| DeploymentKey::of(d)).collect();
        for deployment in &deployments {
            let key = DeploymentKey::of(deployment);
            let entry = managed
                .entry(key.clone())
                .or_insert_with(|| ManagedDeployment::new(key));
            entry.reconcile(&client, &config, deployment).await;
        }
        for (_, gone) in managed.iter_mut().filter(|(key, _)| !present.contains(key)) {
            gone.stop_all(&config);
        }
        managed.retain(|key, entry| present.contains(key) || entry.is_terminating());
        for entry in managed.values_mut() {
            entry.reap_terminated();
        }
        let snapshot: Vec<PodSnapshot> = managed
            .values()
            .flat_map(ManagedDeployment::snapshot)
            .collect();
        pods.send_if_modified(|current| std::mem::replace(current, snapshot.clone()) != snapshot);
    }

    watch.abort();
    for entry in managed.values_mut() {
        entry.stop_all(&config);
    }
    for entry in managed.into_values() {
        entry.wait_terminated().await;
    }
    info!("local pod runtime stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_log_dir_is_made_absolute() {
        let config = RuntimeConfig::new(PathBuf::from("bin"), "a=b", PathBuf::from("target/pods"));
        assert!(config.log_dir.is_absolute(), "{}", config.log_dir.display());
        assert!(config.log_dir.ends_with("target/pods"));
    }
}
