//! A pipeline's life: created (topics, objects, processes, Ready), partitions raised, a
//! decrease refused, deleted with either topic deletion policy.

use std::time::Duration;

use e2e::fixtures::unique_name;
use e2e::kafka::partition_count;
use e2e::poll::eventually;
use e2e::testbed::TestBed;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;

use crate::support::{scene, start_operator};
use e2e::operator::{apply_pipeline, condition, install, kubectl, pipeline};

fn spec(brokers: &str, topic: &str, partitions: i32, policy: &str) -> String {
    format!(
        "  kafka:\n    bootstrapServers: \"{brokers}\"\n    topic: {topic}\n    partitions: {partitions}\n    topicConfig: {{retention.ms: \"3600000\"}}\n  producer:\n    replicas: 1\n  consumer:\n    replicas: {{min: 1, max: 1}}\n    workers: {{min: 4, max: 4}}\n  topicDeletionPolicy: {policy}\n"
    )
}

/// A config set on `topic` itself.
async fn topic_config(bed: &TestBed, topic: &str, key: &str) -> Option<String> {
    e2e::kafka::topic_configs(bed, topic)
        .await
        .ok()?
        .remove(key)
}

#[tokio::test]
async fn a_pipeline_is_created_grown_refused_a_decrease_and_deleted_with_its_topics() {
    let bed = TestBed::load().unwrap();
    install(&bed).unwrap();
    let scene = scene("pipeline").await.unwrap();
    let operator = start_operator(&bed, &scene).await.unwrap();
    let topic = unique_name("cop-orders");
    apply_pipeline(
        &bed,
        &scene.namespace,
        "shop",
        &spec(&bed.kafka_bootstrap_servers, &topic, 3, "Delete"),
    )
    .unwrap();

    // Ready only once the processes the runtime started are ready.
    let ready = e2e::operator::wait_ready(&scene, &operator, "shop").await;
    assert_eq!(ready["status"]["partitions"], 3);
    // The column is the autoscaler's (Disabled here: the minimum), written after the reconciler's
    // readiness.
    eventually("consumers 1x4", Duration::from_secs(10), || async {
        let object = pipeline(&scene, "shop").await.map_err(|e| e.to_string())?;
        if object["status"]["consumers"] == "1x4" {
            Ok(())
        } else {
            Err(object["status"]["consumers"].to_string())
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail()));
    let table = kubectl(&bed, &["get", "cop", "shop", "-n", &scene.namespace], None).unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "TOPIC",
            "PARTITIONS",
            "CONSUMERS",
            "LAG",
            "SCALING",
            "READY",
            "AGE"
        ]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..4], ["shop", topic.as_str(), "3", "1x4"], "{table}");
    // Autoscaling is Disabled: no lag is read (a blank column), and the Scaling column says so.
    assert_eq!(&row[4..6], ["Disabled", "True"], "{table}");
    let pods = scene.runtime.pods();
    assert!(
        pods.iter()
            .any(|p| p.name.starts_with("shop-producer") && p.ready),
        "{pods:?}"
    );
    assert!(
        pods.iter()
            .any(|p| p.name.starts_with("shop-consumer") && p.ready),
        "{pods:?}"
    );

    // Topics, checked through Kafka's admin API rather than the operator's status.
    assert_eq!(partition_count(&bed, &topic).await.unwrap(), 3);
    assert_eq!(
        topic_config(&bed, &topic, "retention.ms").await.as_deref(),
        Some("3600000")
    );
    assert_eq!(
        partition_count(&bed, &format!("{topic}-status"))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        partition_count(&bed, &format!("{topic}-dead-letters"))
            .await
            .unwrap(),
        1
    );
    for compacted in ["status", "control"] {
        assert_eq!(
            topic_config(&bed, &format!("{topic}-{compacted}"), "cleanup.policy")
                .await
                .as_deref(),
            Some("compact"),
            "{compacted}"
        );
    }
    assert_eq!(
        partition_count(&bed, &format!("{topic}-control"))
            .await
            .unwrap(),
        1
    );

    // Owned objects with the expected spec.
    let client = scene.client.clone();
    let ns = scene.namespace.as_str();
    let consumer = Api::<Deployment>::namespaced(client.clone(), ns)
        .get("shop-consumer")
        .await
        .unwrap();
    assert_eq!(
        consumer.metadata.owner_references.unwrap()[0].kind,
        "CoffeeOrderPipeline"
    );
    Api::<Service>::namespaced(client.clone(), ns)
        .get("shop-producer")
        .await
        .unwrap();
    Api::<PodDisruptionBudget>::namespaced(client.clone(), ns)
        .get("shop-consumer")
        .await
        .unwrap();
    let account = Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .get("shop-consumer")
        .await
        .unwrap();
    assert_eq!(account.automount_service_account_token, Some(false));
    // The workloads' accounts may do nothing with the Kubernetes API.
    let can = kubectl(
        &bed,
        &[
            "auth",
            "can-i",
            "get",
            "pods",
            "-n",
            ns,
            "--as",
            &format!("system:serviceaccount:{ns}:shop-consumer"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&can.stdout).trim(), "no");

    // Configuration drift made behind the operator's back is corrected at the next check (here
    // the one the partition change below causes); a key the spec does not name, set by an
    // administrator, is left as it is.
    e2e::kafka::change_topic_configs(
        &bed,
        &topic,
        &[
            ("retention.ms", Some("7200000")),
            ("max.message.bytes", Some("2000000")),
        ],
    )
    .await
    .unwrap();

    // More partitions: the topic grows.
    apply_pipeline(
        &bed,
        ns,
        "shop",
        &spec(&bed.kafka_bootstrap_servers, &topic, 5, "Delete"),
    )
    .unwrap();
    eventually(
        "the order topic to have 5 partitions",
        Duration::from_secs(30),
        || async {
            match partition_count(&bed, &topic).await {
                Ok(5) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
    .unwrap();
    eventually(
        "the drifted retention to be corrected",
        Duration::from_secs(30),
        || async {
            match topic_config(&bed, &topic, "retention.ms").await.as_deref() {
                Some("3600000") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(
        topic_config(&bed, &topic, "max.message.bytes")
            .await
            .as_deref(),
        Some("2000000"),
        "the administrator's setting survives the correction"
    );

    // Fewer partitions: refused and reported, the topic keeps 5.
    apply_pipeline(
        &bed,
        ns,
        "shop",
        &spec(&bed.kafka_bootstrap_servers, &topic, 2, "Delete"),
    )
    .unwrap();
    let refused = eventually("TopicReady=False", Duration::from_secs(30), || async {
        let object = pipeline(&scene, "shop").await.map_err(|e| e.to_string())?;
        let topic_ready = condition(&object, "TopicReady");
        if topic_ready["reason"] == "PartitionDecreaseNotSupported" {
            Ok(topic_ready)
        } else {
            Err(topic_ready.to_string())
        }
    })
    .await
    .unwrap();
    assert_eq!(refused["status"], "False");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("Set kafka.partitions to 5 or more")
    );
    assert_eq!(partition_count(&bed, &topic).await.unwrap(), 5);
    let events = kubectl(
        &bed,
        &[
            "get",
            "events",
            "-n",
            ns,
            "-o",
            "jsonpath={.items[*].reason}",
        ],
        None,
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&events.stdout).contains("PartitionDecreaseNotSupported"));

    // Deleted with policy Delete: the topics go, then the object.
    let deleted = kubectl(
        &bed,
        &[
            "delete",
            "coffeeorderpipeline",
            "shop",
            "-n",
            ns,
            "--timeout=60s",
        ],
        None,
    )
    .unwrap();
    assert!(
        deleted.status.success(),
        "{deleted:?}\n{}",
        operator.log_tail()
    );
    eventually(
        "all four topics to be deleted",
        Duration::from_secs(30),
        || async {
            let mut left = Vec::new();
            for name in [
                topic.clone(),
                format!("{topic}-status"),
                format!("{topic}-dead-letters"),
                format!("{topic}-control"),
            ] {
                if !matches!(partition_count(&bed, &name).await, Ok(0)) {
                    left.push(name);
                }
            }
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        },
    )
    .await
    .unwrap();
    operator.stop().await.unwrap();
    scene.finish().await.unwrap();
}

#[tokio::test]
async fn a_pipeline_deleted_with_retain_keeps_its_topics() {
    let bed = TestBed::load().unwrap();
    install(&bed).unwrap();
    let scene = scene("retain").await.unwrap();
    let operator = start_operator(&bed, &scene).await.unwrap();
    let topic = unique_name("cop-kept");
    apply_pipeline(
        &bed,
        &scene.namespace,
        "kept",
        &spec(&bed.kafka_bootstrap_servers, &topic, 2, "Retain"),
    )
    .unwrap();
    eventually("the topic to exist", Duration::from_secs(60), || async {
        match partition_count(&bed, &topic).await {
            Ok(2) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail()));
    let deleted = kubectl(
        &bed,
        &[
            "delete",
            "coffeeorderpipeline",
            "kept",
            "-n",
            &scene.namespace,
            "--timeout=60s",
        ],
        None,
    )
    .unwrap();
    assert!(deleted.status.success(), "{deleted:?}");
    assert_eq!(partition_count(&bed, &topic).await.unwrap(), 2);
    operator.stop().await.unwrap();
    scene.finish().await.unwrap();
}
