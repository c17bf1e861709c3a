//! The pipeline's conditions, computed from what the reconcile observed (pure). A condition's
//! `lastTransitionTime` only moves when its status changes.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::crd::{CoffeeOrderPipelineStatus, WorkloadStatus};

/// The conditions the reconciler writes; `Scaling` and `Stalled` are the autoscaler's.
pub const CONDITIONS: [&str; 4] = ["Ready", "TopicReady", "ProducerReady", "ConsumerReady"];

/// The reconciler's part of `status`: what it applies, so that it never claims the
/// autoscaler's fields.
pub fn owned(status: &CoffeeOrderPipelineStatus) -> CoffeeOrderPipelineStatus {
    CoffeeOrderPipelineStatus {
        observed_generation: status.observed_generation,
        conditions: status
            .conditions
            .iter()
            .filter(|c| CONDITIONS.contains(&c.type_.as_str()))
            .cloned()
            .collect(),
        topic: status.topic.clone(),
        claimed_topic: status.claimed_topic.clone(),
        partitions: status.partitions,
        producer: status.producer.clone(),
        consumer: status.consumer.clone(),
        ..CoffeeOrderPipelineStatus::default()
    }
}

/// What became of the topics in this reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicOutcome {
    Ready,
    DecreaseRefused {
        topic: String,
        from: i32,
        to: i32,
    },
    Failed {
        reason: String,
        message: String,
    },
    /// The order topic is another pipeline's, or nobody's and not adopted: nothing was touched.
    Conflict {
        message: String,
    },
}

/// A condition before it is stamped with generation and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub type_: &'static str,
    pub ready: bool,
    pub reason: String,
    pub message: String,
}

pub fn topic_condition(outcome: &TopicOutcome, partitions: Option<i32>) -> Judgement {
    let (ready, reason, message) = match outcome {
        TopicOutcome::Ready => (
            true,
            "TopicsReady".to_owned(),
            format!(
                "order, status and dead-letter topics exist; {} partitions",
                partitions.unwrap_or_default()
            ),
        ),
        TopicOutcome::DecreaseRefused { topic, from, to } => (
            false,
            "PartitionDecreaseNotSupported".to_owned(),
            format!(
                "topic {topic} has {from} partitions; the spec asks for {to}, but Kafka cannot remove partitions. Set kafka.partitions to {from} or more"
            ),
        ),
        TopicOutcome::Failed { reason, message } => (false, reason.clone(), message.clone()),
        TopicOutcome::Conflict { message } => (false, "TopicConflict".to_owned(), message.clone()),
    };
    Judgement {
        type_: "TopicReady",
        ready,
        reason,
        message,
    }
}

/// Replicas of a Deployment as its status reports them (the API server omits zero counts).
pub fn workload_status(deployment: Option<&Deployment>) -> WorkloadStatus {
    let status = deployment.and_then(|d| d.status.as_ref());
    WorkloadStatus {
        replicas: status.and_then(|s| s.replicas).unwrap_or(0),
        ready_replicas: status.and_then(|s| s.ready_replicas).unwrap_or(0),
    }
}

pub fn workload_condition(
    type_: &'static str,
    desired: i32,
    observed: &WorkloadStatus,
) -> Judgement {
    let ready = observed.ready_replicas >= desired;
    let reason = if desired == 0 {
        "ScaledToZero"
    } else if ready {
        "ReplicasReady"
    } else {
        "ReplicasNotReady"
    };
    Judgement {
        type_,
        ready,
        reason: reason.to_owned(),
        message: format!("{} of {desired} replicas ready", observed.ready_replicas),
    }
}

/// `Ready` is true when every other condition is.
pub fn ready_condition(parts: &[Judgement]) -> Judgement {
    let not_ready: Vec<&str> = parts.iter().filter(|j| !j.ready).map(|j| j.type_).collect();
    Judgement {
        type_: "Ready",
        ready: not_ready.is_empty(),
        reason: if not_ready.is_empty() {
            "AllReady"
        } else {
            "NotReady"
        }
        .to_owned(),
        message: if not_ready.is_empty() {
            "topics exist and every replica is ready".to_owned()
        } else {
            format!("not ready: {}", not_ready.join(", "))
        },
    }
}

/// Stamps `judgements` into conditions, keeping the transition time of unchanged ones.
pub fn conditions(
    judgements: &[Judgement],
    previous: &[Condition],
    generation: Option<i64>,
    now: Time,
) -> Vec<Condition> {
    judgements
        .iter()
        .map(|j| {
            let status = if j.ready { "True" } else { "False" };
            let since = previous
                .iter()
                .find(|c| c.type_ == j.type_ && c.status == status)
                .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
            Condition {
                type_: j.type_.to_owned(),
                status: status.to_owned(),
                reason: j.reason.clone(),
                message: j.message.clone(),
                observed_generation: generation,
                last_transition_time: since,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(seconds: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(seconds).unwrap())
    }

    #[test]
    fn the_reconcilers_part_leaves_out_the_autoscalers_fields() {
        let condition = |type_: &str| Condition {
            type_: type_.into(),
            status: "True".into(),
            reason: "R".into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: time(1),
        };
        let full = CoffeeOrderPipelineStatus {
            conditions: vec![condition("Ready"), condition("Scaling")],
            lag: Some(5),
            consumers: Some("1x10".into()),
            autoscaling: Some(Default::default()),
            topic: Some("orders".into()),
            ..CoffeeOrderPipelineStatus::default()
        };
        let owned = owned(&full);
        assert_eq!(owned.conditions, vec![condition("Ready")]);
        assert_eq!(
            (owned.lag, owned.consumers, owned.autoscaling),
            (None, None, None)
        );
        assert_eq!(owned.topic.as_deref(), Some("orders"));
    }

    #[test]
    fn a_refused_decrease_says_what_to_do() {
        let outcome = TopicOutcome::DecreaseRefused {
            topic: "orders".into(),
            from: 6,
            to: 3,
        };
        let judgement = topic_condition(&outcome, Some(6));
        assert!(!judgement.ready);
        assert_eq!(judgement.reason, "PartitionDecreaseNotSupported");
        assert!(
            judgement
                .message
                .contains("Set kafka.partitions to 6 or more")
        );
    }

    #[test]
    fn a_workload_with_fewer_ready_replicas_is_not_ready() {
        let observed = WorkloadStatus {
            replicas: 2,
            ready_replicas: 1,
        };
        let judgement = workload_condition("ProducerReady", 2, &observed);
        assert!(!judgement.ready);
        assert_eq!(judgement.message, "1 of 2 replicas ready");
    }

    #[test]
    fn a_workload_scaled_to_zero_is_ready() {
        let judgement = workload_condition("ConsumerReady", 0, &WorkloadStatus::default());
        assert!(judgement.ready);
        assert_eq!(judgement.reason, "ScaledToZero");
    }

    #[test]
    fn missing_counts_in_a_deployment_status_mean_zero() {
        let deployment = Deployment {
            status: Some(Default::default()),
            ..Default::default()
        };
        assert_eq!(
            workload_status(Some(&deployment)),
            WorkloadStatus::default()
        );
    }

    #[test]
    fn ready_names_what_is_not_ready() {
        let parts = [
            workload_condition(
                "ProducerReady",
                1,
                &WorkloadStatus {
                    replicas: 1,
                    ready_replicas: 1,
                },
            ),
            workload_condition("ConsumerReady", 1, &WorkloadStatus::default()),
        ];
        let ready = ready_condition(&parts);
        assert!(!ready.ready);
        assert_eq!(ready.message, "not ready: ConsumerReady");
    }

    #[test]
    fn an_unchanged_status_keeps_its_transition_time() {
        let judgement = workload_condition("ProducerReady", 0, &WorkloadStatus::default());
        let first = conditions(std::slice::from_ref(&judgement), &[], Some(1), time(100));
        let second = conditions(&[judgement], &first, Some(2), time(200));
        assert_eq!(second[0].last_transition_time, time(100));
        assert_eq!(second[0].observed_generation, Some(2));
    }

    #[test]
    fn a_changed_status_moves_its_transition_time() {
        let not_ready = workload_condition("ProducerReady", 1, &WorkloadStatus::default());
        let ready = workload_condition("ProducerReady", 0, &WorkloadStatus::default());
        let first = conditions(&[not_ready], &[], Some(1), time(100));
        let second = conditions(&[ready], &first, Some(1), time(200));
        assert_eq!(second[0].last_transition_time, time(200));
    }
}
