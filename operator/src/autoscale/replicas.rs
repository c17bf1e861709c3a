//! The consumer replicas the reconciler applies (pure). The autoscaler decides and records the
//! decision in the status; the reconciler is the only writer of the Deployment and takes the
//! replicas from that record, so that a decision survives an operator restart or a change of
//! leader instead of snapping back to the minimum.

use super::shape::Bounds;
use crate::crd::{AutoscalingMode, CoffeeOrderPipelineSpec, CoffeeOrderPipelineStatus};

/// `None` leaves the replicas to another owner (`Observe`: an HPA or KEDA may set them).
pub fn consumer_replicas(
    spec: &CoffeeOrderPipelineSpec,
    status: Option<&CoffeeOrderPipelineStatus>,
    partitions: i32,
) -> Option<i32> {
    let bounds = Bounds::of(spec, partitions);
    let clamp = |pods: i32| pods.clamp(bounds.min_pods(), bounds.max_pods());
    match spec.autoscaling.mode {
        AutoscalingMode::Disabled => Some(bounds.min_pods()),
        AutoscalingMode::Observe => None,
        AutoscalingMode::Enabled => {
            let decided = status
                .and_then(|s| s.autoscaling.as_ref())
                .filter(|a| a.mode == AutoscalingMode::Enabled)
                .map(|a| a.desired.pods);
            // Just switched on: keep what runs until the first decision.
            let running = status
                .and_then(|s| s.consumer.as_ref())
                .map(|c| c.replicas)
                .filter(|&r| r > 0);
            Some(decided.or(running).map_or(bounds.min_pods(), clamp))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{AutoscalingStatus, ConsumerSize, Range, WorkloadStatus};

    fn spec(mode: AutoscalingMode, pods: (i32, i32)) -> CoffeeOrderPipelineSpec {
        let mut spec: CoffeeOrderPipelineSpec =
            serde_yaml::from_str("kafka: {bootstrapServers: 'k:9092', partitions: 6}").unwrap();
        spec.autoscaling.mode = mode;
        spec.consumer.replicas = Range {
            min: pods.0,
            max: pods.1,
        };
        spec
    }

    fn decided(mode: AutoscalingMode, pods: i32) -> CoffeeOrderPipelineStatus {
        CoffeeOrderPipelineStatus {
            autoscaling: Some(AutoscalingStatus {
                mode,
                desired: ConsumerSize { pods, workers: 10 },
                ..AutoscalingStatus::default()
            }),
            ..CoffeeOrderPipelineStatus::default()
        }
    }

    #[test]
    fn off_runs_the_minimum() {
        let status = decided(AutoscalingMode::Enabled, 5);
        assert_eq!(
            consumer_replicas(&spec(AutoscalingMode::Disabled, (2, 6)), Some(&status), 6),
            Some(2)
        );
    }

    #[test]
    fn observe_leaves_the_replicas_alone() {
        assert_eq!(
            consumer_replicas(&spec(AutoscalingMode::Observe, (2, 6)), None, 6),
            None
        );
    }

    #[test]
    fn enabled_applies_the_recorded_decision() {
        let status = decided(AutoscalingMode::Enabled, 5);
        assert_eq!(
            consumer_replicas(&spec(AutoscalingMode::Enabled, (1, 6)), Some(&status), 6),
            Some(5)
        );
    }

    #[test]
    fn a_recorded_decision_is_clamped_to_the_spec_and_the_partitions() {
        let status = decided(AutoscalingMode::Enabled, 9);
        assert_eq!(
            consumer_replicas(&spec(AutoscalingMode::Enabled, (1, 6)), Some(&status), 4),
            Some(4)
        );
    }

    #[test]
    fn switching_from_observe_to_enabled_keeps_what_runs() {
        let mut status = decided(AutoscalingMode::Observe, 6);
        status.consumer = Some(WorkloadStatus {
            replicas: 3,
            ready_replicas: 3,
        });
        assert_eq!(
            consumer_replicas(&spec(AutoscalingMode::Enabled, (1, 6)), Some(&status), 6),
            Some(3)
        );
    }

    #[test]
    fn enabled_without_any_record_starts_at_the_minimum() {
        assert_eq!(
            consumer_replicas(&spec(AutoscalingMode::Enabled, (2, 6)), None, 6),
            Some(2)
        );
    }
}
