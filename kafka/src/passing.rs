//! Errors a Kafka client outlives. librdkafka reports a broker it cannot reach, or a partition
//! leader or group coordinator on the move, from `poll` and from its requests — and carries on:
//! it reconnects, finds the new leader, asks again. A reader that must read to an end (the
//! consumer's recovery of finished orders) keeps reading through these until its deadline; it
//! gives up at once only on the others (not authorized, no such topic, ...). On a cluster of
//! three, one broker stopped for a rolling restart gives exactly these.

use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// Runs the blocking `step` (given the time left as its timeout) until it succeeds, fails
/// with an error that is not [passing](is_passing), or `deadline` passes.
pub fn retried<T>(
    deadline: Instant,
    mut step: impl FnMut(Duration) -> Result<T, KafkaError>,
) -> Result<T, KafkaError> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match step(left.max(Duration::from_millis(100))) {
            Err(error) if is_passing(&error) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// Whether `error` is one a client outlives by waiting and asking again.
pub fn is_passing(error: &KafkaError) -> bool {
    use RDKafkaErrorCode::{
        AllBrokersDown, BrokerTransportFailure, CoordinatorLoadInProgress, CoordinatorNotAvailable,
        LeaderNotAvailable, NetworkException, NotCoordinator, NotLeaderForPartition,
        OperationTimedOut, RequestTimedOut,
    };
    matches!(
        error.rdkafka_error_code(),
        Some(
            AllBrokersDown
                | BrokerTransportFailure
                | CoordinatorLoadInProgress
                | CoordinatorNotAvailable
                | LeaderNotAvailable
                | NetworkException
                | NotCoordinator
                | NotLeaderForPartition
                | OperationTimedOut
                | RequestTimedOut
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_asked_again_until_it_succeeds() {
        let mut asked = 0;
        let answer = retried(Instant::now() + Duration::from_secs(5), |_| {
            asked += 1;
            match asked {
                1 => Err(KafkaError::MetadataFetch(RDKafkaErrorCode::NotCoordinator)),
                _ => Ok(asked),
            }
        });
        assert_eq!(answer.ok(), Some(2));
    }

    #[test]
    fn a_step_that_fails_for_good_is_not_asked_again() {
        let mut asked = 0;
        let answer: Result<(), _> = retried(Instant::now() + Duration::from_secs(5), |_| {
            asked += 1;
            Err(KafkaError::MetadataFetch(
                RDKafkaErrorCode::TopicAuthorizationFailed,
            ))
        });
        assert!(answer.is_err());
        assert_eq!(asked, 1);
    }

    #[test]
    fn a_step_failing_passingly_is_given_up_at_the_deadline() {
        let answer: Result<(), _> = retried(Instant::now(), |_| {
            Err(KafkaError::MetadataFetch(RDKafkaErrorCode::AllBrokersDown))
        });
        assert!(answer.is_err());
    }

    #[test]
    fn a_broker_away_is_outlived() {
        let away = KafkaError::MessageConsumption(RDKafkaErrorCode::BrokerTransportFailure);
        assert!(is_passing(&away));
    }

    #[test]
    fn a_leader_or_coordinator_on_the_move_is_outlived() {
        for code in [
            RDKafkaErrorCode::NotLeaderForPartition,
            RDKafkaErrorCode::LeaderNotAvailable,
            RDKafkaErrorCode::NotCoordinator,
            RDKafkaErrorCode::CoordinatorLoadInProgress,
        ] {
            assert!(is_passing(&KafkaError::MetadataFetch(code)), "{code:?}");
        }
    }

    #[test]
    fn a_refusal_or_a_missing_topic_is_not() {
        for code in [
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::UnknownTopicOrPartition,
            RDKafkaErrorCode::SaslAuthenticationFailed,
        ] {
            assert!(
                !is_passing(&KafkaError::MessageConsumption(code)),
                "{code:?}"
            );
        }
        assert!(!is_passing(&KafkaError::Canceled));
    }
}
