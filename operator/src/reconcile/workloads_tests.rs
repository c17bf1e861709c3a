//! The workload builders: names, restricted pod security, probes, env wiring.

use serde_json::Value;

use super::workloads::build;
use crate::crd::CoffeeOrderPipeline;

fn pipeline(yaml: &str) -> CoffeeOrderPipeline {
    let mut pipeline: CoffeeOrderPipeline = serde_yaml::from_str(yaml).unwrap();
    pipeline.metadata.namespace = Some("shop".into());
    pipeline
}

fn minimal() -> CoffeeOrderPipeline {
    pipeline(
        "apiVersion: coffee-pipeline.io/v1alpha1\nkind: CoffeeOrderPipeline\nmetadata: {name: bar}\nspec:\n  kafka: {bootstrapServers: 'k:9092', partitions: 6}\n",
    )
}

fn container(deployment: &k8s_openapi::api::apps::v1::Deployment) -> Value {
    let json = serde_json::to_value(deployment).unwrap();
    json["spec"]["template"]["spec"]["containers"][0].clone()
}

fn env_value(container: &Value, name: &str) -> Value {
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn names_derive_from_the_pipeline() {
    let workloads = build(&minimal(), 1, 10).unwrap();
    assert_eq!(
        workloads.producer.metadata.name.as_deref(),
        Some("bar-producer")
    );
    assert_eq!(
        workloads.consumer.metadata.name.as_deref(),
        Some("bar-consumer")
    );
    assert_eq!(
        workloads.producer_service.metadata.name.as_deref(),
        Some("bar-producer")
    );
}

#[test]
fn pods_pass_pod_security_restricted() {
    let workloads = build(&minimal(), 1, 10).unwrap();
    for deployment in [&workloads.producer, &workloads.consumer] {
        let json = serde_json::to_value(deployment).unwrap();
        let pod = &json["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let security = &pod["containers"][0]["securityContext"];
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["capabilities"]["drop"][0], "ALL");
    }
}

#[test]
fn probes_use_healthz_and_readyz() {
    let container = container(&build(&minimal(), 1, 10).unwrap().consumer);
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
}

#[test]
fn the_consumer_is_wired_to_its_topics_group_and_workers() {
    let container = container(&build(&minimal(), 2, 7).unwrap().consumer);
    assert_eq!(env_value(&container, "KAFKA_BROKERS")["value"], "k:9092");
    assert_eq!(env_value(&container, "KAFKA_TOPIC")["value"], "bar");
    assert_eq!(
        env_value(&container, "KAFKA_STATUS_TOPIC")["value"],
        "bar-status"
    );
    assert_eq!(
        env_value(&container, "KAFKA_DEAD_LETTER_TOPIC")["value"],
        "bar-dead-letters"
    );
    assert_eq!(
        env_value(&container, "KAFKA_GROUP_ID")["value"],
        "bar-processor"
    );
    assert_eq!(env_value(&container, "WORKERS")["value"], "7");
}

#[test]
fn consumer_replicas_are_the_ones_asked_for() {
    let workloads = build(&minimal(), 3, 10).unwrap();
    assert_eq!(workloads.consumer.spec.unwrap().replicas, Some(3));
    assert_eq!(workloads.producer.spec.unwrap().replicas, Some(2));
}

#[test]
fn sasl_credentials_come_from_the_secret_never_inline() {
    let with_sasl = pipeline(
        "apiVersion: coffee-pipeline.io/v1alpha1\nkind: CoffeeOrderPipeline\nmetadata: {name: bar}\nspec:\n  kafka:\n    bootstrapServers: 'k:9092'\n    partitions: 6\n    sasl: {mechanism: SCRAM-SHA-512, secretName: kafka-user}\n",
    );
    let container = container(&build(&with_sasl, 1, 10).unwrap().producer);
    assert_eq!(
        env_value(&container, "KAFKA_SECURITY_PROTOCOL")["value"],
        "sasl_plaintext"
    );
    assert_eq!(
        env_value(&container, "KAFKA_SASL_MECHANISM")["value"],
        "SCRAM-SHA-512"
    );
    let password = env_value(&container, "KAFKA_SASL_PASSWORD");
    assert_eq!(password["valueFrom"]["secretKeyRef"]["name"], "kafka-user");
    assert_eq!(password["valueFrom"]["secretKeyRef"]["key"], "password");
    assert!(password.get("value").is_none());
}

#[test]
fn unset_resources_get_requests_and_limits() {
    let container = container(&build(&minimal(), 1, 10).unwrap().producer);
    assert_eq!(container["resources"]["requests"]["cpu"], "100m");
    assert_eq!(container["resources"]["limits"]["memory"], "128Mi");
}

#[test]
fn workload_accounts_get_no_token() {
    let workloads = build(&minimal(), 1, 10).unwrap();
    assert_eq!(
        workloads.consumer_account.automount_service_account_token,
        Some(false)
    );
}
