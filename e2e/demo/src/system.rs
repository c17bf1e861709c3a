//! The product as a platform team would run it, on the test bed: the chart `helm install`ed
//! (the operator a Deployment of two replicas under its ServiceAccount, run by the local
//! runtime), a pipeline applied with `kubectl` from a file the person can read, and its
//! producer and consumer pods run by a second runtime. Fixed names, so that the commands in the
//! README work while the demo runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use e2e::chart::helm;
use e2e::install::{Installed, Placement, adopt_crd};
use e2e::operator::{kubectl, succeed, wait_for_condition};
use e2e::pipeline::Wiring;
use e2e::testbed::TestBed;

pub const OPERATOR_NAMESPACE: &str = "coffee-demo-system";
pub const NAMESPACE: &str = "coffee-demo";
/// Not `coffee-operator`: that name is taken on the test bed by `manifests/`' cluster-wide RBAC,
/// which the tests install.
pub const RELEASE: &str = "coffee-demo";
pub const PIPELINE: &str = "coffee-shop";

/// The pipeline's size and pace.
#[derive(Debug, Clone)]
pub struct PipelineSize {
    pub partitions: i32,
    pub max_pods: i32,
    pub max_workers: i32,
    pub scale_down_after: Duration,
}

/// The running product.
#[derive(Debug)]
pub struct System {
    pub installed: Installed,
    pub wiring: Wiring,
    /// The pipeline as applied, for the person to read.
    pub pipeline_file: PathBuf,
}

/// Removes what a demo that did not finish left behind: the release, the pipeline (its
/// finalizer removed, as no operator runs to finish it) and both namespaces.
pub fn clear_leftovers(bed: &TestBed) -> anyhow::Result<()> {
    let exists = |namespace: &str| {
        kubectl(bed, &["get", "namespace", namespace], None).is_ok_and(|o| o.status.success())
    };
    if exists(NAMESPACE) {
        let names = succeed(
            kubectl(bed, &["get", "cop", "-n", NAMESPACE, "-o", "name"], None)?,
            "listing leftover pipelines",
        )?;
        for name in names.lines().filter(|l| !l.is_empty()) {
            let patch = r#"{"metadata":{"finalizers":null}}"#;
            let args = ["patch", name, "-n", NAMESPACE, "--type=merge", "-p", patch];
            succeed(kubectl(bed, &args, None)?, "removing a leftover finalizer")?;
        }
    }
    if exists(OPERATOR_NAMESPACE) {
        uninstall(bed)?;
    }
    crate::crd::restore(bed)?;
    delete_namespaces(bed)
}

/// `helm uninstall`s the demo's release, if it is there.
pub fn uninstall(bed: &TestBed) -> anyhow::Result<()> {
    let args = [
        "uninstall",
        RELEASE,
        "-n",
        OPERATOR_NAMESPACE,
        "--ignore-not-found",
    ];
    succeed(helm(bed, &args)?, "helm uninstall").map(|_| ())
}

/// Deletes both of the demo's namespaces and waits until they are gone.
pub fn delete_namespaces(bed: &TestBed) -> anyhow::Result<()> {
    for namespace in [NAMESPACE, OPERATOR_NAMESPACE] {
        let args = [
            "delete",
            "namespace",
            namespace,
            "--ignore-not-found",
            "--wait",
            "--timeout=120s",
        ];
        succeed(kubectl(bed, &args, None)?, "deleting a namespace")?;
    }
    Ok(())
}

/// Installs the chart (binaries from `bin_dir`), applies the pipeline and waits until it is
/// Ready; `step` is told what happens.
pub async fn start(
    bed: &TestBed,
    bin_dir: &Path,
    size: &PipelineSize,
    out_dir: &Path,
    step: &mut dyn FnMut(&str),
) -> anyhow::Result<System> {
    if crate::crd::remember(bed)? {
        step("handing the CRD that exists to the Helm release (put back when the demo ends)");
        adopt_crd(bed, RELEASE, OPERATOR_NAMESPACE)?;
    }
    step("helm install coffee-demo charts/coffee-pipeline-operator -n coffee-demo-system");
    let placement = Placement {
        operator_namespace: OPERATOR_NAMESPACE.to_owned(),
        pipelines_namespace: NAMESPACE.to_owned(),
        release: RELEASE.to_owned(),
    };
    let installed = Installed::helm_with_crd(&placement, bin_dir, &[]).await?;
    step("waiting for the operator's two pods and a leader");
    installed
        .wait_for_leader(2, &Default::default(), Duration::from_secs(90))
        .await?;
    step("kubectl apply -f pipeline.yaml");
    let pipeline_file = out_dir.join("pipeline.yaml");
    std::fs::write(&pipeline_file, pipeline_yaml(bed, size))
        .with_context(|| format!("writing {}", pipeline_file.display()))?;
    let file = pipeline_file.to_str().context("a UTF-8 path")?;
    succeed(
        kubectl(bed, &["apply", "-f", file], None)?,
        "applying the pipeline",
    )?;
    step("waiting for the pipeline to be Ready (topics, producers, consumers)");
    let logs = installed.operator_logs();
    wait_for_condition(&installed.pipelines, PIPELINE, "Ready", "True", None, &logs).await;
    let consumer = format!("{PIPELINE}-consumer");
    let wiring = Wiring::of_consumer(&installed.pipelines.deployments, &consumer).await?;
    Ok(System {
        installed,
        wiring,
        pipeline_file,
    })
}

/// The demo's pipeline: autoscaling on, a fresh topic, topics deleted with the pipeline.
fn pipeline_yaml(bed: &TestBed, size: &PipelineSize) -> String {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "# The demo's pipeline, as `e2e/demo` applied it.\n\
         apiVersion: coffee-pipeline.io/v1alpha1\n\
         kind: CoffeeOrderPipeline\n\
         metadata:\n  name: {PIPELINE}\n  namespace: {NAMESPACE}\n\
         spec:\n\
         \x20 kafka:\n    bootstrapServers: \"{}\"\n    topic: coffee-demo-{stamp}\n    partitions: {}\n\
         \x20 producer:\n    replicas: 2\n\
         \x20 consumer:\n    replicas: {{ min: 1, max: {} }}\n    workers: {{ min: 2, max: {} }}\n\
         \x20 autoscaling:\n    mode: Enabled\n    pollIntervalSeconds: 2\n    targetDrainSeconds: 20\n    scaleDownStabilizationSeconds: {}\n    minRebalanceIntervalSeconds: 10\n\
         \x20 topicDeletionPolicy: Delete\n",
        bed.kafka_bootstrap_servers,
        size.partitions,
        size.max_pods,
        size.max_workers,
        size.scale_down_after.as_secs(),
    )
}

impl System {
    /// Deletes the pipeline (its topics with it), uninstalls the chart, stops the runtimes and
    /// puts the CRD back as the demo found it; says what became of the CRD.
    pub async fn stop(self) -> anyhow::Result<&'static str> {
        let bed = self.installed.bed.clone();
        self.installed.finish().await?;
        crate::crd::restore(&bed)
    }
}
