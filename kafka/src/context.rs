//! The client context of readers that ask librdkafka for end-of-partition events
//! (`enable.partition.eof`): the producer's view followers learn from them that they have caught up. librdkafka also reports each one as a global
//! error, which the default context logs at ERROR — several lines a second from a healthy
//! reader. This context logs those at DEBUG and every other error as the default does.

use rdkafka::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// For readers that expect to reach the end of their partitions.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReachesPartitionEnds;

impl ClientContext for ReachesPartitionEnds {
    fn error(&self, error: KafkaError, reason: &str) {
        if is_partition_end(&error) {
            tracing::debug!(%reason, "reached the end of a partition");
        } else {
            tracing::error!(%error, %reason, "librdkafka error");
        }
    }
}

impl ConsumerContext for ReachesPartitionEnds {}

/// Whether `error` only says a reader reached the end of a partition.
pub fn is_partition_end(error: &KafkaError) -> bool {
    matches!(error, KafkaError::PartitionEOF(_))
        || error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF)
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
    fn other_errors_are_errors() {
        assert!(!is_partition_end(&KafkaError::Global(
            RDKafkaErrorCode::BrokerTransportFailure
        )));
        assert!(!is_partition_end(&KafkaError::Canceled));
    }
}
