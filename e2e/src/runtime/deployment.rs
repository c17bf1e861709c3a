//! One Deployment's local pods: applies the rollout plan, writes status and scrape targets.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::env::PortAssignment;
use super::pod::{PodContext, PodState, supervise};
use super::rollout::{Action, PodView, plan};
use super::status::{deployment_status, with_transition_times};
use super::targets::{self, Target};
use super::template::LaunchTemplate;
use super::{PodSnapshot, RuntimeConfig};
use crate::ports::free_local_port;

/// A Deployment by identity: a deleted and re-created Deployment of the same name is another one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeploymentKey {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl DeploymentKey {
    pub fn of(deployment: &Deployment) -> Self {
        Self {
            namespace: deployment.namespace().unwrap_or_default(),
            name: deployment.name_any(),
            uid: deployment.uid().unwrap_or_default(),
        }
    }
}

#[derive(Debug)]
struct LocalPod {
    name: String,
    template: Arc<LaunchTemplate>,
    ports: Vec<PortAssignment>,
    state: watch::Receiver<PodState>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
pub struct ManagedDeployment {
    key: DeploymentKey,
    pods: Vec<LocalPod>,
    terminating: Vec<JoinHandle<()>>,
    /// The last status computed (without timestamps) and the last one written.
    computed: Option<DeploymentStatus>,
    written: Option<DeploymentStatus>,
    targets: Option<Vec<Target>>,
    template_error: Option<String>,
}

impl ManagedDeployment {
    pub fn new(key: DeploymentKey) -> Self {
        Self {
            key,
            pods: Vec::new(),
            terminating: Vec::new(),
            computed: None,
            written: None,
            targets: None,
            template_error: None,
        }
    }

    pub async fn reconcile(
        &mut self,
        client: &Client,
        config: &RuntimeConfig,
        deployment: &Deployment,
    ) {
        let template = match LaunchTemplate::from_deployment(deployment) {
            Ok(template) => Arc::new(template),
            Err(error) => {
                let message = error.to_string();
                if self.template_error.as_ref() != Some(&message) {
                    warn!(namespace = %self.key.namespace, deployment = %self.key.name, %message, "cannot run this deployment");
                    self.template_error = Some(message);
                }
                return;
            }
        };
        self.template_error = None;
        let desired = deployment
            .spec
            .as_ref()
            .and_then(|spec| spec.replicas)
            .map_or(1, |replicas| usize::try_from(replicas).unwrap_or(0));
        for action in plan(desired, &self.views(&template)) {
            match action {
                Action::Start => self.start_pod(client, config, &template),
                Action::Stop(name) => self.stop_pod(&name),
            }
        }
        let status = deployment_status(
            deployment.metadata.generation,
            desired,
            &self.views(&template),
        );
        if self.computed.as_ref() != Some(&status) {
            self.write_status(client, status).await;
        }
        self.write_targets(config);
    }

    fn views(&self, template: &LaunchTemplate) -> Vec<PodView> {
        self.pods
            .iter()
            .map(|pod| PodView {
                name: pod.name.clone(),
                current: pod.template.hash == template.hash,
                ready: pod.state.borrow().ready,
            })
            .collect()
    }

    fn start_pod(
        &mut self,
        client: &Client,
        config: &RuntimeConfig,
        template: &Arc<LaunchTemplate>,
    ) {
        let name = format!("{}-{}-{}", self.key.name, &template.hash[..6], pod_suffix());
        let ports: Vec<PortAssignment> = template
            .ports
            .iter()
            .filter_map(|port| {
                free_local_port().ok().map(|local_port| PortAssignment {
                    container_port: port.number,
                    local_port,
                })
            })
            .collect();
        let ctx = PodContext {
            client: client.clone(),
            log_path: config
                .log_dir
                .join(&self.key.namespace)
                .join(format!("{name}.log")),
            name: name.clone(),
            namespace: self.key.namespace.clone(),
            template: Arc::clone(template),
            ports: ports.clone(),
            bin_dir: config.bin_dir.clone(),
            backoff: config.restart_backoff,
            max_probe_period: config.max_probe_period,
            api_server: config.api_server.clone(),
        };
        let (state_tx, state) = watch::channel(PodState::default());
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(supervise(ctx, state_tx, stop_rx));
        info!(namespace = %self.key.namespace, pod = %name, ?ports, "pod created");
        self.pods.push(LocalPod {
            name,
            template: Arc::clone(template),
            ports,
            state,
            stop,
            task,
        });
    }

    fn stop_pod(&mut self, name: &str) {
        if let Some(index) = self.pods.iter().position(|pod| pod.name == name) {
            let pod = self.pods.remove(index);
            info!(namespace = %self.key.namespace, pod = %pod.name, "stopping pod");
            let _ = pod.stop.send(());
            self.terminating.push(pod.task);
        }
    }

    /// Stops every pod and removes the scrape targets; used when the Deployment is gone and on
    /// shutdown. Calling it again does nothing.
    pub fn stop_all(&mut self, config: &RuntimeConfig) {
        if !self.pods.is_empty() {
            info!(namespace = %self.key.namespace, deployment = %self.key.name, pods = self.pods.len(), "stopping all pods");
        }
        let names: Vec<String> = self.pods.iter().map(|pod| pod.name.clone()).collect();
        for name in names {
            self.stop_pod(&name);
        }
        if self.targets.take().is_some()
            && let Some(dir) = &config.targets_dir
            && let Err(error) = targets::remove(dir, &self.key.namespace, &self.key.name)
        {
            warn!(%error, "removing scrape targets failed");
        }
    }

    pub fn is_terminating(&self) -> bool {
        !self.terminating.is_empty()
    }

    pub fn reap_terminated(&mut self) {
        self.terminating.retain(|task| !task.is_finished());
    }

    pub async fn wait_terminated(self) {
        for task in self.terminating {
            let _ = task.await;
        }
    }

    pub fn snapshot(&self) -> Vec<PodSnapshot> {
        self.pods
            .iter()
            .map(|pod| {
                let state = pod.state.borrow();
                PodSnapshot {
                    namespace: self.key.namespace.clone(),
                    deployment: self.key.name.clone(),
                    name: pod.name.clone(),
                    pid: state.pid,
                    ready: state.ready,
                    restarts: state.restarts,
                    ports: pod.ports.clone(),
                    last_error: state.last_error.clone(),
                }
            })
            .collect()
    }

    async fn write_status(&mut self, client: &Client, status: DeploymentStatus) {
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        let stamped = with_transition_times(status.clone(), self.written.as_ref(), &now);
        let api: Api<Deployment> = Api::namespaced(client.clone(), &self.key.namespace);
        let patch = Patch::Merge(json!({ "status": stamped }));
        match api
            .patch_status(&self.key.name, &PatchParams::default(), &patch)
            .await
        {
            Ok(_) => {
                debug!(namespace = %self.key.namespace, deployment = %self.key.name, "status written");
                self.computed = Some(status);
                self.written = Some(stamped);
            }
            Err(error) => {
                warn!(namespace = %self.key.namespace, deployment = %self.key.name, %error, "writing status failed; will retry")
            }
        }
    }

    fn write_targets(&mut self, config: &RuntimeConfig) {
        let Some(dir) = &config.targets_dir else {
            return;
        };
        let wanted: Vec<Target> = self
            .pods
            .iter()
            .filter(|pod| pod.state.borrow().pid.is_some())
            .filter_map(|pod| {
                let scrape = pod.template.scrape.as_ref()?;
                let container_port = pod.template.container_port(&scrape.port)?;
                let local = pod
                    .ports
                    .iter()
                    .find(|p| p.container_port == container_port)?;
                Some(Target {
                    pod: pod.name.clone(),
                    port: local.local_port,
                    path: scrape.path.clone(),
                    pod_labels: pod.template.labels.clone(),
                })
            })
            .collect();
        if self.targets.as_ref() == Some(&wanted) {
            return;
        }
        match targets::write(dir, &self.key.namespace, &self.key.name, &wanted) {
            Ok(()) => self.targets = Some(wanted),
            Err(error) => warn!(dir = %dir.display(), %error, "writing scrape targets failed"),
        }
    }
}

/// Five base-36 characters, unique within this process, like a ReplicaSet's pod suffix.
fn pod_suffix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seed = u64::from(std::process::id()) << 20
        ^ NEXT.fetch_add(1, Ordering::Relaxed).wrapping_mul(7_919);
    let mut n = seed % 36u64.pow(5);
    let mut out = String::new();
    for _ in 0..5 {
        let digit = u32::try_from(n % 36).unwrap_or(0);
        out.push(char::from_digit(digit, 36).unwrap_or('0'));
        n /= 36;
    }
    out
}
