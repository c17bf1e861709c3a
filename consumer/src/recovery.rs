//! What a new owner of a partition must know before processing it: which of the orders it is
//! about to receive again were already finished by the previous owner. Every commit carries, as
//! metadata, a time before which no status of a message at or after the commit position can
//! have been written; the new owner reads the status topic from that time (minus a margin for
//! clock skew) and remembers every order with a final status.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use coffee_events::status::StatusEvent;
use coffee_kafka::context::{AssignedReader, is_not_an_error_for_assigned_readers};
use coffee_kafka::passing::{is_passing, retried};
use coffee_kafka::prefetch::{self, Appetite};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use uuid::Uuid;

const PREFIX: &str = "status-since-ms=";

/// Allowance for clocks of producers and consumers that disagree.
pub const CLOCK_SKEW_MARGIN: Duration = Duration::from_secs(60);

/// The commit metadata for a position whose statuses were all written after `since_ms`.
pub fn metadata(since_ms: i64) -> String {
    format!("{PREFIX}{since_ms}")
}

/// Reads [`metadata`]; anything else (another client's commit, none) gives `None`.
pub fn parse_metadata(metadata: &str) -> Option<i64> {
    metadata.strip_prefix(PREFIX)?.parse().ok()
}

/// The orders with a final status written to `status_topic` since `since_ms`, read up to the
/// end of each partition as it was when the scan began; at most the `keep` read last, as the
/// consumer remembers no more.
pub fn finished_since(
    kafka: &ClientConfig,
    status_topic: &str,
    since_ms: i64,
    timeout: Duration,
    keep: usize,
) -> Result<VecDeque<Uuid>, KafkaError> {
    let mut client = kafka.clone();
    client
        .set("group.id", "coffee-consumer-recovery")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    // A whole status topic is read when the group never committed: ~160 MiB of RSS for 500,000
    // statuses with librdkafka's default fetches.
    let consumer: BaseConsumer<AssignedReader> =
        prefetch::bounded(&mut client, Appetite::Workers).create_with_context(AssignedReader)?;
    // A broker away or a leader moving (a rolling restart) delays the read; it does not end it.
    let deadline = Instant::now() + timeout;
    let metadata = retried(deadline, |left| {
        consumer.fetch_metadata(Some(status_topic), left)
    })?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut query = TopicPartitionList::new();
    for &partition in &partitions {
        query.add_partition_offset(status_topic, partition, Offset::Offset(since_ms))?;
    }
    let starts = retried(deadline, |left| {
        consumer.offsets_for_times(query.clone(), left)
    })?;
    let mut ends: HashMap<i32, i64> = HashMap::new();
    let mut assignment = TopicPartitionList::new();
    for element in starts.elements() {
        let (_, high) = retried(deadline, |left| {
            consumer.fetch_watermarks(status_topic, element.partition(), left)
        })?;
        // No status at or after the time: offsets_for_times answers End.
        let start = match element.offset() {
            Offset::Offset(offset) => offset,
            _ => high,
        };
        if start < high {
            ends.insert(element.partition(), high);
            assignment.add_partition_offset(
                status_topic,
                element.partition(),
                Offset::Offset(start),
            )?;
        }
    }
    let mut finished = VecDeque::new();
    if ends.is_empty() {
        return Ok(finished);
    }
    consumer.assign(&assignment)?;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            return Err(KafkaError::MessageConsumption(
                rdkafka::types::RDKafkaErrorCode::OperationTimedOut,
            ));
        }
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = match message {
            Ok(message) => message,
            Err(error) if is_passing(&error) || is_not_an_error_for_assigned_readers(&error) => {
                continue;
            }
            Err(error) => return Err(error),
        };
        if let Some(event) = message
            .payload()
            .and_then(|body| StatusEvent::decode(body).ok())
            && event.status.is_final()
        {
            remember_last(&mut finished, event.order_id, keep);
        }
        if ends
            .get(&message.partition())
            .is_some_and(|&end| message.offset() + 1 >= end)
        {
            ends.remove(&message.partition());
        }
    }
    Ok(finished)
}

/// Appends `id`, forgetting the oldest so that at most `keep` (at least one) remain.
fn remember_last(ids: &mut VecDeque<Uuid>, id: Uuid, keep: usize) {
    while ids.len() >= keep.max(1) {
        ids.pop_front();
    }
    ids.push_back(id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_orders_read_last_are_kept() {
        let mut ids = VecDeque::new();
        (1..=5).for_each(|n| remember_last(&mut ids, Uuid::from_u128(n), 3));
        assert_eq!(ids, [3, 4, 5].map(Uuid::from_u128));
    }

    #[test]
    fn metadata_round_trips() {
        assert_eq!(
            parse_metadata(&metadata(1_700_000_000_123)),
            Some(1_700_000_000_123)
        );
    }

    #[test]
    fn foreign_or_missing_metadata_is_ignored() {
        assert_eq!(parse_metadata(""), None);
        assert_eq!(parse_metadata("committed by kafka-consumer-groups"), None);
        assert_eq!(parse_metadata("status-since-ms=soon"), None);
    }
}
