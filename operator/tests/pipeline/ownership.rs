//! Many teams, one Kafka cluster: a pipeline owns the topics it created (or adopted on
//! purpose), and never uses, changes or deletes another's — pipelines of one name in two
//! namespaces get topics of their own, a pipeline naming another's topic gets `TopicConflict`
//! and runs nothing, and its deletion leaves the topic.

use std::time::Duration;

use e2e::fixtures::{RuntimeScene, unique_name};
use e2e::operator::{
    OperatorProcess, apply_pipeline, condition, delete_pipeline, kubectl, pipeline, wait_ready,
};
use e2e::poll::eventually;
use e2e::testbed::TestBed;

use crate::support::{scene, start_operator};

const WAIT: Duration = Duration::from_secs(90);

fn spec(bed: &TestBed, topic: Option<&str>, extra: &str) -> String {
    let topic = topic.map_or(String::new(), |t| format!("\n    topic: {t}"));
    format!(
        "  kafka:\n    bootstrapServers: \"{}\"{topic}\n    partitions: 1{extra}\n  producer:\n    replicas: 1\n  autoscaling:\n    mode: Observe\n    pollIntervalSeconds: 1\n    targetDrainSeconds: 10\n  topicDeletionPolicy: Delete\n",
        bed.kafka_bootstrap_servers
    )
}

async fn exists(bed: &TestBed, topic: &str) -> bool {
    e2e::kafka::partition_count(bed, topic).await.unwrap_or(0) > 0
}

async fn recorded_topic(scene: &RuntimeScene, name: &str) -> String {
    let object = pipeline(scene, name).await.expect("the pipeline");
    object["status"]["topic"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn wait_for_conflict(scene: &RuntimeScene, operator: &OperatorProcess, name: &str) -> String {
    let found = eventually("Ready=False TopicConflict", WAIT, || async {
        let object = pipeline(scene, name).await.map_err(|e| e.to_string())?;
        let ready = condition(&object, "Ready");
        match ready["reason"] == "TopicConflict" && ready["status"] == "False" {
            true => Ok(ready["message"].as_str().unwrap_or_default().to_owned()),
            false => Err(ready.to_string()),
        }
    });
    found
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail()))
}

fn events(bed: &TestBed, scene: &RuntimeScene) -> String {
    let args = ["get", "events", "-n", &scene.namespace, "-o", "yaml"];
    let output = kubectl(bed, &args, None).expect("kubectl runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn pipelines_of_one_name_in_two_namespaces_never_share_a_topic_and_one_deletion_spares_the_other()
 {
    let bed = TestBed::load().expect("the test bed");
    e2e::operator::install(&bed).expect("the CRD and RBAC");
    let (a, b) = (
        scene("own-a").await.expect("a"),
        scene("own-b").await.expect("b"),
    );
    let operator_a = start_operator(&bed, &a).await.expect("an operator for a");
    let operator_b = start_operator(&bed, &b).await.expect("an operator for b");
    for scene in [&a, &b] {
        apply_pipeline(
            &bed,
            &scene.namespace,
            "espresso-bar",
            &spec(&bed, None, ""),
        )
        .expect("the pipeline");
    }
    wait_ready(&a, &operator_a, "espresso-bar").await;
    wait_ready(&b, &operator_b, "espresso-bar").await;
    let (topic_a, topic_b) = (
        recorded_topic(&a, "espresso-bar").await,
        recorded_topic(&b, "espresso-bar").await,
    );
    assert_eq!(topic_a, format!("{}.espresso-bar", a.namespace));
    assert_eq!(topic_b, format!("{}.espresso-bar", b.namespace));

    delete_pipeline(&bed, &a, "espresso-bar").expect("the pipeline deleted");
    let gone = eventually("a's topic deleted", WAIT, || async {
        match exists(&bed, &topic_a).await {
            false => Ok(()),
            true => Err(format!("{topic_a} still exists")),
        }
    });
    gone.await
        .unwrap_or_else(|e| panic!("{e}\n{}", operator_a.log_tail()));
    assert!(
        exists(&bed, &topic_b).await,
        "b's topic went with a's pipeline"
    );
    wait_ready(&b, &operator_b, "espresso-bar").await;
    for (operator, scene) in [(operator_a, a), (operator_b, b)] {
        operator.stop().await.expect("the operator stops");
        scene.finish().await.expect("cleaning up");
    }
}

#[tokio::test]
async fn a_pipeline_naming_another_pipelines_topic_conflicts_runs_nothing_and_deletes_nothing() {
    let bed = TestBed::load().expect("the test bed");
    e2e::operator::install(&bed).expect("the CRD and RBAC");
    let scene = scene("own-conflict").await.expect("a scene");
    let operator = start_operator(&bed, &scene).await.expect("the operator");
    let topic = unique_name("shared-orders");
    let ns = scene.namespace.clone();
    apply_pipeline(&bed, &ns, "first", &spec(&bed, Some(&topic), "")).expect("first");
    wait_ready(&scene, &operator, "first").await;
    apply_pipeline(&bed, &ns, "second", &spec(&bed, Some(&topic), "")).expect("second");

    let message = wait_for_conflict(&scene, &operator, "second").await;
    assert!(message.contains(&format!("{ns}/first")), "{message}");
    let consumers = scene
        .deployments
        .get_opt("second-consumer")
        .await
        .expect("a lookup");
    assert!(
        consumers.is_none(),
        "a conflicting pipeline runs no consumer"
    );
    // Nor does the autoscaler touch it: it would read the first's group (the same name) and
    // set the first's worker count. It writes nothing to the second's status either.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let second = pipeline(&scene, "second")
        .await
        .expect("the second pipeline");
    assert!(
        second["status"]["autoscaling"].is_null() && condition(&second, "Scaling").is_null(),
        "the autoscaler acted on a conflicting pipeline: {}",
        second["status"]
    );

    delete_pipeline(&bed, &scene, "second").expect("the pipeline deleted");
    assert!(events(&bed, &scene).contains("TopicsKept"));
    assert!(
        exists(&bed, &topic).await,
        "the second pipeline's deletion took the first's topic"
    );
    wait_ready(&scene, &operator, "first").await;
    operator.stop().await.expect("the operator stops");
    scene.finish().await.expect("cleaning up");
}

#[tokio::test]
async fn a_topic_nobody_owns_is_taken_only_when_adoption_is_asked_for() {
    let bed = TestBed::load().expect("the test bed");
    e2e::operator::install(&bed).expect("the CRD and RBAC");
    let scene = scene("own-adopt").await.expect("a scene");
    let operator = start_operator(&bed, &scene).await.expect("the operator");
    let topic = unique_name("made-by-hand");
    let admin = e2e::kafka::admin(&bed).await.expect("an admin client");
    e2e::kafka::create_topic(&admin, &topic, 1, &[])
        .await
        .expect("a topic made by hand");
    let ns = scene.namespace.clone();
    apply_pipeline(&bed, &ns, "taker", &spec(&bed, Some(&topic), "")).expect("the pipeline");
    let message = wait_for_conflict(&scene, &operator, "taker").await;
    assert!(message.contains("adoptExistingTopic"), "{message}");

    let adopting = spec(&bed, Some(&topic), "\n    adoptExistingTopic: true");
    apply_pipeline(&bed, &ns, "taker", &adopting).expect("the pipeline, adopting");
    wait_ready(&scene, &operator, "taker").await;
    assert!(events(&bed, &scene).contains("TopicAdopted"));
    operator.stop().await.expect("the operator stops");
    scene.finish().await.expect("cleaning up");
}
