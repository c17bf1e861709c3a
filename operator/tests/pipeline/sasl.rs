//! A Kafka cluster that requires SASL: the operator reads the pipeline's Secret for its own
//! admin client, and the workloads get the credentials from the same Secret.

use std::time::Duration;

use e2e::fixtures::unique_name;
use e2e::kafka_instance::KafkaInstance;
use e2e::testbed::TestBed;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;

use crate::support::{scene, start_operator};
use e2e::operator::{apply_pipeline, install, kubectl};

#[tokio::test]
async fn a_pipeline_on_a_sasl_cluster_authenticates_with_its_secret() {
    let bed = TestBed::load().unwrap();
    install(&bed).unwrap();
    let broker = KafkaInstance::start_sasl_plain(
        &bed,
        &unique_name("sasl"),
        &[("admin", "admin-secret"), ("coffee", "coffee-secret")],
    )
    .await
    .unwrap();
    let scene = scene("sasl").await.unwrap();
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: kafka-user\n  namespace: {}\nstringData:\n  username: coffee\n  password: coffee-secret\n",
        scene.namespace
    );
    let created = kubectl(&bed, &["apply", "-f", "-"], Some(&secret)).unwrap();
    assert!(created.status.success(), "{created:?}");
    let operator = start_operator(&bed, &scene).await.unwrap();
    let topic = unique_name("cop-sasl");
    let spec = format!(
        "  kafka:\n    bootstrapServers: \"{}\"\n    topic: {topic}\n    partitions: 2\n    sasl: {{mechanism: PLAIN, secretName: kafka-user}}\n    allowInsecureSasl: true\n  producer:\n    replicas: 1\n",
        broker.bootstrap_servers()
    );
    apply_pipeline(&bed, &scene.namespace, "secured", &spec).unwrap();
    e2e::operator::wait_ready(&scene, &operator, "secured").await;

    let admin: AdminClient<DefaultClientContext> = broker.client_config().create().unwrap();
    let metadata = admin
        .inner()
        .fetch_metadata(Some(&topic), Duration::from_secs(10))
        .unwrap();
    assert_eq!(metadata.topics()[0].partitions().len(), 2);

    // The password never reaches a log (the operator's, the pods'), the status or an Event.
    let mut told = vec![std::fs::read_to_string(operator.log_path()).unwrap()];
    let pod_logs = std::path::PathBuf::from(&bed.log_dir)
        .join("pods")
        .join(&scene.namespace);
    for entry in std::fs::read_dir(&pod_logs).unwrap().flatten() {
        if entry.path().extension().is_some_and(|x| x == "log") {
            told.push(std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    assert!(
        told.len() >= 3,
        "the operator's and the pods' logs: {}",
        told.len()
    );
    for what in [&["get", "cop", "secured"][..], &["get", "events"][..]] {
        let args = [what, &["-n", &scene.namespace, "-o", "yaml"]].concat();
        let output = kubectl(&bed, &args, None).unwrap();
        told.push(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    for text in &told {
        assert!(
            !text.contains("coffee-secret"),
            "the password leaked:\n{text}"
        );
    }
    operator.stop().await.unwrap();
    scene.finish().await.unwrap();
}
