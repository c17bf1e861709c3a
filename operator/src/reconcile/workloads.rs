//! The Kubernetes objects of a pipeline's workloads, built from the spec alone (no I/O): pod
//! templates that pass Pod Security `restricted`, probes, resources, and the env that wires
//! the binaries to Kafka.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde_json::{Value, json};

use super::names::{Workload, labels, selector_labels, topics_of, workload_name};
use super::secret_versions::{self, SecretVersions};
use crate::crd::{CoffeeOrderPipeline, PodOptions};

/// The port both binaries serve HTTP, probes and metrics on.
pub const HTTP_PORT: i32 = 8080;

/// What the operator gives a pipeline's pods where the pipeline says nothing (its flags, set
/// by the chart's `pipelineDefaults`).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadDefaults {
    pub producer_image: String,
    pub consumer_image: String,
    pub pod: PodOptions,
}

/// Everything the workloads of `pipeline` consist of.
#[derive(Debug, Clone)]
pub struct Workloads {
    pub producer: Deployment,
    pub consumer: Deployment,
    pub producer_service: Service,
    pub producer_budget: PodDisruptionBudget,
    pub consumer_budget: PodDisruptionBudget,
    pub producer_account: ServiceAccount,
    pub consumer_account: ServiceAccount,
}

/// Builds the workloads with `consumer_replicas` consumer pods; `None` leaves the consumer
/// Deployment's replicas to another owner (autoscaling `Observe`). The pod template carries
/// the fixed worker range: the count changes live through the control topic, so a decision
/// never restarts a pod. It also carries the versions of the Secrets the pod reads, so that
/// a rotation rolls the pods.
pub fn build(
    pipeline: &CoffeeOrderPipeline,
    defaults: &WorkloadDefaults,
    secrets: &SecretVersions,
    consumer_replicas: Option<i32>,
) -> Result<Workloads, serde_json::Error> {
    let name = pipeline.metadata.name.clone().unwrap_or_default();
    let topics = topics_of(pipeline);
    let spec = &pipeline.spec;
    let mut shared_env = vec![
        env("KAFKA_BROKERS", &spec.kafka.bootstrap_servers),
        env("KAFKA_TOPIC", &topics.orders),
        env("KAFKA_STATUS_TOPIC", &topics.statuses),
        env("SERVER_PORT", &HTTP_PORT.to_string()),
        env("LOG_FORMAT", "json"),
    ];
    shared_env.extend(security_env(pipeline));

    let mut producer_env = shared_env.clone();
    producer_env.extend([
        env("KAFKA_LINGER_MS", &spec.producer.linger_ms.to_string()),
        env(
            "KAFKA_PRODUCERS",
            &spec.producer.kafka_producers.to_string(),
        ),
        env("KAFKA_COMPRESSION", spec.producer.compression.as_str()),
    ]);
    if let Some(token) = &spec.producer.orders_list_token_secret {
        producer_env.push(secret_env("ORDERS_LIST_TOKEN", &token.name, &token.key));
    }
    let mut consumer_env = shared_env;
    consumer_env.extend([
        env("KAFKA_GROUP_ID", &topics.group()),
        env("KAFKA_DEAD_LETTER_TOPIC", &topics.dead_letters),
        env("KAFKA_CONTROL_TOPIC", &topics.control),
        env("WORKERS", &spec.consumer.workers.min.to_string()),
        env("MAX_WORKERS", &spec.consumer.workers.max.to_string()),
        env(
            "KAFKA_SESSION_TIMEOUT_MS",
            &(u64::from(spec.consumer.session_timeout_seconds) * 1000).to_string(),
        ),
        env(
            "BATCH_MAX_MESSAGES",
            &spec.consumer.batch_max_messages.to_string(),
        ),
        env(
            "BATCH_MAX_WAIT_MS",
            &spec.consumer.batch_max_wait_ms.to_string(),
        ),
    ]);

    let producer_resources = resources(spec.producer.resources.as_ref(), "64Mi", "128Mi")?;
    let consumer_resources = resources(spec.consumer.resources.as_ref(), "128Mi", "256Mi")?;
    Ok(Workloads {
        producer: deployment(
            &name,
            Some(spec.producer.replicas),
            Pod {
                workload: Workload::Producer,
                image: spec
                    .producer
                    .image
                    .as_ref()
                    .unwrap_or(&defaults.producer_image),
                env: producer_env,
                resources: producer_resources,
                options: spec.producer.pod.over(&defaults.pod),
                secret_versions: secrets
                    .annotation(&secret_versions::read_by(spec, Workload::Producer)),
            },
        )?,
        consumer: deployment(
            &name,
            consumer_replicas,
            Pod {
                workload: Workload::Consumer,
                image: spec
                    .consumer
                    .image
                    .as_ref()
                    .unwrap_or(&defaults.consumer_image),
                env: consumer_env,
                resources: consumer_resources,
                options: spec.consumer.pod.over(&defaults.pod),
                secret_versions: secrets
                    .annotation(&secret_versions::read_by(spec, Workload::Consumer)),
            },
        )?,
        producer_service: serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": { "name": workload_name(&name, Workload::Producer), "labels": labels(&name, Workload::Producer) },
            "spec": {
                "selector": selector_labels(&name, Workload::Producer),
                "ports": [{ "name": "http", "port": 80, "targetPort": "http", "protocol": "TCP" }],
            },
        }))?,
        producer_budget: budget(&name, Workload::Producer)?,
        consumer_budget: budget(&name, Workload::Consumer)?,
        producer_account: account(&name, Workload::Producer)?,
        consumer_account: account(&name, Workload::Consumer)?,
    })
}

fn env(name: &str, value: &str) -> Value {
    json!({ "name": name, "value": value })
}

fn secret_env(name: &str, secret: &str, key: &str) -> Value {
    json!({ "name": name, "valueFrom": { "secretKeyRef": { "name": secret, "key": key } } })
}

/// TLS and SASL settings as env, credentials straight from their Secrets (never copied into
/// the Deployment).
fn security_env(pipeline: &CoffeeOrderPipeline) -> Vec<Value> {
    let kafka = &pipeline.spec.kafka;
    let mut vars = Vec::new();
    let protocol = super::credentials::protocol(kafka);
    vars.push(env("KAFKA_SECURITY_PROTOCOL", protocol.as_str()));
    if let Some(tls) = &kafka.tls {
        for (var, secret) in [
            ("KAFKA_SSL_CA_PEM", &tls.ca_secret),
            ("KAFKA_SSL_CERTIFICATE_PEM", &tls.cert_secret),
            ("KAFKA_SSL_KEY_PEM", &tls.key_secret),
        ] {
            if let Some(secret) = secret {
                vars.push(secret_env(var, &secret.name, &secret.key));
            }
        }
    }
    if let Some(sasl) = &kafka.sasl {
        let mechanism = serde_json::to_value(sasl.mechanism).unwrap_or(Value::Null);
        vars.push(json!({ "name": "KAFKA_SASL_MECHANISM", "value": mechanism }));
        vars.push(secret_env(
            "KAFKA_SASL_USERNAME",
            &sasl.secret_name,
            &sasl.username_key,
        ));
        vars.push(secret_env(
            "KAFKA_SASL_PASSWORD",
            &sasl.secret_name,
            &sasl.password_key,
        ));
    }
    vars
}

/// The spec's resources, or modest requests and limits so that a pod is never unbounded.
fn resources(
    given: Option<&k8s_openapi::api::core::v1::ResourceRequirements>,
    memory_request: &str,
    memory_limit: &str,
) -> Result<Value, serde_json::Error> {
    match given {
        Some(resources) => serde_json::to_value(resources),
        None => Ok(json!({
            "requests": { "cpu": "100m", "memory": memory_request },
            "limits": { "cpu": "1", "memory": memory_limit },
        })),
    }
}

/// The pod of one workload, before it becomes a Deployment's template.
struct Pod<'a> {
    workload: Workload,
    image: &'a str,
    env: Vec<Value>,
    resources: Value,
    /// The pipeline's pod options over the operator's defaults.
    options: PodOptions,
    /// The [`secret_versions::ANNOTATION`] of the pod, if it reads Secrets.
    secret_versions: Option<String>,
}

fn deployment(
    pipeline: &str,
    replicas: Option<i32>,
    pod: Pod<'_>,
) -> Result<Deployment, serde_json::Error> {
    let workload = pod.workload;
    // Readiness every 2 s: a new consumer's readiness is what the autoscaler and the
    // Deployment count as capacity, and the probe is one local HTTP request.
    let probe = |path: &str, period: i32| {
        json!({
            "httpGet": { "path": path, "port": "http" },
            "periodSeconds": period,
            "failureThreshold": 3,
        })
    };
    // The operator's labels last: the pods are selected by them.
    let mut pod_labels = pod.options.labels.clone();
    pod_labels.extend(labels(pipeline, workload));
    let mut template = json!({
        "metadata": { "labels": pod_labels },
        "spec": {
            "serviceAccountName": workload_name(pipeline, workload),
            "automountServiceAccountToken": false,
            "terminationGracePeriodSeconds": 30,
            "securityContext": {
                "runAsNonRoot": true,
                "runAsUser": 65532,
                "runAsGroup": 65532,
                "seccompProfile": { "type": "RuntimeDefault" },
            },
            "containers": [{
                "name": workload.binary(),
                "image": pod.image,
                "ports": [{ "name": "http", "containerPort": HTTP_PORT, "protocol": "TCP" }],
                "env": pod.env,
                "resources": pod.resources,
                "readinessProbe": probe("/readyz", 2),
                "livenessProbe": probe("/healthz", 10),
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "readOnlyRootFilesystem": true,
                    "runAsNonRoot": true,
                    "capabilities": { "drop": ["ALL"] },
                    "seccompProfile": { "type": "RuntimeDefault" },
                },
            }],
        },
    });
    let mut annotations = pod.options.annotations.clone();
    if let Some(versions) = pod.secret_versions {
        annotations.insert(secret_versions::ANNOTATION.to_owned(), versions);
    }
    if !annotations.is_empty() {
        template["metadata"]["annotations"] = serde_json::to_value(&annotations)?;
    }
    place(&mut template, &pod.options)?;
    let mut deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": workload_name(pipeline, workload), "labels": labels(pipeline, workload) },
        "spec": {
            "selector": { "matchLabels": selector_labels(pipeline, workload) },
            "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 1, "maxUnavailable": 0 } },
            "template": template,
        },
    }))?;
    if let Some(spec) = deployment.spec.as_mut() {
        spec.replicas = replicas;
    }
    Ok(deployment)
}

/// Writes the scheduling and pull secrets of `options` into a pod template, leaving out what
/// is empty (so that server-side apply drops what a pipeline stops asking for).
fn place(template: &mut Value, options: &PodOptions) -> Result<(), serde_json::Error> {
    let spec = &mut template["spec"];
    if !options.node_selector.is_empty() {
        spec["nodeSelector"] = serde_json::to_value(&options.node_selector)?;
    }
    if !options.tolerations.is_empty() {
        spec["tolerations"] = serde_json::to_value(&options.tolerations)?;
    }
    if let Some(affinity) = &options.affinity {
        spec["affinity"] = serde_json::to_value(affinity)?;
    }
    if !options.topology_spread_constraints.is_empty() {
        spec["topologySpreadConstraints"] =
            serde_json::to_value(&options.topology_spread_constraints)?;
    }
    if let Some(class) = &options.priority_class_name {
        spec["priorityClassName"] = json!(class);
    }
    if !options.image_pull_secrets.is_empty() {
        spec["imagePullSecrets"] = serde_json::to_value(&options.image_pull_secrets)?;
    }
    Ok(())
}

/// At most one pod of the workload down for voluntary disruptions (drains, upgrades).
fn budget(pipeline: &str, workload: Workload) -> Result<PodDisruptionBudget, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": { "name": workload_name(pipeline, workload), "labels": labels(pipeline, workload) },
        "spec": {
            "maxUnavailable": 1,
            "selector": { "matchLabels": selector_labels(pipeline, workload) },
        },
    }))
}

/// The workloads talk to Kafka only, never to the Kubernetes API: their accounts get no token
/// and no Role, which is the least privilege they need.
fn account(pipeline: &str, workload: Workload) -> Result<ServiceAccount, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": { "name": workload_name(pipeline, workload), "labels": labels(pipeline, workload) },
        "automountServiceAccountToken": false,
    }))
}
