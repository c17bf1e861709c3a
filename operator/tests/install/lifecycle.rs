//! `helm install` → the runtime runs the operator Deployment (two replicas, one leads) under
//! the chart's ServiceAccount → the sample pipeline becomes Ready with real topics and
//! processes; `helm upgrade` with changed values rolls the operator and moves the pipeline to
//! the chart's new default images; `helm uninstall` removes what it installed.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use e2e::install::Installed;
use e2e::operator::kubectl;
use e2e::poll::eventually;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

use super::release::{install, leader};

fn exists(installed: &Installed, args: &[&str]) -> bool {
    kubectl(&installed.bed, args, None)
        .expect("kubectl runs")
        .status
        .success()
}

const WAIT: Duration = Duration::from_secs(90);

/// The images of the pipelines' Deployments, sorted.
async fn images(installed: &Installed) -> Vec<String> {
    let deployments: Api<Deployment> = Api::namespaced(
        installed.pipelines.client.clone(),
        &installed.pipelines.namespace,
    );
    let listed = deployments
        .list(&Default::default())
        .await
        .expect("listing the pipelines' Deployments");
    let mut images: Vec<String> = listed
        .items
        .iter()
        .filter_map(|d| d.spec.as_ref()?.template.spec.as_ref())
        .flat_map(|pod| pod.containers.iter().filter_map(|c| c.image.clone()))
        .collect();
    images.sort();
    images
}

/// The names of the pipelines' running pods.
fn pipeline_pods(installed: &Installed) -> BTreeSet<String> {
    installed
        .pipelines
        .runtime
        .pods()
        .into_iter()
        .filter(|p| p.pid.is_some())
        .map(|p| p.name)
        .collect()
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

    let first_images = images(&installed).await;
    assert_eq!(
        first_images,
        [
            "ghcr.io/coffee-pipeline/coffee-consumer:0.1.0",
            "ghcr.io/coffee-pipeline/coffee-producer:0.1.0"
        ],
        "a pipeline naming no image runs the chart's appVersion"
    );
    // A listing token: the operator reads the version of each Secret a pipeline names.
    let pipelines = &installed.pipelines.namespace;
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: support, namespace: {pipelines}}}\nstringData: {{token: a-support-token-of-some-length}}\n"
    );
    let created = kubectl(&installed.bed, &["apply", "-f", "-"], Some(&secret)).expect("kubectl");
    assert!(created.status.success(), "{created:?}");
    let token =
        r#"{"spec":{"producer":{"ordersListTokenSecret":{"name":"support","key":"token"}}}}"#;
    let patch = [
        "patch",
        "cop",
        "espresso-bar",
        "-n",
        pipelines,
        "--type",
        "merge",
        "-p",
        token,
    ];
    let patched = kubectl(&installed.bed, &patch, None).expect("kubectl");
    assert!(patched.status.success(), "{patched:?}");
    let first_pipeline_pods = pipeline_pods(&installed);
    installed
        .upgrade(&[
            "log.level=debug",
            "pipelineDefaults.producerImage.tag=0.1.1",
            "pipelineDefaults.consumerImage.tag=0.1.1",
        ])
        .expect("helm upgrade");
    let (rolled, new_leader) = leader(&installed, 2, &pods).await;
    assert!(rolled.contains(&new_leader) && !pods.contains(&new_leader));
    assert_ne!(new_leader, first_leader, "a new pod leads after the roll");
    let moved = eventually("the pipeline's Deployments on the new images", WAIT, || {
        let installed = &installed;
        async move {
            let now = images(installed).await;
            now.iter()
                .all(|image| image.ends_with(":0.1.1"))
                .then_some(())
                .ok_or_else(|| format!("{now:?}"))
        }
    });
    moved
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", installed.operator_logs()));
    let rolled_pipeline = eventually(
        "the pipeline's pods replaced by a rolling update",
        WAIT,
        || {
            let now = pipeline_pods(&installed);
            let replaced = !now.is_empty() && now.is_disjoint(&first_pipeline_pods);
            async move { replaced.then_some(()).ok_or_else(|| format!("{now:?}")) }
        },
    );
    rolled_pipeline.await.unwrap_or_else(|e| panic!("{e}"));
    installed.wait_for_sample_ready().await;

    installed
        .delete_pipelines()
        .expect("deleting the pipelines");
    super::rbac::assert_rules_match_requests(&installed);
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
