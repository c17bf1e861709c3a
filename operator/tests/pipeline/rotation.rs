//! A rotated Secret rolls exactly the pods that read it, and the new pods use the new value:
//! the listing token rolls the order intake only, the Kafka credentials roll both workloads.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e::fixtures::{RuntimeScene, unique_name};
use e2e::kafka_instance::KafkaInstance;
use e2e::operator::{OperatorProcess, apply_pipeline, apply_secret, install};
use e2e::poll::eventually;
use e2e::testbed::TestBed;

use crate::support::{scene, start_operator};

/// The operator reads Secret versions with its topic check (about once a minute), then the
/// rolling update replaces the pods one by one.
const ROLL: Duration = Duration::from_secs(150);
const ANNOTATION: &str = "coffee-pipeline.io/secret-versions";
const OLD_TOKEN: &str = "support-token-before-rotation";
const NEW_TOKEN: &str = "support-token-after-rotation";

/// The Secret versions a Deployment's pod template carries.
async fn versions(scene: &RuntimeScene, deployment: &str) -> String {
    let found = scene.deployments.get(deployment).await.expect(deployment);
    found
        .spec
        .and_then(|s| s.template.metadata)
        .and_then(|m| m.annotations)
        .and_then(|a| a.get(ANNOTATION).cloned())
        .unwrap_or_default()
}

/// The ready pods of `deployment` once it has rolled to its current template.
fn ready_pods(scene: &RuntimeScene, deployment: &str) -> BTreeSet<String> {
    scene
        .runtime
        .pods()
        .into_iter()
        .filter(|p| p.deployment == deployment && p.ready && p.pid.is_some())
        .map(|p| p.name)
        .collect()
}

/// Waits until `deployment`'s pods are all new (none of `before`) and ready.
async fn rolled(
    scene: &RuntimeScene,
    operator: &OperatorProcess,
    deployment: &str,
    before: &BTreeSet<String>,
) {
    eventually(&format!("{deployment} rolled"), ROLL, || {
        let now = ready_pods(scene, deployment);
        let all_pods = scene.runtime.pods();
        let new_only = all_pods
            .iter()
            .filter(|p| p.deployment == deployment)
            .all(|p| !before.contains(&p.name));
        async move {
            (new_only && !now.is_empty())
                .then_some(())
                .ok_or_else(|| format!("{now:?}"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail()));
}

/// The status of `GET /orders` on the order intake's ready pod with `token`.
async fn listing(scene: &RuntimeScene, token: &str) -> u16 {
    let producer = scene
        .runtime
        .pods()
        .into_iter()
        .find(|p| p.deployment == "rotating-producer" && p.ready)
        .expect("a ready producer pod");
    let port = producer.ports[0].local_port;
    reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/orders"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the producer answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_rotated_secret_rolls_the_pods_that_read_it() {
    let bed = TestBed::load().expect("the test bed");
    install(&bed).expect("the CRD");
    let users = [
        ("admin", "admin-secret"),
        ("coffee", "coffee-secret"),
        ("coffee2", "coffee2-secret"),
    ];
    let broker = KafkaInstance::start_sasl_plain(&bed, &unique_name("rotate"), &users)
        .await
        .expect("a SASL broker");
    let scene = scene("rotate").await.expect("a scene");
    let ns = scene.namespace.clone();
    apply_secret(
        &bed,
        &ns,
        "kafka-user",
        &[("username", "coffee"), ("password", "coffee-secret")],
    )
    .expect("a Secret");
    apply_secret(&bed, &ns, "support", &[("token", OLD_TOKEN)]).expect("a Secret");
    let operator = start_operator(&bed, &scene).await.expect("the operator");
    let spec = format!(
        "  kafka:\n    bootstrapServers: \"{}\"\n    topic: {}\n    partitions: 2\n    sasl: {{mechanism: PLAIN, secretName: kafka-user}}\n    allowInsecureSasl: true\n  producer:\n    replicas: 1\n    ordersListTokenSecret: {{name: support, key: token}}\n",
        broker.bootstrap_servers(),
        unique_name("cop-rotate")
    );
    apply_pipeline(&bed, &ns, "rotating", &spec).expect("the pipeline");
    e2e::operator::wait_ready(&scene, &operator, "rotating").await;
    let producers = ready_pods(&scene, "rotating-producer");
    let consumers = ready_pods(&scene, "rotating-consumer");
    let consumer_versions = versions(&scene, "rotating-consumer").await;
    assert!(
        consumer_versions.starts_with("kafka-user="),
        "{consumer_versions}"
    );
    assert!(
        versions(&scene, "rotating-producer")
            .await
            .contains(",support=")
    );
    assert_eq!(listing(&scene, OLD_TOKEN).await, 200);

    apply_secret(&bed, &ns, "support", &[("token", NEW_TOKEN)]).expect("a Secret");
    rolled(&scene, &operator, "rotating-producer", &producers).await;
    assert_eq!(
        listing(&scene, NEW_TOKEN).await,
        200,
        "the new pod has the new token"
    );
    assert_ne!(
        listing(&scene, OLD_TOKEN).await,
        200,
        "the old token is gone"
    );
    assert_eq!(
        versions(&scene, "rotating-consumer").await,
        consumer_versions,
        "the consumers do not read the token"
    );
    assert_eq!(
        ready_pods(&scene, "rotating-consumer"),
        consumers,
        "no consumer restarted"
    );

    let producers = ready_pods(&scene, "rotating-producer");
    apply_secret(
        &bed,
        &ns,
        "kafka-user",
        &[("username", "coffee2"), ("password", "coffee2-secret")],
    )
    .expect("a Secret");
    rolled(&scene, &operator, "rotating-consumer", &consumers).await;
    rolled(&scene, &operator, "rotating-producer", &producers).await;
    e2e::operator::wait_ready(&scene, &operator, "rotating").await;
    operator.stop().await.expect("the operator stops");
    scene.finish().await.expect("cleaning up");
}
