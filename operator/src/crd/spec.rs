//! The desired state.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{AutoscalingSpec, CoffeeOrderPipelineStatus, PodOptions};

/// A coffee ordering pipeline: a Kafka order topic (plus its status and dead-letter topics),
/// the order intake (`coffee-producer`) and the order processing (`coffee-consumer`).
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "coffee-pipeline.io",
    version = "v1alpha1",
    kind = "CoffeeOrderPipeline",
    namespaced,
    shortname = "cop",
    status = "CoffeeOrderPipelineStatus",
    printcolumn = r#"{"name":"Topic","type":"string","jsonPath":".status.topic"}"#,
    printcolumn = r#"{"name":"Partitions","type":"integer","jsonPath":".status.partitions"}"#,
    printcolumn = r#"{"name":"Consumers","type":"string","description":"consumer pods × workers per pod","jsonPath":".status.consumers"}"#,
    printcolumn = r#"{"name":"Lag","type":"integer","jsonPath":".status.lag"}"#,
    printcolumn = r#"{"name":"Scaling","type":"string","description":"what the autoscaler is doing","jsonPath":".status.conditions[?(@.type==\"Scaling\")].reason"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    validation = Rule::new("size(self.metadata.name) <= 50").message("metadata.name must be at most 50 characters: the operator derives Deployment and topic names from it")
)]
#[x_kube(validation = Rule::new("self.consumer.replicas.max <= self.kafka.partitions").message("consumer.replicas.max must not exceed kafka.partitions: a consumer without a partition has nothing to do"))]
#[serde(rename_all = "camelCase")]
pub struct CoffeeOrderPipelineSpec {
    /// The Kafka cluster and the order topic.
    pub kafka: KafkaSpec,
    /// The order intake (`coffee-producer`).
    #[serde(default)]
    pub producer: ProducerSpec,
    /// The order processing (`coffee-consumer`).
    #[serde(default)]
    pub consumer: ConsumerSpec,
    /// Lag-driven scaling of the consumers.
    #[serde(default)]
    pub autoscaling: AutoscalingSpec,
    /// What happens to the topics when the pipeline is deleted: `Retain` (default) keeps them
    /// and their data, `Delete` deletes all four (orders, status, dead letters, control).
    #[serde(default)]
    pub topic_deletion_policy: TopicDeletionPolicy,
}

/// The Kafka cluster and the order topic.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(oldSelf.topic) == has(self.topic) && (!has(self.topic) || self.topic == oldSelf.topic)").message("kafka.topic cannot be set, changed or removed after creation: the pipeline's topics, data and consumer group stay where they are; create a new pipeline for a new topic"))]
#[x_kube(validation = Rule::new("self.bootstrapServers == oldSelf.bootstrapServers").message("kafka.bootstrapServers cannot change after creation: the topics live on the cluster the pipeline was created on; create a new pipeline for another cluster"))]
#[x_kube(validation = Rule::new("!has(self.sasl) || self.sasl.mechanism != 'PLAIN' || has(self.tls) || (has(self.allowInsecureSasl) && self.allowInsecureSasl)").message("SASL PLAIN without tls sends the password in clear text: add kafka.tls, use SCRAM, or set kafka.allowInsecureSasl: true on a network you trust"))]
pub struct KafkaSpec {
    /// Bootstrap servers, comma-separated `host:port`.
    #[schemars(length(min = 1, max = 1000))]
    pub bootstrap_servers: String,
    /// The order topic; defaults to `<namespace>.<name>`, so that pipelines of one name in two
    /// namespaces never share a topic or group. The status topic is `<topic>-status`, the
    /// dead-letter topic `<topic>-dead-letters`, the control topic `<topic>-control`, the
    /// consumer group `<topic>-processor`.
    #[schemars(regex(pattern = r"^[a-zA-Z0-9._-]{1,200}$"))]
    #[x_kube(validation = Rule::new("!self.startsWith('__') && self != '.' && self != '..'").message("kafka.topic must not start with __ (Kafka's internal topics) nor be . or .."))]
    #[x_kube(validation = Rule::new("!self.endsWith('-status') && !self.endsWith('-dead-letters') && !self.endsWith('-control')").message("kafka.topic must not end with -status, -dead-letters or -control: those are the names of another pipeline's derived topics"))]
    pub topic: Option<String>,
    /// Partitions of the order and status topics. They can grow but never shrink (Kafka cannot
    /// take partitions away); a decrease is refused and reported, not applied.
    #[schemars(range(min = 1, max = 1000))]
    pub partitions: i32,
    /// Replicas of every partition; the broker's default when unset.
    #[schemars(range(min = 1, max = 32))]
    pub replication_factor: Option<i16>,
    /// Topic configuration of the order topic (e.g. `retention.ms`), kept as given: drift is
    /// corrected.
    #[serde(default)]
    pub topic_config: BTreeMap<String, String>,
    /// Take an order topic that exists and that no pipeline owns (made by hand, or by another
    /// tool), or one a pipeline of the same namespace and name owned before (deleted with
    /// `Retain`, created again). Without it such a topic is a `TopicConflict`: a pipeline never
    /// takes a topic by accident. A topic another pipeline owns is never taken.
    #[serde(default)]
    pub adopt_existing_topic: bool,
    /// Allow SASL PLAIN without TLS, which sends the password in clear text; only for a network
    /// you trust.
    #[serde(default)]
    pub allow_insecure_sasl: bool,
    /// TLS to the brokers.
    pub tls: Option<TlsSpec>,
    /// SASL authentication to the brokers.
    pub sasl: Option<SaslSpec>,
}

/// TLS settings; the certificates come from Secrets in the pipeline's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TlsSpec {
    /// CA certificate (PEM) that signed the brokers' certificates.
    pub ca_secret: Option<SecretKeyRef>,
    /// Client certificate (PEM) for mutual TLS.
    pub cert_secret: Option<SecretKeyRef>,
    /// Client private key (PEM) for mutual TLS.
    pub key_secret: Option<SecretKeyRef>,
}

/// SASL settings; the credentials come from a Secret in the pipeline's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SaslSpec {
    pub mechanism: SaslMechanism,
    /// Secret holding the user name and password.
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
    /// Key of the user name in the Secret.
    #[serde(default = "default_username_key")]
    pub username_key: String,
    /// Key of the password in the Secret.
    #[serde(default = "default_password_key")]
    pub password_key: String,
}

fn default_username_key() -> String {
    "username".into()
}

fn default_password_key() -> String {
    "password".into()
}

/// SASL mechanisms the workloads support.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

/// A key of a Secret in the pipeline's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// The order intake.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProducerSpec {
    /// Container image of `coffee-producer`; the operator's default (`--producer-image`, chart
    /// value `pipelineDefaults.producerImage`) when unset, so that upgrading the operator moves
    /// the pipeline to the new image.
    #[schemars(length(min = 1, max = 1000))]
    pub image: Option<String>,
    /// Pods of the order intake.
    #[serde(default = "default_producer_replicas")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,
    /// CPU and memory; sensible requests and limits when unset.
    pub resources: Option<ResourceRequirements>,
    /// How long librdkafka waits to fill a batch, in milliseconds.
    #[serde(default = "default_linger_ms")]
    #[schemars(range(min = 0, max = 1000))]
    pub linger_ms: u32,
    /// Kafka producers per pod, each with its own broker connections; an order goes through
    /// the one that owns its partition. More help only where the brokers have cores to spare.
    #[serde(default = "default_kafka_producers")]
    #[schemars(range(min = 1, max = 16))]
    pub kafka_producers: u16,
    /// Compression of order batches.
    #[serde(default)]
    pub compression: Compression,
    /// The Secret key holding the bearer token `GET /orders` requires (16 to 1024 visible
    /// ASCII characters). The listing shows every customer's orders, so without it the listing
    /// is off and answers 403.
    pub orders_list_token_secret: Option<SecretKeyRef>,
    /// Scheduling, labels, annotations and pull secrets of the pods, over the operator's
    /// defaults.
    #[serde(default)]
    pub pod: PodOptions,
}

impl Default for ProducerSpec {
    fn default() -> Self {
        Self {
            image: None,
            replicas: default_producer_replicas(),
            resources: None,
            linger_ms: default_linger_ms(),
            kafka_producers: default_kafka_producers(),
            compression: Compression::default(),
            orders_list_token_secret: None,
            pod: PodOptions::default(),
        }
    }
}

fn default_producer_replicas() -> i32 {
    2
}

fn default_linger_ms() -> u32 {
    1
}

fn default_kafka_producers() -> u16 {
    1
}

pub use coffee_kafka::compression::Compression;

/// The order processing.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerSpec {
    /// Container image of `coffee-consumer`; the operator's default (`--consumer-image`, chart
    /// value `pipelineDefaults.consumerImage`) when unset.
    #[schemars(length(min = 1, max = 1000))]
    pub image: Option<String>,
    /// CPU and memory; sensible requests and limits when unset.
    pub resources: Option<ResourceRequirements>,
    /// Consumer pods; with autoscaling `Disabled` the minimum runs. At most one pod per partition.
    #[serde(default = "default_consumer_replicas")]
    pub replicas: Range,
    /// Workers per consumer pod (orders brewed at once); with autoscaling `Disabled` the minimum
    /// runs. Pods start with the minimum; the autoscaler changes the count live.
    #[serde(default = "default_workers")]
    pub workers: Range,
    /// Most messages handed to the workers as one batch.
    #[serde(default = "default_batch_max_messages")]
    #[schemars(range(min = 1, max = 10000))]
    pub batch_max_messages: u32,
    /// Longest a batch waits for more messages, in milliseconds.
    #[serde(default = "default_batch_max_wait_ms")]
    #[schemars(range(min = 0, max = 10000))]
    pub batch_max_wait_ms: u32,
    /// How long the consumer group waits for a silent pod before giving its partitions to
    /// others, in seconds (the broker allows 6 s to 30 min by default).
    #[serde(default = "default_session_timeout")]
    #[schemars(range(min = 6, max = 1800))]
    pub session_timeout_seconds: u32,
    /// Scheduling, labels, annotations and pull secrets of the pods, over the operator's
    /// defaults.
    #[serde(default)]
    pub pod: PodOptions,
}

impl Default for ConsumerSpec {
    fn default() -> Self {
        Self {
            image: None,
            resources: None,
            replicas: default_consumer_replicas(),
            workers: default_workers(),
            batch_max_messages: default_batch_max_messages(),
            batch_max_wait_ms: default_batch_max_wait_ms(),
            session_timeout_seconds: default_session_timeout(),
            pod: PodOptions::default(),
        }
    }
}

fn default_consumer_replicas() -> Range {
    Range { min: 1, max: 1 }
}

fn default_workers() -> Range {
    Range { min: 10, max: 10 }
}

fn default_batch_max_messages() -> u32 {
    100
}

fn default_batch_max_wait_ms() -> u32 {
    100
}

fn default_session_timeout() -> u32 {
    10
}

/// An inclusive range.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[x_kube(validation = Rule::new("self.min <= self.max").message("min must not exceed max"))]
pub struct Range {
    #[schemars(range(min = 1, max = 1000))]
    pub min: i32,
    #[schemars(range(min = 1, max = 1000))]
    pub max: i32,
}

/// What happens to the topics when the pipeline is deleted.
#[derive(
    schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
pub enum TopicDeletionPolicy {
    /// Keep the topics and their data.
    #[default]
    Retain,
    /// Delete the order, status, dead-letter and control topics.
    Delete,
}
