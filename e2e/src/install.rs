//! The operator installed on the test bed as a platform team would install it — with Helm, or with
//! `kubectl apply -f manifests/` — and run as a cluster would run it: the local runtime runs its
//! Deployment (pods with the ServiceAccount's identity, probes and scrape annotations), and a
//! second runtime runs the pipelines' workloads in the namespace the pipelines live in.
//! Shared by the install tests and the demo.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use kube::Api;
use kube::api::PostParams;

use crate::chart::Release;
use crate::fixtures::{RuntimeScene, log_tail, unique_name};
use crate::operator::{
    install, kubectl, repo, succeed, wait_established, wait_for_condition, workloads_scene,
};
use crate::poll::eventually;
use crate::runtime::PodSnapshot;
use crate::testbed::TestBed;

/// The label every operator pod carries, in the chart and in `manifests/`.
const OPERATOR_SELECTOR: &str = "app.kubernetes.io/name=coffee-operator";
/// Where `manifests/` installs the operator, and the name of its objects.
const MANIFESTS_NAMESPACE: &str = "coffee-pipeline-system";
const MANIFESTS_NAME: &str = "coffee-operator";
/// The files of `manifests/` that install the operator itself (the CRD, namespace and RBAC are
/// shared by every test on the test bed and stay).
const MANIFESTS_OPERATOR: &str = "manifests/operator.yaml";

/// Where an installation puts things.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The namespace of the release (the operator's Deployment).
    pub operator_namespace: String,
    /// The namespace the pipelines are created in.
    pub pipelines_namespace: String,
    /// The Helm release's name.
    pub release: String,
}

impl Placement {
    /// Names no other test or earlier run has used, for tests running side by side.
    pub fn unique(prefix: &str) -> Self {
        Self {
            operator_namespace: unique_name(prefix),
            pipelines_namespace: unique_name(&format!("{prefix}-pipes")),
            release: unique_name(prefix),
        }
    }
}

/// How the operator was installed, and so how it is removed.
#[derive(Debug)]
enum Source {
    Helm {
        release: Release,
        /// The values every install and upgrade of this release starts from.
        base_values: Vec<String>,
    },
    Manifests,
}

/// The operator installed on the test bed, with runtimes for it and for the pipelines.
pub struct Installed {
    pub bed: TestBed,
    /// The operator's namespace, with a runtime for its Deployment.
    pub operator: RuntimeScene,
    /// The watched namespace, with a runtime for the pipelines' Deployments.
    pub pipelines: RuntimeScene,
    /// The name of the operator's Deployment, ServiceAccount, RBAC objects and Lease (the
    /// release's, or `coffee-operator` from `manifests/`).
    pub name: String,
    source: Option<Source>,
}

impl std::fmt::Debug for Installed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installed")
            .field("operator", &self.operator)
            .field("pipelines", &self.pipelines)
            .field("name", &self.name)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Installed {
    /// `helm install`s the chart (binaries from `bin_dir`) watching only the pipelines'
    /// namespace, with `extra_values` (`--set` expressions). The CRD is installed beforehand, as
    /// other tests on the test bed share it (`crds.install=false`).
    pub async fn helm(
        placement: &Placement,
        bin_dir: &Path,
        extra_values: &[&str],
    ) -> anyhow::Result<Self> {
        let bed = TestBed::load()?;
        install(&bed)?;
        Self::helm_on(bed, placement, bin_dir, false, extra_values).await
    }

    /// `helm install`s the chart as a platform team does on a cluster of its own: the release
    /// installs the CRD (handed to it beforehand if it exists) and nothing else is applied.
    pub async fn helm_with_crd(
        placement: &Placement,
        bin_dir: &Path,
        extra_values: &[&str],
    ) -> anyhow::Result<Self> {
        let bed = TestBed::load()?;
        let installed = Self::helm_on(bed, placement, bin_dir, true, extra_values).await?;
        wait_established(&installed.bed, CRD)?;
        Ok(installed)
    }

    async fn helm_on(
        bed: TestBed,
        placement: &Placement,
        bin_dir: &Path,
        crds_install: bool,
        extra_values: &[&str],
    ) -> anyhow::Result<Self> {
        let operator =
            RuntimeScene::start_in(&placement.operator_namespace, bin_dir, OPERATOR_SELECTOR)
                .await?;
        let pipelines = workloads_scene(&placement.pipelines_namespace, bin_dir).await?;
        let base_values = vec![
            format!("crds.install={crds_install}"),
            format!("watchNamespace={}", placement.pipelines_namespace),
            "leaderElection.leaseDurationSeconds=4".to_owned(),
        ];
        let mut values = base_values.clone();
        values.extend(extra_values.iter().map(|v| (*v).to_owned()));
        let release = Release::install(
            &bed,
            &placement.release,
            &placement.operator_namespace,
            &values,
        )?;
        Ok(Self {
            bed,
            operator,
            pipelines,
            name: placement.release.clone(),
            source: Some(Source::Helm {
                release,
                base_values,
            }),
        })
    }

    /// `kubectl apply -f manifests/` exactly as generated: the operator in
    /// `coffee-pipeline-system`, watching every namespace. Only one such installation may run on
    /// the test bed at a time, and nothing else may run an operator meanwhile.
    pub async fn manifests(pipelines_namespace: &str, bin_dir: &Path) -> anyhow::Result<Self> {
        let bed = TestBed::load()?;
        install(&bed)?;
        apply_file(&bed, "manifests/crd.yaml")?;
        apply_file(&bed, MANIFESTS_OPERATOR)?;
        let operator = RuntimeScene::start_in(MANIFESTS_NAMESPACE, bin_dir, OPERATOR_SELECTOR)
            .await?
            .keeping_namespace();
        let pipelines = workloads_scene(pipelines_namespace, bin_dir).await?;
        Ok(Self {
            bed,
            operator,
            pipelines,
            name: MANIFESTS_NAME.to_owned(),
            source: Some(Source::Manifests),
        })
    }

    /// `helm upgrade` with the base values and `extra_values`.
    pub fn upgrade(&self, extra_values: &[&str]) -> anyhow::Result<()> {
        let Some(Source::Helm {
            release,
            base_values,
        }) = &self.source
        else {
            bail!("only a Helm release can be upgraded");
        };
        let mut values = base_values.clone();
        values.extend(extra_values.iter().map(|v| (*v).to_owned()));
        release.upgrade(&self.bed, &values)
    }

    /// `kubectl apply`s `manifests/samples/minimal.yaml` (pipeline `espresso-bar`) in the
    /// pipelines' namespace, pointed at the test bed's Kafka with a topic of its own.
    pub fn apply_sample(&self) -> anyhow::Result<()> {
        let sample = std::fs::read_to_string(repo().join("manifests/samples/minimal.yaml"))
            .context("reading the minimal sample")?
            .replace(
                "bootstrapServers: kafka.kafka.svc:9092",
                &format!(
                    "bootstrapServers: \"{}\"\n    topic: {}",
                    self.bed.kafka_bootstrap_servers,
                    unique_name("sample")
                ),
            );
        let namespace = &self.pipelines.namespace;
        let applied = kubectl(
            &self.bed,
            &["apply", "-n", namespace, "-f", "-"],
            Some(&sample),
        )?;
        succeed(applied, "applying the sample").map(|_| ())
    }

    /// Waits until the sample pipeline is Ready (fails the test with the operator's logs).
    pub async fn wait_for_sample_ready(&self) {
        let logs = self.operator_logs();
        wait_for_condition(
            &self.pipelines,
            "espresso-bar",
            "Ready",
            "True",
            None,
            &logs,
        )
        .await;
    }

    /// The operator's running pods.
    pub fn operator_pods(&self) -> Vec<PodSnapshot> {
        self.operator
            .runtime
            .pods()
            .into_iter()
            .filter(|p| p.pid.is_some())
            .collect()
    }

    /// Waits until `replicas` operator pods, none of them `replaced`, are ready and one of them
    /// holds the Lease; returns the pods' names and the leader's.
    pub async fn wait_for_leader(
        &self,
        replicas: usize,
        replaced: &BTreeSet<String>,
        timeout: Duration,
    ) -> anyhow::Result<(BTreeSet<String>, String)> {
        let what = format!(
            "{replicas} ready operator pods, one holding Lease {}",
            self.name
        );
        eventually(&what, timeout, || async {
            let ready: BTreeSet<String> = self
                .operator_pods()
                .into_iter()
                .filter(|p| p.ready)
                .map(|p| p.name)
                .collect();
            let holder = self.lease_holder().unwrap_or_default();
            if ready.len() == replicas && ready.contains(&holder) && ready.is_disjoint(replaced) {
                Ok((ready, holder))
            } else {
                Err(format!(
                    "ready {ready:?}, holder {holder:?}: {:?}",
                    self.operator_pods()
                ))
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", self.operator_logs()))
    }

    /// The pod holding the operator's Lease, as the API server has it.
    pub fn lease_holder(&self) -> anyhow::Result<String> {
        let output = kubectl(
            &self.bed,
            &[
                "get",
                "lease",
                &self.name,
                "-n",
                &self.operator.namespace,
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ],
            None,
        )?;
        succeed(output, "reading the Lease")
    }

    /// Who the API server says a pod's token belongs to (a TokenReview of the token the runtime
    /// gave the pod).
    pub async fn token_user(&self, pod: &str) -> anyhow::Result<String> {
        let token_file = PathBuf::from(&self.bed.log_dir)
            .join("pods")
            .join(&self.operator.namespace)
            .join(format!("{pod}.identity"))
            .join("token");
        let token = std::fs::read_to_string(&token_file)
            .with_context(|| format!("reading {}", token_file.display()))?;
        let review = TokenReview {
            spec: TokenReviewSpec {
                token,
                ..TokenReviewSpec::default()
            },
            ..TokenReview::default()
        };
        let reviewed = Api::<TokenReview>::all(self.operator.client.clone())
            .create(&PostParams::default(), &review)
            .await
            .context("creating a TokenReview")?;
        let status = reviewed.status.context("a TokenReview without status")?;
        if status.authenticated != Some(true) {
            bail!("the token of pod {pod} is not authenticated: {status:?}");
        }
        Ok(status.user.and_then(|u| u.username).unwrap_or_default())
    }

    /// The tail of every operator pod's log.
    pub fn operator_logs(&self) -> String {
        let dir = PathBuf::from(&self.bed.log_dir)
            .join("pods")
            .join(&self.operator.namespace);
        std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                    .map(|e| format!("--- {}\n{}", e.path().display(), log_tail(&e.path(), 20)))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// Deletes the pipelines while the operator still runs their finalizers, as the chart's
    /// README says to before an uninstall.
    pub fn delete_pipelines(&self) -> anyhow::Result<()> {
        let namespace = &self.pipelines.namespace;
        let deleted = kubectl(
            &self.bed,
            &[
                "delete",
                "coffeeorderpipelines",
                "--all",
                "-n",
                namespace,
                "--wait",
                "--timeout=60s",
            ],
            None,
        )?;
        succeed(deleted, "deleting the pipelines")
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}\n{}", self.operator_logs()))
    }

    /// Removes the operator (`helm uninstall`, or deleting what `manifests/` created), leaving
    /// the pipelines' finalizers to whoever runs them next.
    pub fn uninstall(&mut self) -> anyhow::Result<()> {
        match self.source.take() {
            Some(Source::Helm { release, .. }) => release.uninstall(&self.bed),
            Some(Source::Manifests) => {
                let path = repo().join(MANIFESTS_OPERATOR);
                let path = path.to_str().context("utf-8 path")?;
                let deleted = kubectl(&self.bed, &["delete", "--wait", "-f", path], None)?;
                succeed(deleted, "deleting the operator's manifests").map(|_| ())
            }
            None => Ok(()),
        }
    }

    /// Deletes the pipelines, uninstalls (if still installed) and stops both runtimes.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        if self.source.is_some() {
            self.delete_pipelines()?;
            self.uninstall()?;
        }
        self.pipelines.finish().await?;
        self.operator.finish().await
    }
}

/// `kubectl apply --server-side` of one of the repository's YAML files.
fn apply_file(bed: &TestBed, file: &str) -> anyhow::Result<()> {
    let path = repo().join(file);
    let path = path.to_str().context("utf-8 path")?;
    let applied = kubectl(
        bed,
        &["apply", "--server-side", "--force-conflicts", "-f", path],
        None,
    )?;
    succeed(applied, file).map(|_| ())
}

/// The CRD's name, as the chart and `manifests/` install it.
pub const CRD: &str = "coffeeorderpipelines.coffee-pipeline.io";

/// Hands an existing CRD (from `kubectl apply -f manifests/`, or another release) to the Helm
/// release `release` in `namespace`, as the chart's README tells a platform team moving to Helm: Helm
/// only takes over objects labelled and annotated as its release's.
pub fn adopt_crd(bed: &TestBed, release: &str, namespace: &str) -> anyhow::Result<()> {
    let label = kubectl(
        bed,
        &[
            "label",
            "--overwrite",
            "crd",
            CRD,
            "app.kubernetes.io/managed-by=Helm",
        ],
        None,
    )?;
    succeed(label, "labelling the CRD for Helm")?;
    let annotate = kubectl(
        bed,
        &[
            "annotate",
            "--overwrite",
            "crd",
            CRD,
            &format!("meta.helm.sh/release-name={release}"),
            &format!("meta.helm.sh/release-namespace={namespace}"),
        ],
        None,
    )?;
    succeed(annotate, "annotating the CRD for Helm").map(|_| ())
}
