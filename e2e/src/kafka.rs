//! Kafka helpers for tests: clients for the test bed's broker, topic creation through the admin
//! API, and reading back everything a topic holds (the independent check that nothing
//! acknowledged was lost).

use std::time::Duration;

use futures::StreamExt;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
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

/// Creates a topic with `partitions` and optional topic configs (e.g. `cleanup.policy=compact`).
pub async fn create_topic(
    admin: &AdminClient<DefaultClientContext>,
    name: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> Result<(), KafkaTestError> {
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
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

/// The number of partitions the broker reports for `topic`.
pub async fn partition_count(bed: &TestBed, topic: &str) -> Result<usize, KafkaTestError> {
    let consumer: StreamConsumer = client_config(bed).create()?;
    let topic = topic.to_owned();
    let metadata =
        tokio::task::spawn_blocking(move || consumer.fetch_metadata(Some(&topic), TIMEOUT))
            .await
            .map_err(|_| KafkaError::Canceled)??;
    Ok(metadata
        .topics()
        .first()
        .map_or(0, |t| t.partitions().len()))
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
