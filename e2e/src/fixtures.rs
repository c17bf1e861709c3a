//! Building blocks for end-to-end tests: unique names, namespaces, a local runtime scoped to one
//! test, a Deployment of the test pod, and a look at the processes that really run here.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use crate::runtime::{self, RuntimeConfig, RuntimeHandle};
use crate::testbed::TestBed;

/// The label the runtime tests select their Deployments by.
pub const RUNTIME_TEST_LABEL: &str = "e2e.coffee-pipeline.io/runtime-test";

/// A DNS-safe name that no other test or earlier run has used.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!(
        "{prefix}-{:x}{:x}-{}",
        std::process::id(),
        nanos >> 12,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates a namespace for one test.
pub async fn create_namespace(client: &Client, name: &str) -> Result<Namespace, kube::Error> {
    let namespace: Namespace = serde_json::from_value(json!({ "metadata": { "name": name } }))
        .map_err(kube::Error::SerdeError)?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
}

/// Deletes a test's namespace; the controller manager removes what is inside.
pub async fn delete_namespace(client: &Client, name: &str) -> Result<(), kube::Error> {
    Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await
        .map(|_| ())
}

/// A test's own namespace on the test bed, with a local runtime that only runs the Deployments
/// labelled [`RUNTIME_TEST_LABEL`] there.
pub struct RuntimeScene {
    pub bed: TestBed,
    pub client: Client,
    pub namespace: String,
    pub runtime: RuntimeHandle,
    pub deployments: Api<Deployment>,
    /// Whether [`RuntimeScene::finish`] deletes the namespace.
    owns_namespace: bool,
}

impl std::fmt::Debug for RuntimeScene {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeScene")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl RuntimeScene {
    /// Creates the namespace and starts a runtime that runs binaries from `bin_dir`, for the
    /// Deployments labelled as test pods.
    pub async fn start(prefix: &str, bin_dir: &Path) -> anyhow::Result<Self> {
        Self::start_selecting(prefix, bin_dir, &format!("{RUNTIME_TEST_LABEL}=true")).await
    }

    /// Like [`RuntimeScene::start`], for the Deployments matching `label_selector` (e.g. the
    /// ones an operator creates).
    pub async fn start_selecting(
        prefix: &str,
        bin_dir: &Path,
        label_selector: &str,
    ) -> anyhow::Result<Self> {
        Self::start_in(&unique_name(prefix), bin_dir, label_selector).await
    }

    /// A runtime for the Deployments matching `label_selector` in `namespace`, which is created
    /// unless it exists.
    pub async fn start_in(
        namespace: &str,
        bin_dir: &Path,
        label_selector: &str,
    ) -> anyhow::Result<Self> {
        let bed = TestBed::load()?;
        let client = bed.kube_client().await?;
        match create_namespace(&client, namespace).await {
            Ok(_) => {}
            Err(kube::Error::Api(response)) if response.code == 409 => {}
            Err(error) => return Err(anyhow::anyhow!("creating namespace {namespace}: {error}")),
        }
        let log_dir = PathBuf::from(&bed.log_dir).join("pods");
        let admin = kube::config::Kubeconfig::read_from(&bed.kubeconfig)?;
        let mut config = RuntimeConfig::new(bin_dir.to_path_buf(), label_selector, log_dir)
            .with_api_server_of(&admin)
            .map_err(|reason| anyhow::anyhow!("{}: {reason}", bed.kubeconfig.display()))?;
        config.namespace = Some(namespace.to_owned());
        config.targets_dir = Some(bed.prometheus_targets_dir.clone());
        let runtime = runtime::spawn(client.clone(), config);
        let deployments = Api::namespaced(client.clone(), namespace);
        Ok(Self {
            bed,
            client,
            namespace: namespace.to_owned(),
            runtime,
            deployments,
            owns_namespace: true,
        })
    }

    /// Leaves the namespace in place when the scene finishes (one that others share).
    pub fn keeping_namespace(mut self) -> Self {
        self.owns_namespace = false;
        self
    }

    /// Creates or updates a Deployment with server-side apply.
    pub async fn apply(&self, deployment: &Deployment) -> anyhow::Result<()> {
        let name = deployment.metadata.name.as_deref().unwrap_or_default();
        let params = PatchParams::apply("coffee-e2e").force();
        self.deployments
            .patch(name, &params, &Patch::Apply(deployment))
            .await?;
        Ok(())
    }

    /// Stops the runtime's processes and deletes the namespace (unless it is kept).
    pub async fn finish(self) -> anyhow::Result<()> {
        self.runtime.shutdown().await;
        if self.owns_namespace {
            delete_namespace(&self.client, &self.namespace).await?;
        }
        Ok(())
    }
}

/// A Deployment of `coffee-testpod` with `replicas`, a readiness probe, a port named `http`
/// passed through `PORT`, and `extra_env` (a JSON array of EnvVar).
pub fn testpod_deployment(name: &str, replicas: i32, extra_env: serde_json::Value) -> Deployment {
    let mut env = vec![json!({ "name": "PORT", "value": "8080" })];
    env.extend(extra_env.as_array().cloned().unwrap_or_default());
    let value = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name, "labels": { RUNTIME_TEST_LABEL: "true" } },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": {
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{
                        "name": "testpod",
                        "image": "example.invalid/coffee/coffee-testpod:latest",
                        "ports": [{ "name": "http", "containerPort": 8080 }],
                        "env": env,
                        "readinessProbe": { "httpGet": { "path": "/readyz", "port": "http" }, "periodSeconds": 1 },
                    }],
                },
            },
        },
    });
    serde_json::from_value(value).unwrap_or_default()
}

/// The last `lines` lines of a log file, for failure messages (empty if it cannot be read).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A process running on this machine, as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveProcess {
    pub pid: u32,
    /// The `HOSTNAME` it was started with: the local runtime sets it to the pod name.
    pub hostname: String,
}

/// Live (not zombie) processes of `binary` whose pod name starts with `pod_prefix`, read from
/// /proc rather than from the runtime's own bookkeeping.
pub fn live_processes(binary: &Path, pod_prefix: &str) -> Vec<LiveProcess> {
    let binary = std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<LiveProcess> = entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let dir = entry.path();
            let exe = std::fs::read_link(dir.join("exe")).ok()?;
            if exe != binary {
                return None;
            }
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            if state == 'Z' {
                return None;
            }
            let environ = std::fs::read(dir.join("environ")).ok()?;
            let hostname = environ
                .split(|byte| *byte == 0)
                .find_map(|var| var.strip_prefix(b"HOSTNAME="))
                .map(|value| String::from_utf8_lossy(value).into_owned())?;
            hostname
                .starts_with(pod_prefix)
                .then_some(LiveProcess { pid, hostname })
        })
        .collect();
    found.sort_by_key(|p| p.pid);
    found
}
