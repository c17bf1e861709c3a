//! The seam for lag-driven scaling: observations in, consumer pods and workers per pod out.
//! Pure, so the policy can be tested and replayed against recorded lag without a cluster.

use crate::crd::{AutoscalingSpec, Range};

/// What the reconciler knows when it sizes the consumers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub partitions: i32,
    pub replicas: Range,
    pub workers: Range,
}

/// How many consumer pods, with how many workers each, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub replicas: i32,
    pub workers: i32,
    pub reason: &'static str,
}

/// Decides the consumers' size. Until lag-driven scaling exists this is the configured minimum,
/// never more pods than partitions.
pub fn decide(_autoscaling: &AutoscalingSpec, observation: &Observation) -> Decision {
    Decision {
        replicas: observation.replicas.min.min(observation.partitions.max(1)),
        workers: observation.workers.min,
        reason: "Minimum",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(partitions: i32, replicas: (i32, i32), workers: (i32, i32)) -> Observation {
        Observation {
            partitions,
            replicas: Range {
                min: replicas.0,
                max: replicas.1,
            },
            workers: Range {
                min: workers.0,
                max: workers.1,
            },
        }
    }

    #[test]
    fn without_lag_data_the_minimum_runs() {
        let decision = decide(
            &AutoscalingSpec::default(),
            &observation(12, (2, 6), (10, 50)),
        );
        assert_eq!((decision.replicas, decision.workers), (2, 10));
    }

    #[test]
    fn never_more_pods_than_partitions() {
        let decision = decide(&AutoscalingSpec::default(), &observation(3, (4, 4), (1, 1)));
        assert_eq!(decision.replicas, 3);
    }
}
