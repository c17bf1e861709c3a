//! The operator installed with Helm on the test bed, as a cluster would run it: a release in a
//! namespace of its own whose Deployment the local runtime runs (pods with the chart's
//! ServiceAccount identity, probes and scrape annotations), watching a second namespace where
//! another runtime runs the pipelines' workloads.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e::chart::Release;
use e2e::fixtures::{RuntimeScene, unique_name};
use e2e::operator::{install, kubectl, succeed};
use e2e::poll::eventually;
use e2e::runtime::PodSnapshot;
use e2e::testbed::TestBed;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use kube::Api;
use kube::api::PostParams;

/// The `coffee-operator` these tests run; the runtime finds the workloads' binaries beside it.
pub fn binary() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_coffee-operator"))
}

/// How long the operator's pods may take to start and elect a leader.
const START: Duration = Duration::from_secs(90);

pub struct Installed {
    pub bed: TestBed,
    /// The release's namespace, with a runtime for the operator's Deployment.
    pub operator: RuntimeScene,
    /// The watched namespace, with a runtime for the pipelines' Deployments.
    pub pipelines: RuntimeScene,
    pub release: Option<Release>,
    /// The values every install and upgrade of this release starts from.
    base_values: Vec<String>,
}

impl Installed {
    /// `helm install`s the chart into a new namespace, watching another new one. The CRD is
    /// installed beforehand, as the other tests share it (`crds.install=false`).
    pub async fn start(prefix: &str, extra_values: &[&str]) -> Self {
        let bed = TestBed::load().expect("the test bed (start it with `e2e/testbed up`)");
        install(&bed).expect("installing the CRD");
        let bin_dir = binary().parent().expect("bin dir");
        let operator = RuntimeScene::start_selecting(
            prefix,
            bin_dir,
            "app.kubernetes.io/name=coffee-operator",
        )
        .await
        .expect("a namespace with a runtime for the operator");
        let pipelines = e2e::operator::scene(&format!("{prefix}-pipes"), binary())
            .await
            .expect("a namespace with a runtime for the pipelines");
        let base_values = vec![
            "crds.install=false".to_owned(),
            format!("watchNamespace={}", pipelines.namespace),
            "leaderElection.leaseDurationSeconds=4".to_owned(),
        ];
        let mut values = base_values.clone();
        values.extend(extra_values.iter().map(|v| (*v).to_owned()));
        let release = Release::install(&bed, &unique_name(prefix), &operator.namespace, &values)
            .expect("helm install");
        Self {
            bed,
            operator,
            pipelines,
            release: Some(release),
            base_values,
        }
    }

    /// `helm upgrade` with the base values and `extra_values`.
    pub fn upgrade(&self, extra_values: &[&str]) {
        let mut values = self.base_values.clone();
        values.extend(extra_values.iter().map(|v| (*v).to_owned()));
        self.release()
            .upgrade(&self.bed, &values)
            .expect("helm upgrade");
    }

    pub fn release(&self) -> &Release {
        self.release.as_ref().expect("installed")
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
    ) -> (BTreeSet<String>, String) {
        let lease = self.release().name.clone();
        eventually(
            &format!("{replicas} ready operator pods, one holding Lease {lease}"),
            START,
            || async {
                let ready: BTreeSet<String> = self
                    .operator_pods()
                    .into_iter()
                    .filter(|p| p.ready)
                    .map(|p| p.name)
                    .collect();
                let holder = self.lease_holder().unwrap_or_default();
                if ready.len() == replicas && ready.contains(&holder) && ready.is_disjoint(replaced)
                {
                    Ok((ready, holder))
                } else {
                    Err(format!(
                        "ready {ready:?}, holder {holder:?}: {:?}",
                        self.operator_pods()
                    ))
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", self.operator_logs()))
    }

    fn lease_holder(&self) -> anyhow::Result<String> {
        succeed(
            kubectl(
                &self.bed,
                &[
                    "get",
                    "lease",
                    &self.release().name,
                    "-n",
                    &self.operator.namespace,
                    "-o",
                    "jsonpath={.spec.holderIdentity}",
                ],
                None,
            )?,
            "reading the Lease",
        )
    }

    /// Who the API server says a pod's token belongs to (a TokenReview of the token the runtime
    /// gave the pod).
    pub async fn token_user(&self, pod: &str) -> String {
        let token_file = std::path::PathBuf::from(&self.bed.log_dir)
            .join("pods")
            .join(&self.operator.namespace)
            .join(format!("{pod}.identity"))
            .join("token");
        let token = std::fs::read_to_string(&token_file)
            .unwrap_or_else(|e| panic!("{}: {e}", token_file.display()));
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
            .expect("a TokenReview");
        let status = reviewed.status.expect("a TokenReview status");
        assert_eq!(status.authenticated, Some(true), "{status:?}");
        status.user.and_then(|u| u.username).unwrap_or_default()
    }

    /// The tail of every operator pod's log.
    pub fn operator_logs(&self) -> String {
        let dir = std::path::PathBuf::from(&self.bed.log_dir)
            .join("pods")
            .join(&self.operator.namespace);
        std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                    .map(|e| {
                        format!(
                            "--- {}\n{}",
                            e.path().display(),
                            e2e::fixtures::log_tail(&e.path(), 20)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// Deletes the pipelines while the operator still runs their finalizers, as the chart's
    /// README says to before an uninstall.
    pub fn delete_pipelines(&self) {
        let deleted = kubectl(
            &self.bed,
            &[
                "delete",
                "coffeeorderpipelines",
                "--all",
                "-n",
                &self.pipelines.namespace,
                "--wait",
                "--timeout=60s",
            ],
            None,
        )
        .expect("kubectl runs");
        succeed(deleted, "deleting the pipelines")
            .unwrap_or_else(|e| panic!("{e}\n{}", self.operator_logs()));
    }

    /// Deletes the pipelines, uninstalls (if still installed) and stops both runtimes.
    pub async fn finish(mut self) {
        if self.release.is_some() {
            self.delete_pipelines();
        }
        if let Some(release) = self.release.take() {
            release.uninstall(&self.bed).expect("helm uninstall");
        }
        self.pipelines
            .finish()
            .await
            .expect("finishing the pipelines");
        self.operator
            .finish()
            .await
            .expect("finishing the operator");
    }
}
