//! What the operator observed and decided.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde::{Deserialize, Serialize};

/// The pipeline as the operator last saw it.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CoffeeOrderPipelineStatus {
    /// The generation of the spec this status describes.
    pub observed_generation: Option<i64>,
    /// `Ready`, `TopicReady`, `ProducerReady`, `ConsumerReady`, each with a reason and message.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The order topic.
    pub topic: Option<String>,
    /// Partitions of the order topic, as Kafka reports them.
    pub partitions: Option<i32>,
    /// Consumer pods × workers per pod, e.g. `3x10`.
    pub consumers: Option<String>,
    /// Total consumer-group lag of the order topic, in messages.
    pub lag: Option<i64>,
    pub producer: Option<WorkloadStatus>,
    pub consumer: Option<WorkloadStatus>,
    /// Workers per consumer pod the operator asks for.
    pub workers_per_pod: Option<i32>,
}

/// Replicas of a Deployment.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    pub replicas: i32,
    pub ready_replicas: i32,
}
