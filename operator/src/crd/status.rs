//! What the operator observed and decided.
//!
//! Two writers share the status, each with its own server-side apply field manager: the
//! reconciler (`observedGeneration`, `topic`, `partitions`, `producer`, `consumer` and the
//! conditions `Ready`, `TopicReady`, `ProducerReady`, `ConsumerReady`) and the autoscaler
//! (`consumers`, `lag`, `autoscaling` and the conditions `Scaling`, `Stalled`). Unset fields are
//! left out of what is applied, so neither writer claims the other's fields, and conditions are
//! a list keyed by type, so each writer owns only its own entries.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde::{Deserialize, Serialize};

use super::AutoscalingStatus;

/// The pipeline as the operator last saw it.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CoffeeOrderPipelineStatus {
    /// The generation of the spec this status describes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `TopicReady`, `ProducerReady`, `ConsumerReady`, `Scaling` and `Stalled`, each
    /// with a reason and message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The order topic. Once recorded it stays the pipeline's topic when `kafka.topic` is unset
    /// (pipelines from before default names carried the namespace keep theirs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The order topic this pipeline owns (created, or adopted on purpose), with its derived
    /// topics and group: a deletion with `topicDeletionPolicy: Delete` removes only these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_topic: Option<String>,
    /// Partitions of the order topic, as Kafka reports them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<i32>,
    /// Consumer pods × workers per pod running now, e.g. `3x10`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumers: Option<String>,
    /// Total consumer-group lag of the order topic, in messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer: Option<WorkloadStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer: Option<WorkloadStatus>,
    /// Lag, rates, the current and desired consumer size and the last scaling decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingStatus>,
}

/// Replicas of a Deployment.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    pub replicas: i32,
    pub ready_replicas: i32,
}
