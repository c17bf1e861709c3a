//! Kafka helpers for tests: clients for the test bed's broker, topic creation through the admin
//! API, and reading back everything a topic holds (the independent check that nothing
//! acknowledged was lost).

use std::time::Duration;

use futures::StreamExt;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigSource, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::testbed::{TestBed, TestBedError};

const TIMEOUT: Duration = Duration::from_secs(15);

/// Why a Kafka helper failed.
#[derive(Debug, thiserror::Error)]
pub enum KafkaTestError {
    #[error(transparent)]
    TestBed(#[from] TestBedError),
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("creating topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("topic {topic}'s configs: {reason}")]
    TopicConfig { topic: String, reason: String },
    #[error("reading {topic}: only {read} of {expected} messages arrived within {timeout:?}")]
    Incomplete {
        topic: String,
        read: usize,
        expected: usize,
        timeout: Duration,
    },
}

/// Client settings for the test bed's broker.
pub fn client_config(bed: &TestBed) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &bed.kafka_bootstrap_servers);
    config
}

/// An admin client, once the broker has answered a metadata request.
pub async fn admin(bed: &TestBed) -> Result<AdminClient<DefaultClientContext>, KafkaTestError> {
    let admin: AdminClient<DefaultClientContext> = client_config(bed).create()?;
    let probe: StreamConsumer = client_config(bed).create()?;
    let address = bed.kafka_bootstrap_servers.clone();
    tokio::task::spawn_blocking(move || probe.fetch_metadata(None, Duration::from_secs(5)))
        .await
        .map_err(|_| KafkaError::Canceled)?
        .map_err(|error| bed.unreachable("kafka", address, error.to_string()))?;
    Ok(admin)
}

/// Creates a topic with `partitions`, the cluster's default replication factor (three on the test
/// bed) and optional topic configs (e.g. `cleanup.policy=compact`).
pub async fn create_topic(
    admin: &AdminClient<DefaultClientContext>,
    name: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> Result<(), KafkaTestError> {
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(-1));
    for (key, value) in configs {
        topic = topic.set(key, value);
    }
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    for result in admin.create_topics(&[topic], &options).await? {
        result.map_err(|(topic, code)| KafkaTestError::CreateTopic {
            topic,
            reason: code.to_string(),
        })?;
    }
    Ok(())
}

/// The configs set on `topic` itself (not the broker's or Kafka's defaults).
pub async fn topic_configs(
    bed: &TestBed,
    topic: &str,
) -> Result<std::collections::BTreeMap<String, String>, KafkaTestError> {
    let admin = admin(bed).await?;
    let options = AdminOptions::new().request_timeout(Some(TIMEOUT));
    let described = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &options)
        .await?;
    let mut configs = std::collections::BTreeMap::new();
    for resource in described {
        let resource = resource.map_err(|code| KafkaTestError::TopicConfig {
            topic: topic.to_owned(),
            reason: code.to_string(),
        })?;
        for entry in resource.entries {
            if let (ConfigSource::DynamicTopic, Some(value)) = (entry.source, entry.value) {
                configs.insert(entry.name, value);
            }
        }
    }
    Ok(configs)
}

/// Sets (`Some`) or removes (`None`) configs of `topic`, keeping the others set on it:
/// AlterConfigs replaces a topic's whole set, so the set is read first.
pub async fn change_topic_configs(
    bed: &TestBed,
    topic: &str,
    changes: &[(&str, Option<&str>)],
) -> Result<(), KafkaTestError> {
    let mut configs = topic_configs(bed, topic).await?;
    for (key, value) in changes {
        match value {
            Some(value) => configs.insert((*key).to_owned(), (*value).to_owned()),
            None => configs.remove(*key),
        };
    }
    let alter = configs.iter().fold(
        AlterConfig::new(ResourceSpecifier::Topic(topic)),
        |alter, (key, value)| alter.set(key, value),
    );
    let options = AdminOptions::new().request_timeout(Some(TIMEOUT));
    for result in admin(bed).await?.alter_configs([&alter], &options).await? {
        result.map_err(|(_, code)| KafkaTestError::TopicConfig {
            topic: topic.to_owned(),
            reason: format!("{changes:?} refused: {code}"),
        })?;
    }
    Ok(())
}

/// The number of partitions the broker reports for `topic`.
pub async fn partition_count(bed: &TestBed, topic: &str) -> Result<usize, KafkaTestError> {
    Ok(partitions(bed, topic).await?.len())
}

/// Each partition of `topic` (by index) with the id of the broker leading it (`-1` while
/// none does) and the ids of its in-sync replicas, as the cluster reports them now.
pub async fn partitions(
    bed: &TestBed,
    topic: &str,
) -> Result<Vec<PartitionReplicas>, KafkaTestError> {
    let consumer: StreamConsumer = client_config(bed).create()?;
    let topic = topic.to_owned();
    let metadata =
        tokio::task::spawn_blocking(move || consumer.fetch_metadata(Some(&topic), TIMEOUT))
            .await
            .map_err(|_| KafkaError::Canceled)??;
    let mut partitions: Vec<PartitionReplicas> = metadata
        .topics()
        .first()
        .map(|t| t.partitions())
        .unwrap_or_default()
        .iter()
        .map(|p| PartitionReplicas {
            partition: p.id(),
            leader: p.leader(),
            in_sync: p.isr().to_vec(),
        })
        .collect();
    partitions.sort_by_key(|p| p.partition);
    Ok(partitions)
}

/// One partition's leader and in-sync replicas (broker ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionReplicas {
    pub partition: i32,
    pub leader: i32,
    pub in_sync: Vec<i32>,
}

/// Reads every message of every partition of `topic`, from the beginning up to the high
/// watermarks as they are now. Uses no consumer group and commits nothing.
pub async fn read_all(
    bed: &TestBed,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<OwnedMessage>, KafkaTestError> {
    let consumer: StreamConsumer = client_config(bed)
        .set("group.id", "coffee-e2e-reader")
        .set("enable.auto.commit", "false")
        .create()?;
    let partitions = partition_count(bed, topic).await?;
    let mut list = TopicPartitionList::new();
    let mut expected = 0;
    for partition in 0..i32::try_from(partitions).unwrap_or(0) {
        let (low, high) = consumer.fetch_watermarks(topic, partition, TIMEOUT)?;
        expected += usize::try_from(high - low).unwrap_or(0);
        list.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    consumer.assign(&list)?;
    let mut messages = Vec::with_capacity(expected);
    let mut stream = consumer.stream();
    let deadline = tokio::time::Instant::now() + timeout;
    while messages.len() < expected {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(message)) => messages.push(message?.detach()),
            Ok(None) | Err(_) => {
                return Err(KafkaTestError::Incomplete {
                    topic: topic.to_owned(),
                    read: messages.len(),
                    expected,
                    timeout,
                });
            }
        }
    }
    Ok(messages)
}

/// The value of header `name` of `message`, as text.
pub fn header<'a>(message: &'a OwnedMessage, name: &str) -> Option<&'a str> {
    use rdkafka::message::Headers;
    message
        .headers()?
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| std::str::from_utf8(h.value?).ok())
}

/// One partition's offsets as an independent reader sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupPartition {
    pub partition: i32,
    pub low: i64,
    pub high: i64,
    pub committed: Option<i64>,
}

impl GroupPartition {
    /// Lag with the same edge cases as the operator's: no commit (or one below the log start)
    /// counts from the log start.
    pub fn lag(&self) -> i64 {
        let from = self
            .committed
            .filter(|&c| c >= self.low)
            .unwrap_or(self.low);
        (self.high - from).max(0)
    }
}

/// `group`'s committed offsets on `topic` and its watermarks, asked of the group coordinator
/// by a consumer handle in the group that never joins it: librdkafka's path, not the
/// operator's (`coffee-group-offsets`).
pub async fn group_offsets(
    bed: &TestBed,
    topic: &str,
    group: &str,
) -> Result<Vec<GroupPartition>, KafkaTestError> {
    GroupReader::new(bed, topic, group).await?.read().await
}

/// A reader of one group's offsets that keeps its client between reads.
pub struct GroupReader {
    consumer: std::sync::Arc<StreamConsumer>,
    topic: String,
    partitions: i32,
}

impl std::fmt::Debug for GroupReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupReader")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl GroupReader {
    pub async fn new(bed: &TestBed, topic: &str, group: &str) -> Result<Self, KafkaTestError> {
        let consumer: StreamConsumer = client_config(bed)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()?;
        Ok(Self {
            consumer: std::sync::Arc::new(consumer),
            topic: topic.to_owned(),
            partitions: i32::try_from(partition_count(bed, topic).await?).unwrap_or(0),
        })
    }

    pub async fn read(&self) -> Result<Vec<GroupPartition>, KafkaTestError> {
        let (consumer, topic, partitions) = (
            std::sync::Arc::clone(&self.consumer),
            self.topic.clone(),
            self.partitions,
        );
        let read = tokio::task::spawn_blocking(move || {
            let mut list = TopicPartitionList::new();
            for partition in 0..partitions {
                list.add_partition(&topic, partition);
            }
            let committed = consumer.committed_offsets(list, TIMEOUT)?;
            (0..partitions)
                .map(|partition| {
                    let (low, high) = consumer.fetch_watermarks(&topic, partition, TIMEOUT)?;
                    let committed = committed
                        .find_partition(&topic, partition)
                        .and_then(|e| e.offset().to_raw())
                        .filter(|&o| o >= 0);
                    Ok(GroupPartition {
                        partition,
                        low,
                        high,
                        committed,
                    })
                })
                .collect::<Result<Vec<_>, KafkaError>>()
        });
        Ok(read.await.map_err(|_| KafkaError::Canceled)??)
    }
}

/// The value of the newest record keyed `key` in `topic`, if any.
pub async fn last_value(
    bed: &TestBed,
    topic: &str,
    key: &str,
) -> Result<Option<String>, KafkaTestError> {
    let messages = read_all(bed, topic, Duration::from_secs(15)).await?;
    Ok(messages
        .iter()
        .rev()
        .find(|m| m.key() == Some(key.as_bytes()))
        .and_then(|m| m.payload())
        .map(|p| String::from_utf8_lossy(p).into_owned()))
}
