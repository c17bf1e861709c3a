//! The autoscaler's Kafka clients: one set per cluster, shared by every pipeline on it.
//!
//! - Committed offsets come from asking each group's coordinator (OffsetFetch, through
//!   `coffee-group-offsets`: rust-rdkafka has no call for it), for the watched groups only and
//!   with `Describe` on them and their topics. Following `__consumer_offsets` instead, as before
//!   (and as Burrow does), needed `Read` on every group's commits and kept them all in memory.
//! - Log-start and log-end offsets come from list-offsets requests on one consumer, as a
//!   `read_committed` reader sees them (librdkafka's default isolation level), in one round a
//!   second for every pipeline on the cluster.
//! - Whether a group has live members comes from describing it, only when a stall is suspected.
//! - Worker counts go to the pipeline's control topic through one producer.

mod log_offsets;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coffee_group_offsets::{FetchError, GroupOffsets};
use coffee_kafka::security::Security;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::lag::PartitionOffsets;
use crate::kafka::client_config;
use log_offsets::LogOffsets;

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
    /// The reader of committed offsets cannot be made from the settings.
    #[error("setting up the committed-offsets reader for {brokers}: {source}")]
    CommitsReader { brokers: String, source: FetchError },
    /// Reading a group's committed offsets failed; an ACL refusal names the ACL.
    #[error("reading the committed offsets of group {group} at {brokers}: {source}")]
    Commits {
        brokers: String,
        group: String,
        source: FetchError,
    },
    /// Listing a topic's offsets failed.
    #[error("reading the offsets of topic {topic} from Kafka at {brokers}: {reason}")]
    Offsets {
        brokers: String,
        topic: String,
        reason: String,
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

/// The lister of log-start and log-end offsets (it never subscribes).
pub(crate) type OffsetsConsumer = BaseConsumer;

/// The clients of one Kafka cluster.
pub struct Cluster {
    brokers: String,
    consumer: Arc<OffsetsConsumer>,
    producer: FutureProducer,
    commits: GroupOffsets,
    log_offsets: Arc<LogOffsets>,
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
        let consumer: OffsetsConsumer = client_config(brokers, security)
            .create()
            .map_err(client_error)?;
        let commits =
            GroupOffsets::new(brokers, security).map_err(|source| ClusterError::CommitsReader {
                brokers: brokers.to_owned(),
                source,
            })?;
        let producer: FutureProducer = client_config(brokers, security)
            .set("linger.ms", "0")
            .set("enable.idempotence", "true")
            .create()
            .map_err(client_error)?;
        let consumer = Arc::new(consumer);
        let stop = Arc::new(AtomicBool::new(false));
        let log_offsets = Arc::new(LogOffsets::new());
        let lister = {
            let (consumer, log_offsets, stop) =
                (consumer.clone(), log_offsets.clone(), stop.clone());
            move || log_offsets.run(&consumer, &stop)
        };
        std::thread::Builder::new()
            .name("log-offsets".into())
            .spawn(lister)
            .map_err(|e| client_error(KafkaError::ClientCreation(e.to_string())))?;
        Ok(Self {
            brokers: brokers.to_owned(),
            consumer,
            producer,
            commits,
            log_offsets,
            stop,
        })
    }

    /// Log-start, stable log-end and `group`'s committed offset of partitions 0..`partitions`,
    /// from a round of list-offsets requests that began after this call and the group's
    /// coordinator asked right after, and the messages per second that arrived on each partition
    /// in the second before it.
    pub async fn offsets(
        &self,
        topic: &str,
        partitions: i32,
        group: &str,
    ) -> Result<(Vec<PartitionOffsets>, Option<Vec<f64>>), ClusterError> {
        let listed = self
            .log_offsets
            .get(topic, partitions)
            .await
            .map_err(|reason| ClusterError::Offsets {
                brokers: self.brokers.clone(),
                topic: topic.to_owned(),
                reason,
            })?;
        // Asked after the log ends were listed, so a commit is never older than the ends by
        // more than the request's round trip (lag is not overstated by a round's arrivals).
        let committed = self.commits.committed(group, topic, partitions).await;
        let committed = committed.map_err(|source| ClusterError::Commits {
            brokers: self.brokers.clone(),
            group: group.to_owned(),
            source,
        })?;
        let offsets = (0..partitions)
            .zip(listed.bounds)
            .zip(committed)
            .map(|((partition, (start, end)), committed)| PartitionOffsets {
                partition,
                start,
                end,
                committed,
            })
            .collect();
        Ok((offsets, listed.arriving))
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
