//! Lag-driven scaling: what a platform team tunes, and what the autoscaler reports back. The
//! status part is written only by the autoscaler (its own field manager), never by the
//! reconciler.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Lag-driven scaling of consumer pods and workers.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("self.targetDrainSeconds >= self.pollIntervalSeconds").message("autoscaling.targetDrainSeconds must be at least pollIntervalSeconds: lag cannot be drained faster than it is read"))]
#[serde(rename_all = "camelCase")]
pub struct AutoscalingSpec {
    /// `Disabled`: the consumer's minimum pods and workers run. `Observe`: lag and rates are
    /// read and the decision the autoscaler would take is reported (status, Events, metrics),
    /// but the consumer Deployment's replicas and the worker count are left to others (an HPA
    /// or KEDA may own them). `Enabled`: the operator sizes pods and workers, and is then the
    /// only writer of the consumer Deployment's replicas: no HPA may target it. `"Off"`, the
    /// old spelling, still means `Disabled` (quoted: YAML 1.1, which kubectl reads, takes a
    /// bare `Off` for `false`).
    #[serde(default)]
    pub mode: AutoscalingMode,
    /// How often lag is read from Kafka, in seconds.
    #[serde(default = "default_poll_interval")]
    #[schemars(range(min = 1, max = 300))]
    pub poll_interval_seconds: u32,
    /// Capacity is sized to keep up with arrivals and drain the current lag within this many
    /// seconds.
    #[serde(default = "default_target_drain")]
    #[schemars(range(min = 1, max = 86400))]
    pub target_drain_seconds: u32,
    /// Messages of lag one worker is trusted to drain within `targetDrainSeconds` until its
    /// processing rate has been measured (the rate is learned while the workers are busy).
    #[serde(default = "default_lag_threshold")]
    #[schemars(range(min = 1, max = 100_000_000))]
    pub lag_threshold: u64,
    /// How long a smaller size must have sufficed at every poll before the consumers shrink, in
    /// seconds. Growing never waits.
    #[serde(default = "default_scale_down_window")]
    #[schemars(range(min = 0, max = 3600))]
    pub scale_down_stabilization_seconds: u32,
    /// The shortest time between two changes of the consumer pod count, in seconds: each one is
    /// a consumer-group rebalance that pauses the moved partitions. Worker changes inside the
    /// pods are not limited.
    #[serde(default = "default_min_rebalance_interval")]
    #[schemars(range(min = 0, max = 3600))]
    pub min_rebalance_interval_seconds: u32,
    /// Polls in a row without progress after which a partition with lag counts as stalled
    /// (while its group has live members). A stalled partition raises `Stalled` and its lag
    /// never causes a scale-out: more consumers cannot move a stuck order.
    #[serde(default = "default_stall_polls")]
    #[schemars(range(min = 2, max = 1000))]
    pub stall_polls: u32,
}

impl Default for AutoscalingSpec {
    fn default() -> Self {
        Self {
            mode: AutoscalingMode::default(),
            poll_interval_seconds: default_poll_interval(),
            target_drain_seconds: default_target_drain(),
            lag_threshold: default_lag_threshold(),
            scale_down_stabilization_seconds: default_scale_down_window(),
            min_rebalance_interval_seconds: default_min_rebalance_interval(),
            stall_polls: default_stall_polls(),
        }
    }
}

fn default_poll_interval() -> u32 {
    5
}

fn default_target_drain() -> u32 {
    30
}

fn default_lag_threshold() -> u64 {
    100
}

fn default_scale_down_window() -> u32 {
    120
}

fn default_min_rebalance_interval() -> u32 {
    30
}

fn default_stall_polls() -> u32 {
    6
}

/// Who sizes the consumers. No value is a YAML 1.1 boolean (`Off`, `On`, `Yes`, `No`): kubectl
/// reads YAML 1.1, so a bare `Off` reached the API server as `false` and was refused. `Off` stays
/// accepted for the pipelines written with it, and reads as `Disabled`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AutoscalingMode {
    /// The spec's minimum pods and workers.
    #[default]
    #[serde(alias = "Off")]
    Disabled,
    /// Measure and report, change nothing.
    Observe,
    /// Measure, decide and act.
    Enabled,
}

/// The values admission accepts: the three modes and the old spelling `Off`. Written by hand,
/// as a derived schema would offer only what serde writes.
impl schemars::JsonSchema for AutoscalingMode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AutoscalingMode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": ["Disabled", "Observe", "Enabled", "Off"],
        })
    }
}

/// Consumer pods and workers per pod.
#[derive(
    schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash,
)]
pub struct ConsumerSize {
    pub pods: i32,
    pub workers: i32,
}

impl std::fmt::Display for ConsumerSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.pods, self.workers)
    }
}

/// The lag of one partition.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionLag {
    pub partition: i32,
    pub lag: i64,
}

/// What the autoscaler last measured and decided.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalingStatus {
    /// The mode these figures were measured in.
    pub mode: AutoscalingMode,
    /// When Kafka was last read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_time: Option<Time>,
    /// Total lag of the order topic, in messages.
    pub lag: i64,
    /// The partition with the most lag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst_partition: Option<PartitionLag>,
    /// Orders arriving per second (growth of the log-end offsets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival_rate: Option<f64>,
    /// Orders processed per second (growth of the committed offsets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_rate: Option<f64>,
    /// Orders one worker processes per second, learned while the workers were busy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_worker_rate: Option<f64>,
    /// Pods × workers running now (pods as the Deployment reports them ready).
    pub current: ConsumerSize,
    /// Pods × workers the autoscaler decided on (in `Observe`: would decide on).
    pub desired: ConsumerSize,
    /// Seconds until the lag is gone at the desired capacity; absent when it would not drain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_drain_seconds: Option<i64>,
    /// Partitions with lag and no progress while the group is alive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stalled_partitions: Vec<i32>,
    /// The last change of the desired size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_decision: Option<ScalingDecision>,
    /// When the desired pod count last changed (a rebalance), so that the minimum interval
    /// between rebalances holds across operator restarts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_pod_change_time: Option<Time>,
}

/// One change of the desired consumer size and why.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScalingDecision {
    pub time: Time,
    pub from: ConsumerSize,
    pub to: ConsumerSize,
    /// A short CamelCase reason, e.g. `LagGrowing` or `CapacityUnused`.
    pub reason: String,
    /// The decision with the numbers behind it, as a person reads it.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_spelling_off_reads_as_disabled() {
        let mode: AutoscalingMode = serde_json::from_str("\"Off\"").unwrap();
        assert_eq!(mode, AutoscalingMode::Disabled);
    }

    #[test]
    fn a_disabled_mode_is_written_in_the_new_spelling() {
        let written = serde_json::to_string(&AutoscalingMode::Disabled).unwrap();
        assert_eq!(written, "\"Disabled\"");
    }

    #[test]
    fn the_schema_admits_both_spellings_and_no_yaml_1_1_boolean_but_off() {
        let schema = serde_json::to_value(schemars::schema_for!(AutoscalingMode)).unwrap();
        let values: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(values, ["Disabled", "Observe", "Enabled", "Off"]);
        for boolean in ["On", "Yes", "No", "True", "False", "Y", "N"] {
            assert!(!values.contains(&boolean), "{boolean} in {values:?}");
        }
    }
}
