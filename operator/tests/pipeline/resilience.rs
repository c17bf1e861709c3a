//! Two operators elect one leader (and the other takes over), a restarted operator converges,
//! and an unreachable Kafka is explained in the conditions until it is back.

use std::time::Duration;

use e2e::fixtures::unique_name;
use e2e::kafka_instance::KafkaInstance;
use e2e::poll::eventually;
use e2e::testbed::TestBed;

use crate::support::{binary, scene, start_operator};
use e2e::operator::{
    OperatorProcess, apply_pipeline, install, kubectl, operator_kubeconfig, pipeline,
    wait_for_condition,
};

fn spec(brokers: &str, topic: &str, partitions: i32) -> String {
    format!(
        "  kafka:\n    bootstrapServers: \"{brokers}\"\n    topic: {topic}\n    partitions: {partitions}\n  producer:\n    replicas: 0\n"
    )
}

#[tokio::test]
async fn only_the_leader_reconciles_and_a_standby_takes_over() {
    let bed = TestBed::load().unwrap();
    install(&bed).unwrap();
    let scene = scene("leader").await.unwrap();
    let kubeconfig = operator_kubeconfig(&bed).await.unwrap();
    let lease = unique_name("lease");
    let first = OperatorProcess::start(&bed, binary(), &kubeconfig, &scene.namespace, &lease)
        .await
        .unwrap();
    eventually(
        "the first operator to lead",
        Duration::from_secs(20),
        || async {
            if first.leading().await {
                Ok(())
            } else {
                Err("standby".to_owned())
            }
        },
    )
    .await
    .unwrap();
    let second = OperatorProcess::start(&bed, binary(), &kubeconfig, &scene.namespace, &lease)
        .await
        .unwrap();
    // For two seconds, however often it is asked, the second replica stands by.
    let watching = tokio::time::Instant::now();
    while watching.elapsed() < Duration::from_secs(2) {
        assert!(
            !second.leading().await,
            "two leaders\n{}",
            second.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    apply_pipeline(
        &bed,
        &scene.namespace,
        "one",
        &spec(&bed.kafka_bootstrap_servers, &unique_name("cop-one"), 1),
    )
    .unwrap();
    wait_for_condition(&scene, "one", "TopicReady", "True", None, &first.log_tail()).await;
    assert!(
        !second.log_tail().contains("TopicCreated"),
        "the standby reconciled:\n{}",
        second.log_tail()
    );

    first.stop().await.unwrap();
    eventually("the standby to lead", Duration::from_secs(20), || async {
        if second.leading().await {
            Ok(())
        } else {
            Err("standby".to_owned())
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", second.log_tail()));
    apply_pipeline(
        &bed,
        &scene.namespace,
        "two",
        &spec(&bed.kafka_bootstrap_servers, &unique_name("cop-two"), 1),
    )
    .unwrap();
    wait_for_condition(
        &scene,
        "two",
        "TopicReady",
        "True",
        None,
        &second.log_tail(),
    )
    .await;
    second.stop().await.unwrap();
    scene.finish().await.unwrap();
}

#[tokio::test]
async fn an_operator_killed_mid_reconcile_converges_after_restart() {
    let bed = TestBed::load().unwrap();
    install(&bed).unwrap();
    let scene = scene("restart").await.unwrap();
    let kubeconfig = operator_kubeconfig(&bed).await.unwrap();
    let lease = unique_name("lease");
    let mut first = OperatorProcess::start(&bed, binary(), &kubeconfig, &scene.namespace, &lease)
        .await
        .unwrap();
    let topic = unique_name("cop-restart");
    apply_pipeline(
        &bed,
        &scene.namespace,
        "again",
        &spec(&bed.kafka_bootstrap_servers, &topic, 4),
    )
    .unwrap();
    // Killed without a chance to release its lease or finish the reconcile.
    first.kill().await.unwrap();
    let second = OperatorProcess::start(&bed, binary(), &kubeconfig, &scene.namespace, &lease)
        .await
        .unwrap();
    let ready =
        wait_for_condition(&scene, "again", "Ready", "True", None, &second.log_tail()).await;
    assert_eq!(ready["reason"], "AllReady");
    assert_eq!(e2e::kafka::partition_count(&bed, &topic).await.unwrap(), 4);
    second.stop().await.unwrap();
    scene.finish().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_kafka_is_explained_and_recovered_from() {
    let bed = TestBed::load().unwrap();
    install(&bed).unwrap();
    let mut broker = KafkaInstance::start(&bed, &unique_name("operator-outage"))
        .await
        .unwrap();
    let scene = scene("outage").await.unwrap();
    let operator = start_operator(&bed, &scene).await.unwrap();
    let topic = unique_name("cop-outage");
    apply_pipeline(
        &bed,
        &scene.namespace,
        "flaky",
        &spec(&broker.bootstrap_servers(), &topic, 1),
    )
    .unwrap();
    wait_for_condition(
        &scene,
        "flaky",
        "TopicReady",
        "True",
        None,
        &operator.log_tail(),
    )
    .await;

    broker.pause().await;
    apply_pipeline(
        &bed,
        &scene.namespace,
        "flaky",
        &spec(&broker.bootstrap_servers(), &topic, 2),
    )
    .unwrap();
    let down = wait_for_condition(
        &scene,
        "flaky",
        "TopicReady",
        "False",
        Some("KafkaUnreachable"),
        &operator.log_tail(),
    )
    .await;
    assert!(
        down["message"]
            .as_str()
            .unwrap()
            .contains(&broker.bootstrap_servers()),
        "{down}"
    );

    broker.resume().await.unwrap();
    wait_for_condition(
        &scene,
        "flaky",
        "TopicReady",
        "True",
        None,
        &operator.log_tail(),
    )
    .await;

    // Deleting with policy Delete while Kafka is away: the pipeline stays and says why.
    let delete_policy = format!(
        "{}  topicDeletionPolicy: Delete\n",
        spec(&broker.bootstrap_servers(), &topic, 2)
    );
    apply_pipeline(&bed, &scene.namespace, "flaky", &delete_policy).unwrap();
    broker.pause().await;
    let deleting = kubectl(
        &bed,
        &[
            "delete",
            "coffeeorderpipeline",
            "flaky",
            "-n",
            &scene.namespace,
            "--wait=false",
        ],
        None,
    )
    .unwrap();
    assert!(deleting.status.success(), "{deleting:?}");
    let stuck = wait_for_condition(
        &scene,
        "flaky",
        "Ready",
        "False",
        Some("TopicDeletionFailed"),
        &operator.log_tail(),
    )
    .await;
    assert!(
        stuck["message"].as_str().unwrap().contains("unreachable"),
        "{stuck}"
    );
    broker.resume().await.unwrap();
    // Retries back off exponentially while Kafka is away, so allow for a long last wait.
    eventually(
        "the pipeline to be gone",
        Duration::from_secs(120),
        || async {
            match pipeline(&scene, "flaky").await {
                Err(error) if error.to_string().contains("not found") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail()));
    operator.stop().await.unwrap();
    scene.finish().await.unwrap();
}
