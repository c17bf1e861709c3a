//! Running `coffee-operator` on the test bed as a platform team would: its install (CRD,
//! namespace, RBAC from `manifests/`), a kubeconfig with the operator's ServiceAccount token,
//! the operator process, a namespace with a pod runtime for the Deployments it creates, and
//! the pipelines it reconciles. Shared by the operator's tests and the benchmarks.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::fixtures::{RuntimeScene, unique_name};
use crate::poll::eventually;
use crate::process::ServiceProcess;
use crate::testbed::TestBed;
use anyhow::{Context, bail};
use kube::Api;
use serde_json::Value;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the test bed's kubectl as the admin.
pub fn kubectl(bed: &TestBed, args: &[&str], stdin: Option<&str>) -> anyhow::Result<Output> {
    use std::io::Write;
    let mut child = Command::new(bed.tool("kubectl"))
        .env("KUBECONFIG", &bed.kubeconfig)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut input = child.stdin.take().context("stdin")?;
    input.write_all(stdin.unwrap_or_default().as_bytes())?;
    drop(input);
    Ok(child.wait_with_output()?)
}

/// Creates or replaces Secret `name` in `namespace` with `data` (key, text).
pub fn apply_secret(
    bed: &TestBed,
    namespace: &str,
    name: &str,
    data: &[(&str, &str)],
) -> anyhow::Result<()> {
    let data: serde_json::Map<String, serde_json::Value> = data
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).into()))
        .collect();
    let secret = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": data,
    });
    let applied = kubectl(bed, &["apply", "-f", "-"], Some(&secret.to_string()))?;
    succeed(applied, &format!("applying Secret {name}")).map(|_| ())
}

/// The output of a command that must have succeeded, or its stderr as the error.
pub fn succeed(output: Output, what: &str) -> anyhow::Result<String> {
    if !output.status.success() {
        // Some tools (promtool, diff) report on stdout, so both go into the error.
        bail!(
            "{what} ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Installs the CRD, the operator's namespace and RBAC as a platform team would.
pub fn install(bed: &TestBed) -> anyhow::Result<()> {
    for file in [
        "crds/coffeeorderpipelines.coffee-pipeline.io.yaml",
        "manifests/namespace.yaml",
        "manifests/rbac.yaml",
    ] {
        let path = repo().join(file);
        let path = path.to_str().context("utf-8 path")?;
        succeed(
            kubectl(
                bed,
                &["apply", "--server-side", "--force-conflicts", "-f", path],
                None,
            )?,
            file,
        )?;
    }
    wait_established(bed, "coffeeorderpipelines.coffee-pipeline.io")
}

/// Waits until the API server serves the CRD `name`. (`kubectl wait --for=condition=Established`
/// fails outright while a new CRD has no conditions yet, so this polls.)
pub fn wait_established(bed: &TestBed, name: &str) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let output = kubectl(
            bed,
            &[
                "get",
                "crd",
                name,
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
            ],
            None,
        )?;
        if String::from_utf8_lossy(&output.stdout).trim() == "True" {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            bail!(
                "CRD {name} not Established within 30s: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A kubeconfig that authenticates as the operator's ServiceAccount, not as the admin: the same
/// token and kubeconfig the local runtime gives a pod of that ServiceAccount.
pub async fn operator_kubeconfig(bed: &TestBed) -> anyhow::Result<PathBuf> {
    let client = bed.kube_client().await?;
    let admin = kube::config::Kubeconfig::read_from(&bed.kubeconfig)?;
    let cluster = crate::runtime::identity::cluster_of(&admin).map_err(anyhow::Error::msg)?;
    let dir = PathBuf::from(&bed.log_dir).join(unique_name("operator"));
    Ok(crate::runtime::identity::issue(
        &client,
        "coffee-pipeline-system",
        "coffee-operator",
        &cluster,
        &dir,
    )
    .await?)
}

/// A running `coffee-operator` watching one namespace; [`ServiceProcess`]'s methods apply.
#[derive(Debug)]
pub struct OperatorProcess(ServiceProcess);

impl std::ops::Deref for OperatorProcess {
    type Target = ServiceProcess;
    fn deref(&self) -> &ServiceProcess {
        &self.0
    }
}

impl std::ops::DerefMut for OperatorProcess {
    fn deref_mut(&mut self) -> &mut ServiceProcess {
        &mut self.0
    }
}

impl OperatorProcess {
    /// Starts `binary` watching `namespace`, electing its leader with Lease `lease` in that
    /// namespace (granted to the operator's ServiceAccount there, as the chart grants its own
    /// Lease), so that operators of tests side by side never share one.
    pub async fn start(
        bed: &TestBed,
        binary: &Path,
        kubeconfig: &Path,
        namespace: &str,
        lease: &str,
    ) -> anyhow::Result<Self> {
        grant_lease(bed, namespace, lease).await?;
        let mut process = ServiceProcess::spawn(bed, binary, "operator-tests", namespace, |c| {
            c.args(["--namespace", namespace, "--lease-name", lease])
                .args(["--lease-namespace", namespace])
                .args(["--lease-duration-secs", "4"])
                .env("KUBECONFIG", kubeconfig)
                .env("RUST_LOG", "info,kube=warn");
        })?;
        process
            .wait_for("/readyz", 200, Duration::from_secs(30))
            .await?;
        Ok(Self(process))
    }

    /// An operator with its own ServiceAccount token and Lease, watching `scene`'s namespace.
    pub async fn start_watching(
        bed: &TestBed,
        binary: &Path,
        scene: &RuntimeScene,
    ) -> anyhow::Result<Self> {
        let kubeconfig = operator_kubeconfig(bed).await?;
        Self::start(
            bed,
            binary,
            &kubeconfig,
            &scene.namespace,
            &unique_name("lease"),
        )
        .await
    }

    /// Whether this replica says it leads.
    pub async fn leading(&self) -> bool {
        match reqwest::get(format!("{}/readyz", self.base)).await {
            Ok(response) => response
                .json::<Value>()
                .await
                .is_ok_and(|v| v["leading"] == true),
            Err(_) => false,
        }
    }

    /// SIGTERM and wait for the exit.
    pub async fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        self.terminate().await
    }
}

/// A Role letting the operator's ServiceAccount create Leases in `namespace` and read and
/// renew `lease`: the chart's leader-election Role for another name and place.
async fn grant_lease(bed: &TestBed, namespace: &str, lease: &str) -> anyhow::Result<()> {
    let role = format!(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: {lease}, namespace: {namespace}}}
rules:
  - {{apiGroups: [coordination.k8s.io], resources: [leases], verbs: [create]}}
  - {{apiGroups: [coordination.k8s.io], resources: [leases], resourceNames: [{lease}], verbs: [get, patch]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {lease}, namespace: {namespace}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {lease}}}
subjects:
  - {{kind: ServiceAccount, name: coffee-operator, namespace: coffee-pipeline-system}}
"
    );
    succeed(
        kubectl(bed, &["apply", "-f", "-"], Some(&role))?,
        "granting the operator its Lease",
    )?;
    // The API server's authorizer learns of a new Role from its own watch: a moment later.
    let resource = format!("leases.coordination.k8s.io/{lease}");
    let user = "system:serviceaccount:coffee-pipeline-system:coffee-operator";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let args = [
            "auth", "can-i", "patch", &resource, "-n", namespace, "--as", user,
        ];
        let answer = kubectl(bed, &args, None)?;
        if String::from_utf8_lossy(&answer.stdout).trim() == "yes" {
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the Role for Lease {namespace}/{lease} took no effect within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A new namespace with a pod runtime for the operator's Deployments, running the binaries next
/// to `operator_binary`.
pub async fn scene(prefix: &str, operator_binary: &Path) -> anyhow::Result<RuntimeScene> {
    let bin_dir = operator_binary.parent().context("bin dir")?;
    workloads_scene(&crate::fixtures::unique_name(prefix), bin_dir).await
}

/// A pod runtime for the Deployments the operator creates in `namespace` (created unless it
/// exists), running `coffee-producer` and `coffee-consumer` from `bin_dir`.
pub async fn workloads_scene(namespace: &str, bin_dir: &Path) -> anyhow::Result<RuntimeScene> {
    crate::binaries::require_binaries(bin_dir, ["coffee-producer", "coffee-consumer"])?;
    RuntimeScene::start_in(
        namespace,
        bin_dir,
        "app.kubernetes.io/managed-by=coffee-operator",
    )
    .await
}

/// Applies a pipeline (YAML of its spec, indented by two spaces) in `namespace` as the admin.
pub fn apply_pipeline(
    bed: &TestBed,
    namespace: &str,
    name: &str,
    spec: &str,
) -> anyhow::Result<()> {
    let object = format!(
        "apiVersion: coffee-pipeline.io/v1alpha1\nkind: CoffeeOrderPipeline\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{spec}"
    );
    succeed(
        kubectl(
            bed,
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            Some(&object),
        )?,
        "applying the pipeline",
    )?;
    Ok(())
}

/// The pipeline as the API server has it.
pub async fn pipeline(scene: &RuntimeScene, name: &str) -> anyhow::Result<Value> {
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
        scene.client.clone(),
        &scene.namespace,
        &kube::api::ApiResource {
            group: "coffee-pipeline.io".into(),
            version: "v1alpha1".into(),
            api_version: "coffee-pipeline.io/v1alpha1".into(),
            kind: "CoffeeOrderPipeline".into(),
            plural: "coffeeorderpipelines".into(),
        },
    );
    Ok(serde_json::to_value(api.get(name).await?)?)
}

/// The condition `type_` of a pipeline as JSON (Null when absent).
pub fn condition(pipeline: &Value, type_: &str) -> Value {
    pipeline["status"]["conditions"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["type"] == type_).cloned())
        .unwrap_or(Value::Null)
}

/// Deletes pipeline `name` in `scene` with `kubectl` and waits (up to 90 s) until it is gone,
/// its finalizer done.
pub fn delete_pipeline(bed: &TestBed, scene: &RuntimeScene, name: &str) -> anyhow::Result<()> {
    let args = [
        "delete",
        "cop",
        name,
        "-n",
        &scene.namespace,
        "--wait=true",
        "--timeout=90s",
    ];
    succeed(
        kubectl(bed, &args, None)?,
        &format!("deleting pipeline {name}"),
    )
    .map(|_| ())
}

/// Waits until pipeline `name` in `scene` is `Ready=True`; returns it as the API server has it.
/// A failure shows its status and the operator's log tail at that moment.
pub async fn wait_ready(scene: &RuntimeScene, operator: &OperatorProcess, name: &str) -> Value {
    eventually("Ready=True", Duration::from_secs(120), || async {
        let object = pipeline(scene, name).await.map_err(|e| e.to_string())?;
        if condition(&object, "Ready")["status"] == "True" {
            Ok(object)
        } else {
            Err(object["status"].to_string())
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail()))
}

/// Waits until the pipeline's condition `type_` has `status` (and `reason`, if given).
pub async fn wait_for_condition(
    scene: &RuntimeScene,
    name: &str,
    type_: &str,
    status: &str,
    reason: Option<&str>,
    log: &str,
) -> serde_json::Value {
    eventually(
        &format!("{type_}={status} {reason:?}"),
        Duration::from_secs(60),
        || async {
            let object = pipeline(scene, name).await.map_err(|e| e.to_string())?;
            let found = condition(&object, type_);
            if found["status"] == status && reason.is_none_or(|r| found["reason"] == r) {
                Ok(found)
            } else {
                Err(found.to_string())
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{log}"))
}
