//! The client context of readers that assign themselves partitions and read them from an
//! offset of their own (the intake's view followers, the consumer's control and recovery
//! readers, the operator's owner-record reader). Two things librdkafka reports to them as
//! errors are none, and the default context would log each at ERROR:
//!
//! - the end of a partition (`enable.partition.eof`): the view followers learn from it that
//!   they have caught up;
//! - a refused lookup of their group's coordinator: librdkafka needs a `group.id` to assign
//!   partitions and looks its coordinator up, though such a reader never joins or commits. A
//!   tenant granted only the ACLs its part needs (README, "Kafka ACLs") has none for that group.
//!
//! This context logs those at DEBUG and every other error as the default does; the readers
//! skip them where `poll` returns them ([`is_not_an_error_for_assigned_readers`]).

use rdkafka::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// For readers that assign partitions themselves and never use their group.
#[derive(Debug, Clone, Copy, Default)]
pub struct AssignedReader;

impl ClientContext for AssignedReader {
    fn error(&self, error: KafkaError, reason: &str) {
        if is_partition_end(&error) {
            tracing::debug!(%reason, "reached the end of a partition");
        } else if is_unused_group_refusal(&error) {
            tracing::debug!(%reason, "the unused group's coordinator may not be looked up");
        } else {
            tracing::error!(%error, %reason, "librdkafka error");
        }
    }
}

impl ConsumerContext for AssignedReader {}

/// Whether `error` only says a reader reached the end of a partition.
pub fn is_partition_end(error: &KafkaError) -> bool {
    matches!(error, KafkaError::PartitionEOF(_))
        || error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF)
}

/// Whether `error`, met by a reader that assigns itself partitions, is only the refusal to
/// look up the coordinator of the group it never uses.
pub fn is_unused_group_refusal(error: &KafkaError) -> bool {
    error.rdkafka_error_code() == Some(RDKafkaErrorCode::GroupAuthorizationFailed)
}

/// Whether `poll` returning `error` to a reader that assigns itself partitions says nothing
/// about its reading: the end of a partition, or its unused group's coordinator refused.
pub fn is_not_an_error_for_assigned_readers(error: &KafkaError) -> bool {
    is_partition_end(error) || is_unused_group_refusal(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_partition_is_not_an_error() {
        assert!(is_partition_end(&KafkaError::Global(
            RDKafkaErrorCode::PartitionEOF
        )));
        assert!(is_partition_end(&KafkaError::PartitionEOF(3)));
    }

    #[test]
    fn the_refused_lookup_of_an_unused_group_is_not_an_error() {
        let refused = KafkaError::MessageConsumption(RDKafkaErrorCode::GroupAuthorizationFailed);
        assert!(is_not_an_error_for_assigned_readers(&refused));
    }

    #[test]
    fn other_errors_are_errors() {
        for error in [
            KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure),
            KafkaError::MessageConsumption(RDKafkaErrorCode::TopicAuthorizationFailed),
            KafkaError::Canceled,
        ] {
            assert!(!is_not_an_error_for_assigned_readers(&error), "{error:?}");
        }
    }
}
