//! Every group's committed offsets, from following `__consumer_offsets` from its start on a
//! thread of its own: the group coordinator writes every commit there (Burrow reads the same).

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::consumer::Consumer;

use super::OffsetsConsumer;
use rdkafka::error::KafkaError;
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
                Ok(Some(partitions)) => {
                    info!(%brokers, partitions, "following the group coordinator's commits");
                    let mut table = commits
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    table.partitions = partitions;
                    table.caught_up = false;
                    assigned = true;
                }
                // No group has ever committed on this cluster: there is nothing to catch up on.
                Ok(None) => set_caught_up(commits),
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
            Some(Err(error)) => debug!(%brokers, %error, "reading __consumer_offsets"),
            Some(Ok(message)) => match commit_record::parse(message.key(), message.payload()) {
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
                Err(error) => debug!(%brokers, %error, "skipping a record"),
            },
        }
    }
}

fn set_caught_up(commits: &RwLock<CommitTable>) {
    commits
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .caught_up = true;
}

/// Assigns every partition of `__consumer_offsets` from its start; `None` if it does not exist.
fn assign_offsets_topic(consumer: &OffsetsConsumer) -> Result<Option<usize>, KafkaError> {
    let metadata = consumer.fetch_metadata(Some(OFFSETS_TOPIC), TIMEOUT)?;
    let Some(topic) = metadata
        .topics()
        .iter()
        .find(|t| t.name() == OFFSETS_TOPIC && t.error().is_none() && !t.partitions().is_empty())
    else {
        return Ok(None);
    };
    let mut list = TopicPartitionList::new();
    for partition in topic.partitions() {
        list.add_partition_offset(OFFSETS_TOPIC, partition.id(), Offset::Beginning)?;
    }
    consumer.assign(&list)?;
    Ok(Some(topic.partitions().len()))
}
