//! The owner record on the broker: one message keyed [`OWNER_KEY`] on the pipeline's compacted
//! control topic, so that it outlives the operator and the pipeline's status, and anyone with
//! `kcat` can see which pipeline a topic belongs to.

use std::time::{Duration, Instant};

use coffee_kafka::context::{AssignedReader, is_not_an_error_for_assigned_readers};
use coffee_kafka::security::Security;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::kafka::client_config;
use crate::reconcile::ownership::{OWNER_KEY, Owner};

/// How long reading or writing the record may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why the record could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{action} the owner record on topic {topic}: {reason}")]
pub struct OwnerRecordError {
    pub action: &'static str,
    pub topic: String,
    pub reason: String,
}

/// The latest owner record on `control`; `None` when the topic holds none (or does not exist).
pub async fn read(
    brokers: &str,
    security: &Security,
    control: &str,
) -> Result<Option<Owner>, OwnerRecordError> {
    let config = client_config(brokers, security);
    let topic = control.to_owned();
    tokio::task::spawn_blocking(move || read_blocking(&config, &topic))
        .await
        .map_err(|e| error("reading", control, e.to_string()))?
}

fn read_blocking(
    config: &rdkafka::ClientConfig,
    control: &str,
) -> Result<Option<Owner>, OwnerRecordError> {
    let failed = |e: KafkaError| error("reading", control, explain(&e));
    let consumer: BaseConsumer<AssignedReader> = config
        .clone()
        .set("group.id", "coffee-operator-owner-reader")
        .set("enable.auto.commit", "false")
        .create_with_context(AssignedReader)
        .map_err(failed)?;
    // Only a topic that does not exist holds no record: any other failure (a timeout, no
    // leader, no authorization) is an error, never "nobody owns it".
    let (low, high) = match consumer.fetch_watermarks(control, 0, TIMEOUT) {
        Ok(marks) => marks,
        Err(e) if is_unknown_topic(&e) => return Ok(None),
        Err(e) => return Err(failed(e)),
    };
    if high <= low {
        return Ok(None);
    }
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(control, 0, Offset::Offset(low))
        .map_err(failed)?;
    consumer.assign(&assignment).map_err(failed)?;
    let deadline = Instant::now() + TIMEOUT;
    let mut owner = None;
    while Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = match message {
            Ok(message) => message,
            Err(e) if is_not_an_error_for_assigned_readers(&e) => continue,
            Err(e) => return Err(failed(e)),
        };
        if message.key() == Some(OWNER_KEY.as_bytes()) {
            owner = message
                .payload()
                .and_then(|body| serde_json::from_slice::<Owner>(body).ok());
        }
        if message.offset() + 1 >= high {
            return Ok(owner);
        }
    }
    Err(error(
        "reading",
        control,
        format!("not read to its end (offset {high}) within {TIMEOUT:?}"),
    ))
}

/// Records `owner` on `control`, acknowledged by the brokers.
pub async fn write(
    brokers: &str,
    security: &Security,
    control: &str,
    owner: &Owner,
) -> Result<(), OwnerRecordError> {
    let producer: FutureProducer = client_config(brokers, security)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", TIMEOUT.as_millis().to_string())
        .create()
        .map_err(|e| error("writing", control, e.to_string()))?;
    let body = serde_json::to_vec(owner).map_err(|e| error("writing", control, e.to_string()))?;
    producer
        .send(
            FutureRecord::to(control).key(OWNER_KEY).payload(&body),
            TIMEOUT,
        )
        .await
        .map_err(|(e, _)| error("writing", control, explain(&e)))?;
    Ok(())
}

/// The error, saying so when it means Kafka did not answer at all.
fn explain(error: &KafkaError) -> String {
    use rdkafka::types::RDKafkaErrorCode::{
        AllBrokersDown, BrokerTransportFailure, MessageTimedOut, OperationTimedOut, Resolve,
    };
    let silent = matches!(
        error.rdkafka_error_code(),
        Some(
            AllBrokersDown | BrokerTransportFailure | MessageTimedOut | OperationTimedOut | Resolve
        )
    ) || matches!(
        error,
        KafkaError::MetadataFetch(AllBrokersDown | OperationTimedOut)
    );
    match silent {
        true => format!("Kafka is unreachable ({error})"),
        false => error.to_string(),
    }
}

fn is_unknown_topic(error: &KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode::{
        UnknownPartition, UnknownTopic, UnknownTopicOrPartition,
    };
    matches!(
        error,
        KafkaError::MetadataFetch(UnknownTopicOrPartition | UnknownTopic | UnknownPartition)
    ) || error.rdkafka_error_code() == Some(UnknownTopicOrPartition)
}

fn error(action: &'static str, topic: &str, reason: String) -> OwnerRecordError {
    OwnerRecordError {
        action,
        topic: topic.to_owned(),
        reason,
    }
}
