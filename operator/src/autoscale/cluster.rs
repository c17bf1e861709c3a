//! The autoscaler's Kafka clients: one set per cluster, shared by every pipeline on it.
//!
//! - Committed offsets come from following `__consumer_offsets`, where the group coordinator
//!   writes every commit of every group (what Burrow reads): one consumer serves all groups,
//!   where asking for a group's offsets would need a client inside each group (rust-rdkafka
//!   has no admin call for it). The operator's Kafka user needs read access to that topic.
//! - Log-start and log-end offsets come from list-offsets requests on the same consumer, as a
//!   `read_committed` reader sees them (librdkafka's default isolation level).
//! - Whether a group has live members comes from describing it, only when a stall is suspected.
//! - Worker counts go to the pipeline's control topic through one producer.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use coffee_kafka_security::Security;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tracing::{debug, info, warn};

use super::commit_record::{self, CommitKey, CommitRecord};
use super::lag::PartitionOffsets;
use crate::kafka::client_config;

const OFFSETS_TOPIC: &str = "__consumer_offsets";
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why the autoscaler could not read or write Kafka.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A client could not be created from the settings.
    #[error("creating a Kafka client for {brokers}: {source}")]
    Client {
        brokers: String,
        source: Box<KafkaError>,
    },
    /// Listing a topic's offsets failed.
    #[error("reading the offsets of topic {topic} from Kafka at {brokers}: {source}")]
    Offsets {
        brokers: String,
        topic: String,
        source: Box<KafkaError>,
    },
    /// Describing a consumer group failed.
    #[error("describing consumer group {group} at {brokers}: {source}")]
    Group {
        brokers: String,
        group: String,
        source: Box<KafkaError>,
    },
    /// Writing a worker count to the control topic failed.
    #[error("writing {workers} workers for group {group} to topic {topic} at {brokers}: {source}")]
    Control {
        brokers: String,
        topic: String,
        group: String,
        workers: i32,
        source: Box<KafkaError>,
    },
}

/// The clients of every cluster in use, keyed by everything that makes a connection (so a
/// rotated password gets new clients).
#[derive(Default)]
pub struct Clusters {
    clusters: Mutex<HashMap<(String, Security), Arc<Cluster>>>,
}

impl Clusters {
    pub fn get(&self, brokers: &str, security: &Security) -> Result<Arc<Cluster>, ClusterError> {
        let mut clusters = self
            .clusters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (brokers.to_owned(), security.clone());
        if let Some(cluster) = clusters.get(&key) {
            return Ok(Arc::clone(cluster));
        }
        let cluster = Arc::new(Cluster::connect(brokers, security)?);
        clusters.insert(key, Arc::clone(&cluster));
        Ok(cluster)
    }

    /// Drops the clients no pipeline holds any more.
    pub fn prune(&self) {
        self.clusters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, cluster| Arc::strong_count(cluster) > 1);
    }
}

/// The latest commit of every group on the cluster, as read so far.
#[derive(Default)]
struct CommitTable {
    committed: HashMap<CommitKey, i64>,
    /// Partitions of `__consumer_offsets` read to their end at least once.
    ended: BTreeSet<i32>,
    partitions: usize,
    caught_up: bool,
}

/// The clients of one Kafka cluster.
pub struct Cluster {
    brokers: String,
    consumer: Arc<BaseConsumer>,
    producer: FutureProducer,
    commits: Arc<RwLock<CommitTable>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Cluster {
    fn connect(brokers: &str, security: &Security) -> Result<Self, ClusterError> {
        let client_error = |source: KafkaError| ClusterError::Client {
            brokers: brokers.to_owned(),
            source: Box::new(source),
        };
        let consumer: BaseConsumer = client_config(brokers, security)
            .set("group.id", "coffee-operator-offsets-reader")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            // Commits are small; a bounded prefetch keeps a large offsets topic out of memory.
            .set("queued.max.messages.kbytes", "2048")
            .set("fetch.wait.max.ms", "100")
            .create()
            .map_err(client_error)?;
        let producer: FutureProducer = client_config(brokers, security)
            .set("linger.ms", "0")
            .set("enable.idempotence", "true")
            .create()
            .map_err(client_error)?;
        let consumer = Arc::new(consumer);
        let commits = Arc::new(RwLock::new(CommitTable::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let follower = {
            let (consumer, commits, stop) = (consumer.clone(), commits.clone(), stop.clone());
            let brokers = brokers.to_owned();
            move || follow_commits(&brokers, &consumer, &commits, &stop)
        };
        std::thread::Builder::new()
            .name("commit-follower".into())
            .spawn(follower)
            .map_err(|e| client_error(KafkaError::ClientCreation(e.to_string())))?;
        Ok(Self {
            brokers: brokers.to_owned(),
            consumer,
            producer,
            commits,
            stop,
        })
    }

    /// Whether every commit written before the follower started has been read: until then a
    /// group's committed offsets may be older than Kafka's.
    pub fn caught_up(&self) -> bool {
        self.commits
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .caught_up
    }

    /// Log-start, stable log-end and `group`'s committed offset of partitions 0..`partitions`.
    pub async fn offsets(
        &self,
        topic: &str,
        partitions: i32,
        group: &str,
    ) -> Result<Vec<PartitionOffsets>, ClusterError> {
        let error = |source: KafkaError| ClusterError::Offsets {
            brokers: self.brokers.clone(),
            topic: topic.to_owned(),
            source: Box::new(source),
        };
        let list = |at: Offset| -> Result<TopicPartitionList, KafkaError> {
            let mut list = TopicPartitionList::new();
            for partition in 0..partitions {
                list.add_partition_offset(topic, partition, at)?;
            }
            Ok(list)
        };
        let (starts, ends) = (
            list(Offset::Beginning).map_err(error)?,
            list(Offset::End).map_err(error)?,
        );
        let consumer = Arc::clone(&self.consumer);
        let (starts, ends) = tokio::task::spawn_blocking(move || {
            Ok::<_, KafkaError>((
                consumer.offsets_for_times(starts, TIMEOUT)?,
                consumer.offsets_for_times(ends, TIMEOUT)?,
            ))
        })
        .await
        .map_err(|_| error(KafkaError::Canceled))?
        .map_err(error)?;
        let commits = self
            .commits
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (0..partitions)
            .map(|partition| {
                let offset = |list: &TopicPartitionList| match list.find_partition(topic, partition)
                {
                    Some(element) => {
                        element.error().map_err(error)?;
                        match element.offset() {
                            Offset::Offset(offset) => Ok(offset),
                            _ => Ok(0),
                        }
                    }
                    None => Err(error(KafkaError::OffsetFetch(
                        rdkafka::types::RDKafkaErrorCode::UnknownPartition,
                    ))),
                };
                let key = CommitKey {
                    group: group.to_owned(),
                    topic: topic.to_owned(),
                    partition,
                };
                Ok(PartitionOffsets {
                    partition,
                    start: offset(&starts)?,
                    end: offset(&ends)?,
                    committed: commits.committed.get(&key).copied(),
                })
            })
            .collect()
    }

    /// Whether `group` has members (it may be rebalancing); `false` for an empty or unknown one.
    pub async fn group_alive(&self, group: &str) -> Result<bool, ClusterError> {
        let consumer = Arc::clone(&self.consumer);
        let name = group.to_owned();
        tokio::task::spawn_blocking(move || {
            let groups = consumer.fetch_group_list(Some(&name), Duration::from_secs(5))?;
            Ok(groups
                .groups()
                .iter()
                .any(|g| g.name() == name && !g.members().is_empty() && g.state() != "Dead"))
        })
        .await
        .map_err(|_| KafkaError::Canceled)
        .and_then(|result| result)
        .map_err(|source| ClusterError::Group {
            brokers: self.brokers.clone(),
            group: group.to_owned(),
            source: Box::new(source),
        })
    }

    /// Sets the live worker count of `group`'s consumers; they follow within about a second.
    pub async fn set_workers(
        &self,
        control_topic: &str,
        group: &str,
        workers: i32,
    ) -> Result<(), ClusterError> {
        let payload = format!("{{\"workers\": {workers}}}");
        let record = FutureRecord::to(control_topic).key(group).payload(&payload);
        self.producer
            .send(record, TIMEOUT)
            .await
            .map(|_| ())
            .map_err(|(source, _)| ClusterError::Control {
                brokers: self.brokers.clone(),
                topic: control_topic.to_owned(),
                group: group.to_owned(),
                workers,
                source: Box::new(source),
            })
    }
}

/// Reads every partition of `__consumer_offsets` from its start into `commits` until `stop`.
fn follow_commits(
    brokers: &str,
    consumer: &BaseConsumer,
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
fn assign_offsets_topic(consumer: &BaseConsumer) -> Result<Option<usize>, KafkaError> {
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
