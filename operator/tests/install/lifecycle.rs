//! `helm install` → the runtime runs the operator Deployment (two replicas, one leads) under
//! the chart's ServiceAccount → the sample pipeline becomes Ready with real topics and
//! processes; `helm upgrade` with changed values rolls the operator; `helm uninstall` removes
//! what it installed.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use e2e::operator::kubectl;

use e2e::install::Installed;

use super::release::{install, leader};

fn exists(installed: &Installed, args: &[&str]) -> bool {
    kubectl(&installed.bed, args, None)
        .expect("kubectl runs")
        .status
        .success()
}

#[tokio::test]
async fn install_upgrade_and_uninstall_run_the_operator_as_a_cluster_would() {
    let started = Instant::now();
    let mut installed = install("chart-life", &[]).await;
    let (pods, first_leader) = leader(&installed, 2, &BTreeSet::new()).await;
    let account = format!(
        "system:serviceaccount:{}:{}",
        installed.operator.namespace, installed.name
    );
    for pod in &pods {
        assert_eq!(
            installed.token_user(pod).await.unwrap(),
            account,
            "pod {pod}"
        );
    }

    installed.apply_sample().expect("applying the sample");
    installed.wait_for_sample_ready().await;
    eprintln!(
        "helm install to a Ready pipeline: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    installed
        .upgrade(&["log.level=debug"])
        .expect("helm upgrade");
    let (rolled, new_leader) = leader(&installed, 2, &pods).await;
    assert!(rolled.contains(&new_leader) && !pods.contains(&new_leader));
    assert_ne!(new_leader, first_leader, "a new pod leads after the roll");
    installed.wait_for_sample_ready().await;

    installed
        .delete_pipelines()
        .expect("deleting the pipelines");
    let namespace = installed.operator.namespace.clone();
    let name = installed.name.clone();
    installed.uninstall().expect("helm uninstall");
    for object in [
        vec!["get", "deployment", &name, "-n", &namespace],
        vec!["get", "serviceaccount", &name, "-n", &namespace],
        vec!["get", "clusterrole", &name],
        vec![
            "get",
            "rolebinding",
            &name,
            "-n",
            &installed.pipelines.namespace,
        ],
    ] {
        assert!(
            !exists(&installed, &object),
            "{object:?} outlived the uninstall"
        );
    }
    assert!(
        exists(
            &installed,
            &["get", "crd", "coffeeorderpipelines.coffee-pipeline.io"]
        ),
        "the CRD is not the release's to delete"
    );
    tokio::time::timeout(Duration::from_secs(60), installed.finish())
        .await
        .expect("the runtimes stop")
        .expect("cleaning up");
}
