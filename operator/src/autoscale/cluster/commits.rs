//! Every group's committed offsets, from following `__consumer_offsets` from its start on a
//! thread of its own: the group coordinator writes every commit there (Burrow reads the same).

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::consumer::Consumer;

use super::OffsetsConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::{debug, info, warn};

use super::TIMEOUT;
use crate::autoscale::commit_record::{self, CommitKey, CommitRecord};

const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The latest commit of every group on the cluster, as read so far.
#[derive(Default)]
pub struct CommitTable {
    pub committed: HashMap<CommitKey, i64>,
    /// Partitions of `__consumer_offsets` read to their end at least once.
    ended: BTreeSet<i32>,
    partitions: usize,
    pub caught_up: bool,
    /// Why Kafka refused the follower the topic, while it does: without the ACLs on
    /// `__consumer_offsets` the follower would otherwise wait, or take the topic for one that
    /// never existed, without a word.
    pub refused: Option<String>,
}

/// Whether `code` says the principal lacks an ACL (rather than that something is missing or
/// down).
pub fn is_refusal(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::GroupAuthorizationFailed
            | RDKafkaErrorCode::ClusterAuthorizationFailed
    )
}

/// Reads every partition of `__consumer_offsets` from its start into `commits` until `stop`.
pub fn follow_commits(
    brokers: &str,
    consumer: &OffsetsConsumer,
    commits: &RwLock<CommitTable>,
    stop: &AtomicBool,
) {
    let mut assigned = false;
    let mut reported = false;
    while !stop.load(Ordering::Relaxed) {
        if !assigned {
            match assign_offsets_topic(consumer) {
                Ok(Offsets::Refused(code)) => {
                    if !reported {
                        warn!(%brokers, %code, "Kafka refuses the autoscaler __consumer_offsets; retrying");
                        reported = true;
                    }
                    refuse(commits, code);
                }
                Ok(Offsets::Partitions(partitions)) => {
                    info!(%brokers, partitions, "following the group coordinator's commits");
                    let mut table = commits
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    table.partitions = partitions;
                    table.caught_up = false;
                    assigned = true;
                }
                // No group has ever committed on this cluster: there is nothing to catch up on.
                Ok(Offsets::Absent) => set_caught_up(commits),
                Err(error) if !reported => {
                    warn!(%brokers, %error, "cannot follow the group coordinator's commits yet; retrying");
                    reported = true;
                }
                Err(_) => {}
            }
            if !assigned {
                std::thread::sleep(Duration::from_secs(2));
            }
            continue;
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                let mut table = commits
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                table.ended.insert(partition);
                if !table.caught_up && table.ended.len() >= table.partitions {
                    table.caught_up = true;
                    info!(%brokers, commits = table.committed.len(), "read every commit so far");
                }
            }
            Some(Err(error)) => match error.rdkafka_error_code().filter(|c| is_refusal(*c)) {
                Some(code) => refuse(commits, code),
                None => debug!(%brokers, %error, "reading __consumer_offsets"),
            },
            Some(Ok(message)) => {
                clear_refusal(commits);
                record(commits, &message);
            }
        }
    }
}

/// Applies one record of `__consumer_offsets` to the table.
fn record(commits: &RwLock<CommitTable>, message: &rdkafka::message::BorrowedMessage<'_>) {
    match commit_record::parse(message.key(), message.payload()) {
        Ok(CommitRecord::Committed { key, offset, .. }) => {
            let mut table = commits
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            table.committed.insert(key, offset);
        }
        Ok(CommitRecord::Deleted(key)) => {
            let mut table = commits
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            table.committed.remove(&key);
        }
        Ok(CommitRecord::Other) => {}
        Err(error) => debug!(%error, "skipping a record of __consumer_offsets"),
    }
}

/// Forgets a refusal once Kafka hands out records again (an ACL was added).
fn clear_refusal(commits: &RwLock<CommitTable>) {
    let refused = commits
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .refused
        .is_some();
    if refused {
        commits
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .refused = None;
    }
}

fn refuse(commits: &RwLock<CommitTable>, code: RDKafkaErrorCode) {
    let mut table = commits
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    table.refused = Some(code.to_string());
    table.caught_up = false;
}

fn set_caught_up(commits: &RwLock<CommitTable>) {
    commits
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .caught_up = true;
}

/// What became of assigning `__consumer_offsets`.
enum Offsets {
    /// Every partition, from its start.
    Partitions(usize),
    /// The topic does not exist (no group ever committed).
    Absent,
    /// Kafka refused the principal the topic.
    Refused(RDKafkaErrorCode),
}

/// Assigns every partition of `__consumer_offsets` from its start.
fn assign_offsets_topic(consumer: &OffsetsConsumer) -> Result<Offsets, KafkaError> {
    let metadata = consumer.fetch_metadata(Some(OFFSETS_TOPIC), TIMEOUT)?;
    let Some(topic) = metadata.topics().iter().find(|t| t.name() == OFFSETS_TOPIC) else {
        return Ok(Offsets::Absent);
    };
    if let Some(code) = topic.error().map(RDKafkaErrorCode::from) {
        return Ok(match is_refusal(code) {
            true => Offsets::Refused(code),
            false => Offsets::Absent,
        });
    }
    if topic.partitions().is_empty() {
        return Ok(Offsets::Absent);
    }
    let mut list = TopicPartitionList::new();
    for partition in topic.partitions() {
        list.add_partition_offset(OFFSETS_TOPIC, partition.id(), Offset::Beginning)?;
    }
    consumer.assign(&list)?;
    Ok(Offsets::Partitions(topic.partitions().len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_acl_is_a_refusal() {
        for code in [
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::GroupAuthorizationFailed,
            RDKafkaErrorCode::ClusterAuthorizationFailed,
        ] {
            assert!(is_refusal(code), "{code}");
        }
    }

    #[test]
    fn a_missing_topic_or_an_unreachable_broker_is_no_refusal() {
        for code in [
            RDKafkaErrorCode::UnknownTopicOrPartition,
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::RequestTimedOut,
        ] {
            assert!(!is_refusal(code), "{code}");
        }
    }
}
