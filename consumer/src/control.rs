//! Live worker count. The operator (or a person with kcat) writes `{"workers": N}` keyed by the
//! consumer group id to a small compacted control topic; every consumer process of the group
//! follows that topic from the beginning and resizes its pool within a second. A topic rather
//! than an HTTP call: the writer needs no pod addresses, pods started later read the current
//! value at start, and it works the same without Kubernetes.

use std::collections::BTreeSet;
use std::time::Duration;

use coffee_kafka::context::{AssignedReader, is_not_an_error_for_assigned_readers};
use futures::StreamExt as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde::Deserialize;
use tokio::sync::watch;
use tracing::{info, warn};

/// The body of a control record.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Control {
    workers: u32,
}

/// Why a control record was ignored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    #[error("control record is not {{\"workers\": N}}: {0}")]
    Malformed(String),
    #[error("control record asks for {asked} workers; allowed are 1 to {max}")]
    OutOfRange { asked: u32, max: u32 },
}

/// The worker count a control record sets for `group`: `None` when the record is for another
/// group or is a deletion (tombstone).
pub fn workers_from(
    key: Option<&[u8]>,
    payload: Option<&[u8]>,
    group: &str,
    max_workers: u32,
) -> Option<Result<u32, ControlError>> {
    if key != Some(group.as_bytes()) {
        return None;
    }
    let body = payload?;
    Some(
        serde_json::from_slice::<Control>(body)
            .map_err(|e| ControlError::Malformed(e.to_string()))
            .and_then(|control| match control.workers {
                n @ 1.. if n <= max_workers => Ok(n),
                asked => Err(ControlError::OutOfRange {
                    asked,
                    max: max_workers,
                }),
            }),
    )
}

/// Follows the control topic into `target` until the process ends.
pub struct Follower {
    /// Brokers and security settings.
    pub kafka: ClientConfig,
    pub topic: String,
    pub group: String,
    pub max_workers: u32,
    pub target: watch::Sender<u32>,
}

impl Follower {
    pub async fn run(self) {
        let mut reported_missing = false;
        loop {
            match self.follow().await {
                Ok(()) => return,
                Err(error) => {
                    if !reported_missing {
                        info!(topic = %self.topic, %error, "no control topic to follow yet; the worker count stays as configured until it exists");
                        reported_missing = true;
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    async fn follow(&self) -> Result<(), KafkaError> {
        let consumer: StreamConsumer<AssignedReader> = self
            .kafka
            .clone()
            .set("group.id", format!("{}-control-reader", self.group))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("queued.max.messages.kbytes", "1024")
            .set("fetch.wait.max.ms", "100")
            .create_with_context(AssignedReader)?;
        let mut assigned = BTreeSet::new();
        self.assign_new(&consumer, &mut assigned)?;
        let mut refresh = tokio::time::interval(Duration::from_secs(30));
        let mut stream = consumer.stream();
        loop {
            tokio::select! {
                _ = refresh.tick() => self.assign_new(&consumer, &mut assigned)?,
                message = stream.next() => match message {
                    None => return Ok(()),
                    Some(Err(error)) if is_not_an_error_for_assigned_readers(&error) => {}
                    Some(Err(error)) => warn!(topic = %self.topic, %error, "reading the control topic"),
                    Some(Ok(message)) => self.apply(message.key(), message.payload()),
                },
            }
        }
    }

    fn apply(&self, key: Option<&[u8]>, payload: Option<&[u8]>) {
        match workers_from(key, payload, &self.group, self.max_workers) {
            None => {}
            Some(Ok(workers)) => {
                if *self.target.borrow() != workers {
                    info!(workers, "the control topic sets the worker count");
                }
                self.target.send_replace(workers);
            }
            Some(Err(error)) => warn!(topic = %self.topic, %error, "ignoring a control record"),
        }
    }

    fn assign_new(
        &self,
        consumer: &StreamConsumer<AssignedReader>,
        assigned: &mut BTreeSet<i32>,
    ) -> Result<(), KafkaError> {
        let metadata = consumer.fetch_metadata(Some(&self.topic), Duration::from_secs(5))?;
        let mut list = TopicPartitionList::new();
        for topic in metadata.topics().iter().filter(|t| t.error().is_none()) {
            for partition in topic.partitions() {
                if assigned.insert(partition.id()) {
                    list.add_partition_offset(&self.topic, partition.id(), Offset::Beginning)?;
                }
            }
        }
        if assigned.is_empty() {
            return Err(KafkaError::MetadataFetch(
                rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition,
            ));
        }
        if list.count() > 0 {
            consumer.incremental_assign(&list)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(key: &str, body: &str) -> Option<Result<u32, ControlError>> {
        workers_from(
            Some(key.as_bytes()),
            Some(body.as_bytes()),
            "orders-processor",
            64,
        )
    }

    #[test]
    fn a_record_for_our_group_sets_the_workers() {
        assert_eq!(
            parse("orders-processor", r#"{"workers": 12}"#),
            Some(Ok(12))
        );
    }

    #[test]
    fn a_record_for_another_group_is_not_ours() {
        assert_eq!(parse("billing", r#"{"workers": 12}"#), None);
    }

    #[test]
    fn a_tombstone_changes_nothing() {
        assert_eq!(
            workers_from(Some(b"orders-processor"), None, "orders-processor", 64),
            None
        );
    }

    #[test]
    fn zero_or_too_many_workers_are_refused() {
        assert_eq!(
            parse("orders-processor", r#"{"workers": 0}"#),
            Some(Err(ControlError::OutOfRange { asked: 0, max: 64 }))
        );
        assert_eq!(
            parse("orders-processor", r#"{"workers": 65}"#),
            Some(Err(ControlError::OutOfRange { asked: 65, max: 64 }))
        );
    }

    #[test]
    fn a_malformed_record_is_refused() {
        assert!(matches!(
            parse("orders-processor", "twelve"),
            Some(Err(ControlError::Malformed(_)))
        ));
    }
}
