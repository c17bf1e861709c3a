//! The workload builders: names, restricted pod security, probes, env wiring.

use serde_json::Value;

use super::secret_versions::SecretVersions;
use super::workloads::{WorkloadDefaults, build};
use crate::crd::{CoffeeOrderPipeline, PodOptions};

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

fn defaults() -> WorkloadDefaults {
    WorkloadDefaults {
        producer_image: "registry.example/coffee-producer:2.0.0".into(),
        consumer_image: "registry.example/coffee-consumer:2.0.0".into(),
        pod: PodOptions::default(),
    }
}

fn pod_spec(deployment: &k8s_openapi::api::apps::v1::Deployment) -> Value {
    serde_json::to_value(deployment).unwrap()["spec"]["template"]["spec"].clone()
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
    let workloads = build(&minimal(), &defaults(), &SecretVersions::default(), Some(1)).unwrap();
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
    let workloads = build(&minimal(), &defaults(), &SecretVersions::default(), Some(1)).unwrap();
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
    let container = container(
        &build(&minimal(), &defaults(), &SecretVersions::default(), Some(1))
            .unwrap()
            .consumer,
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
}

#[test]
fn the_consumer_is_wired_to_its_topics_and_group() {
    let container = container(
        &build(&minimal(), &defaults(), &SecretVersions::default(), Some(2))
            .unwrap()
            .consumer,
    );
    for (var, value) in [
        ("KAFKA_BROKERS", "k:9092"),
        ("KAFKA_TOPIC", "shop.bar"),
        ("KAFKA_STATUS_TOPIC", "shop.bar-status"),
        ("KAFKA_DEAD_LETTER_TOPIC", "shop.bar-dead-letters"),
        ("KAFKA_CONTROL_TOPIC", "shop.bar-control"),
        ("KAFKA_GROUP_ID", "shop.bar-processor"),
        ("KAFKA_SESSION_TIMEOUT_MS", "10000"),
    ] {
        assert_eq!(env_value(&container, var)["value"], value, "{var}");
    }
}

#[test]
fn the_pod_template_carries_the_fixed_worker_range_not_a_decision() {
    let wide = pipeline(
        "apiVersion: coffee-pipeline.io/v1alpha1\nkind: CoffeeOrderPipeline\nmetadata: {name: bar}\nspec:\n  kafka: {bootstrapServers: 'k:9092', partitions: 6}\n  consumer:\n    workers: {min: 4, max: 64}\n",
    );
    let small = build(&wide, &defaults(), &SecretVersions::default(), Some(1))
        .unwrap()
        .consumer;
    let large = build(&wide, &defaults(), &SecretVersions::default(), Some(6))
        .unwrap()
        .consumer;
    let container = container(&small);
    assert_eq!(env_value(&container, "WORKERS")["value"], "4");
    assert_eq!(env_value(&container, "MAX_WORKERS")["value"], "64");
    assert_eq!(
        small.spec.unwrap().template,
        large.spec.unwrap().template,
        "a change of size must not change the pod template (it would restart every pod)"
    );
}

#[test]
fn consumer_replicas_are_the_ones_asked_for() {
    let workloads = build(&minimal(), &defaults(), &SecretVersions::default(), Some(3)).unwrap();
    assert_eq!(workloads.consumer.spec.unwrap().replicas, Some(3));
    assert_eq!(workloads.producer.spec.unwrap().replicas, Some(2));
}

#[test]
fn consumer_replicas_left_to_another_owner_are_not_applied() {
    let workloads = build(&minimal(), &defaults(), &SecretVersions::default(), None).unwrap();
    let json = serde_json::to_value(&workloads.consumer).unwrap();
    assert!(json["spec"].get("replicas").is_none(), "{json}");
}

#[test]
fn sasl_credentials_come_from_the_secret_never_inline() {
    let with_sasl = pipeline(
        "apiVersion: coffee-pipeline.io/v1alpha1\nkind: CoffeeOrderPipeline\nmetadata: {name: bar}\nspec:\n  kafka:\n    bootstrapServers: 'k:9092'\n    partitions: 6\n    sasl: {mechanism: SCRAM-SHA-512, secretName: kafka-user}\n",
    );
    let container = container(
        &build(&with_sasl, &defaults(), &SecretVersions::default(), Some(1))
            .unwrap()
            .producer,
    );
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
    let container = container(
        &build(&minimal(), &defaults(), &SecretVersions::default(), Some(1))
            .unwrap()
            .producer,
    );
    assert_eq!(container["resources"]["requests"]["cpu"], "100m");
    assert_eq!(container["resources"]["limits"]["memory"], "128Mi");
}

#[test]
fn workload_accounts_get_no_token() {
    let workloads = build(&minimal(), &defaults(), &SecretVersions::default(), Some(1)).unwrap();
    assert_eq!(
        workloads.consumer_account.automount_service_account_token,
        Some(false)
    );
}

#[test]
fn the_listing_token_reaches_the_producer_from_its_secret_only() {
    let mut pipeline = minimal();
    pipeline.spec.producer.orders_list_token_secret = Some(crate::crd::SecretKeyRef {
        name: "support".into(),
        key: "token".into(),
    });
    let workloads = build(&pipeline, &defaults(), &SecretVersions::default(), Some(1)).unwrap();
    let producer = container(&workloads.producer);
    let token = producer["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "ORDERS_LIST_TOKEN")
        .expect("ORDERS_LIST_TOKEN");
    assert_eq!(token["valueFrom"]["secretKeyRef"]["name"], "support");
    assert!(token.get("value").is_none(), "{token}");
    let consumer = container(&workloads.consumer);
    assert!(!consumer["env"].to_string().contains("ORDERS_LIST_TOKEN"));
}

#[test]
fn pipelines_without_an_image_get_the_operators_default() {
    let workloads = build(&minimal(), &defaults(), &SecretVersions::default(), Some(1)).unwrap();
    assert_eq!(
        container(&workloads.producer)["image"],
        "registry.example/coffee-producer:2.0.0"
    );
    assert_eq!(
        container(&workloads.consumer)["image"],
        "registry.example/coffee-consumer:2.0.0"
    );
}

#[test]
fn an_image_named_by_the_pipeline_wins_over_the_default() {
    let mut pipeline = minimal();
    pipeline.spec.consumer.image = Some("mine/coffee-consumer:1.2.3".into());
    let workloads = build(&pipeline, &defaults(), &SecretVersions::default(), Some(1)).unwrap();
    assert_eq!(
        container(&workloads.consumer)["image"],
        "mine/coffee-consumer:1.2.3"
    );
}

#[test]
fn pod_options_reach_the_template_over_the_operators_defaults() {
    let mut defaults = defaults();
    defaults.pod = serde_json::from_value(serde_json::json!({
        "labels": {"team": "platform"},
        "nodeSelector": {"pool": "shared"},
        "imagePullSecrets": [{"name": "registry"}],
        "priorityClassName": "low",
    }))
    .unwrap();
    let mut pipeline = minimal();
    pipeline.spec.consumer.pod = serde_json::from_value(serde_json::json!({
        "annotations": {"cost-centre": "espresso"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}],
        "priorityClassName": "high",
    }))
    .unwrap();
    let consumer = build(&pipeline, &defaults, &SecretVersions::default(), Some(1))
        .unwrap()
        .consumer;
    let json = serde_json::to_value(&consumer).unwrap();
    let template = &json["spec"]["template"];
    assert_eq!(template["metadata"]["labels"]["team"], "platform");
    assert_eq!(
        template["metadata"]["annotations"]["cost-centre"],
        "espresso"
    );
    let spec = &template["spec"];
    assert_eq!(spec["nodeSelector"]["pool"], "shared");
    assert_eq!(spec["tolerations"][0]["key"], "dedicated");
    assert_eq!(spec["topologySpreadConstraints"][0]["topologyKey"], "zone");
    assert_eq!(spec["priorityClassName"], "high");
    assert_eq!(spec["imagePullSecrets"][0]["name"], "registry");
    let producer = pod_spec(
        &build(&pipeline, &defaults, &SecretVersions::default(), Some(1))
            .unwrap()
            .producer,
    );
    assert_eq!(
        producer["priorityClassName"], "low",
        "the producer keeps the default"
    );
    assert!(producer.get("tolerations").is_none(), "{producer}");
}

#[test]
fn the_operators_selector_labels_win_over_pod_labels() {
    let mut pipeline = minimal();
    pipeline
        .spec
        .producer
        .pod
        .labels
        .insert("app.kubernetes.io/instance".into(), "other".into());
    let producer = build(&pipeline, &defaults(), &SecretVersions::default(), Some(1))
        .unwrap()
        .producer;
    let json = serde_json::to_value(&producer).unwrap();
    assert_eq!(
        json["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/instance"],
        "bar"
    );
}

#[test]
fn no_pod_options_leave_no_empty_fields() {
    let spec = pod_spec(
        &build(&minimal(), &defaults(), &SecretVersions::default(), Some(1))
            .unwrap()
            .consumer,
    );
    for field in [
        "nodeSelector",
        "tolerations",
        "affinity",
        "topologySpreadConstraints",
        "priorityClassName",
        "imagePullSecrets",
    ] {
        assert!(spec.get(field).is_none(), "{field} in {spec}");
    }
}
