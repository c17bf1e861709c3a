//! The Deployment status the runtime reports, computed from its pods.

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::rollout::PodView;

/// The status of a Deployment with `desired` replicas whose live pods are `pods`. Conditions
/// carry no timestamps here; [`with_transition_times`] adds them when the status is written.
pub fn deployment_status(
    generation: Option<i64>,
    desired: usize,
    pods: &[PodView],
) -> DeploymentStatus {
    let replicas = pods.len();
    let updated = pods.iter().filter(|p| p.current).count();
    let ready = pods.iter().filter(|p| p.ready).count();
    let available = ready >= desired;
    let complete = updated == desired && replicas == desired && ready == desired;
    let count = |n: usize| Some(i32::try_from(n).unwrap_or(i32::MAX));
    DeploymentStatus {
        observed_generation: generation,
        replicas: count(replicas),
        updated_replicas: count(updated),
        ready_replicas: count(ready),
        available_replicas: count(ready),
        unavailable_replicas: count(desired.saturating_sub(ready)),
        conditions: Some(vec![
            condition(
                "Available",
                available,
                if available {
                    "MinimumReplicasAvailable"
                } else {
                    "MinimumReplicasUnavailable"
                },
                format!("{ready} of {desired} replicas ready"),
            ),
            condition(
                "Progressing",
                true,
                if complete {
                    "NewReplicaSetAvailable"
                } else {
                    "ReplicaSetUpdated"
                },
                format!("{updated} of {desired} replicas run the current pod template"),
            ),
        ]),
        ..DeploymentStatus::default()
    }
}

fn condition(kind: &str, status: bool, reason: &str, message: String) -> DeploymentCondition {
    DeploymentCondition {
        type_: kind.to_owned(),
        status: if status { "True" } else { "False" }.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        ..DeploymentCondition::default()
    }
}

/// Stamps the conditions of `next` with `now`, keeping the previous transition time of every
/// condition whose status did not change.
pub fn with_transition_times(
    mut next: DeploymentStatus,
    previous: Option<&DeploymentStatus>,
    now: &Time,
) -> DeploymentStatus {
    let previous_conditions = previous
        .and_then(|p| p.conditions.as_deref())
        .unwrap_or(&[]);
    for condition in next.conditions.iter_mut().flatten() {
        let before = previous_conditions
            .iter()
            .find(|c| c.type_ == condition.type_);
        condition.last_transition_time = match before {
            Some(before) if before.status == condition.status => {
                before.last_transition_time.clone()
            }
            _ => Some(now.clone()),
        };
        condition.last_update_time = Some(now.clone());
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(current: bool, ready: bool) -> PodView {
        PodView {
            name: "p".into(),
            current,
            ready,
        }
    }

    fn condition_status(status: &DeploymentStatus, kind: &str) -> String {
        let conditions = status.conditions.as_ref().unwrap();
        conditions
            .iter()
            .find(|c| c.type_ == kind)
            .unwrap()
            .status
            .clone()
    }

    #[test]
    fn counts_replicas_updated_and_ready() {
        let status = deployment_status(
            Some(4),
            3,
            &[pod(true, true), pod(false, true), pod(true, false)],
        );
        assert_eq!(status.observed_generation, Some(4));
        assert_eq!(status.replicas, Some(3));
        assert_eq!(status.updated_replicas, Some(2));
        assert_eq!(status.ready_replicas, Some(2));
        assert_eq!(status.available_replicas, Some(2));
        assert_eq!(status.unavailable_replicas, Some(1));
    }

    #[test]
    fn available_only_when_enough_replicas_are_ready() {
        assert_eq!(
            condition_status(&deployment_status(None, 2, &[pod(true, true)]), "Available"),
            "False"
        );
        let both = [pod(true, true), pod(true, true)];
        assert_eq!(
            condition_status(&deployment_status(None, 2, &both), "Available"),
            "True"
        );
    }

    #[test]
    fn zero_replicas_is_available_and_complete() {
        let status = deployment_status(Some(1), 0, &[]);
        assert_eq!(condition_status(&status, "Available"), "True");
        assert_eq!(status.replicas, Some(0));
    }

    #[test]
    fn transition_time_is_kept_while_status_is_unchanged() {
        let then = Time(k8s_openapi::jiff::Timestamp::from_second(1_000).unwrap());
        let now = Time(k8s_openapi::jiff::Timestamp::from_second(2_000).unwrap());
        let first =
            with_transition_times(deployment_status(None, 1, &[pod(true, true)]), None, &then);
        let second = with_transition_times(
            deployment_status(None, 1, &[pod(true, true)]),
            Some(&first),
            &now,
        );
        let available = second
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Available")
            .unwrap();
        assert_eq!(available.last_transition_time, Some(then));
        assert_eq!(available.last_update_time, Some(now));
    }

    #[test]
    fn transition_time_moves_when_status_flips() {
        let then = Time(k8s_openapi::jiff::Timestamp::from_second(1_000).unwrap());
        let now = Time(k8s_openapi::jiff::Timestamp::from_second(2_000).unwrap());
        let first =
            with_transition_times(deployment_status(None, 1, &[pod(true, true)]), None, &then);
        let second = with_transition_times(deployment_status(None, 1, &[]), Some(&first), &now);
        let available = second
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Available")
            .unwrap();
        assert_eq!(available.last_transition_time, Some(now));
    }
}
