//! Why an event was not published, and which failures may have reached the log all the same.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Why an event was not published. Nothing was acknowledged in any of these cases; only
/// [`PublishError::Unconfirmed`] events may still be in the log.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// librdkafka's bounded queue is full: the broker is slower than the arrivals.
    #[error("too many orders are waiting for Kafka; retry shortly")]
    QueueFull,
    /// The last metadata request to the cluster failed, or it has not answered yet.
    #[error("Kafka is unreachable: {0}")]
    Unreachable(String),
    /// The broker refused the event.
    #[error("Kafka did not acknowledge the event: {0}")]
    NotAcknowledged(KafkaError),
    /// The event was sent but its acknowledgement never came (the broker went away, the
    /// delivery timed out): the broker may have appended it. Telling the client it was refused
    /// would be a lie — a broker stopped under load showed one such order brewed.
    #[error("Kafka did not confirm the event in time; it may or may not have been taken: {0}")]
    Unconfirmed(KafkaError),
}

impl PublishError {
    /// The error for a failed delivery: [`PublishError::Unconfirmed`] when the broker may
    /// have appended the event anyway.
    pub(super) fn of_delivery(error: KafkaError) -> Self {
        if may_be_persisted(&error) {
            PublishError::Unconfirmed(error)
        } else {
            PublishError::NotAcknowledged(error)
        }
    }

    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            PublishError::QueueFull => "queue_full",
            PublishError::Unreachable(_) => "unreachable",
            PublishError::NotAcknowledged(_) => "not_acknowledged",
            PublishError::Unconfirmed(_) => "unconfirmed",
        }
    }
}

/// Whether an event whose delivery failed with `error` may be in the log all the same:
/// librdkafka's own per-message verdict (`rd_kafka_message_status`) is not in the safe API, so
/// the errors that can follow a request the broker received are taken as possibly persisted.
fn may_be_persisted(error: &KafkaError) -> bool {
    use RDKafkaErrorCode::{
        AllBrokersDown, BrokerTransportFailure, MessageTimedOut, NotEnoughReplicasAfterAppend,
        RequestTimedOut,
    };
    matches!(error, KafkaError::Canceled)
        || matches!(
            error.rdkafka_error_code(),
            Some(
                MessageTimedOut
                    | RequestTimedOut
                    | BrokerTransportFailure
                    | AllBrokersDown
                    | NotEnoughReplicasAfterAppend
            )
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_that_timed_out_may_be_in_the_log() {
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(matches!(
            PublishError::of_delivery(timed_out),
            PublishError::Unconfirmed(_)
        ));
        assert!(may_be_persisted(&KafkaError::Canceled));
    }

    #[test]
    fn an_event_the_broker_refused_is_not_in_the_log() {
        for code in [
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::NotEnoughReplicas,
        ] {
            let refused = KafkaError::MessageProduction(code);
            assert!(matches!(
                PublishError::of_delivery(refused),
                PublishError::NotAcknowledged(_)
            ));
        }
    }
}
