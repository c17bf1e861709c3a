//! Everything the consumer writes to Kafka: status events and dead letters, through one
//! idempotent producer. A message finishes its source offset only when the broker has
//! acknowledged it, so a commit never runs ahead of the outcome it stands for.

use std::sync::Arc;
use std::time::Duration;

use coffee_events::headers;
use coffee_events::status::StatusEvent;
use coffee_kafka::headers::{event_headers, text};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext};
use tokio::sync::mpsc;
use tracing::warn;
use uuid::Uuid;

use crate::state::{Job, Shared, Source};

/// What a message's acknowledgement settles.
#[derive(Debug)]
pub enum Delivery {
    /// Informational (e.g. `processing`): nothing waits for it.
    Untracked,
    /// The outcome of the message at `source`; its offset is finished once acknowledged.
    Finishes {
        source: Source,
        /// The order to try again if Kafka does not take the outcome.
        retry: Option<Box<Job>>,
    },
}

/// Settles deliveries on librdkafka's delivery thread.
pub struct Deliveries {
    shared: Arc<Shared>,
    retries: mpsc::UnboundedSender<Job>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = Box<Delivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, delivery: Box<Delivery>) {
        self.settle(*delivery, result.as_ref().err().map(|(error, _)| error));
    }
}

impl Deliveries {
    /// Finishes the source offset of an acknowledged outcome, or hands the order back for
    /// another attempt when Kafka did not take it.
    fn settle(&self, delivery: Delivery, error: Option<&KafkaError>) {
        {
            let mut liveness = self
                .shared
                .liveness
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match error {
                None => liveness.delivered(),
                Some(_) => liveness.delivery_failed(std::time::Instant::now()),
            }
        }
        match (delivery, error) {
            (Delivery::Untracked, None) => {}
            (Delivery::Untracked, Some(error)) => {
                self.shared.metrics.delivery_failures.inc();
                warn!(%error, "an informational status event was not written");
            }
            (Delivery::Finishes { source, .. }, None) => {
                self.shared.finish(source);
            }
            (Delivery::Finishes { source, retry }, Some(error)) => {
                self.shared.metrics.delivery_failures.inc();
                warn!(%error, partition = source.partition, offset = source.offset, "an outcome was not written; the message stays unfinished");
                if let Some(mut job) = retry {
                    job.failed_attempts += 1;
                    // The receiver lives as long as the pool; if it is gone we are shutting
                    // down and the offset stays uncommitted, so the order is redelivered.
                    let _ = self.retries.send(*job);
                }
            }
        }
    }
}

/// A record the outbox writes.
pub struct Outgoing<'a> {
    pub topic: &'a str,
    pub key: Option<&'a [u8]>,
    pub payload: &'a [u8],
    pub headers: OwnedHeaders,
    pub delivery: Delivery,
}

/// The consumer's producer for status events and dead letters.
pub struct Outbox {
    producer: ThreadedProducer<Deliveries>,
    pub status_topic: String,
    pub dead_letter_topic: String,
}

impl Outbox {
    pub fn new(
        kafka: &ClientConfig,
        status_topic: String,
        dead_letter_topic: String,
        shared: Arc<Shared>,
        retries: mpsc::UnboundedSender<Job>,
    ) -> Result<Self, KafkaError> {
        let producer = kafka
            .clone()
            .set("client.id", "coffee-consumer")
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            // Bounded: outcomes wait here only as long as the broker takes to acknowledge.
            .set("queue.buffering.max.messages", "50000")
            .set("queue.buffering.max.kbytes", "16384")
            .set("batch.size", "262144")
            .set("message.timeout.ms", "60000")
            .create_with_context(Deliveries { shared, retries })?;
        Ok(Self {
            producer,
            status_topic,
            dead_letter_topic,
        })
    }

    /// Hands `outgoing` to librdkafka, waiting while its queue is full (the broker is slower
    /// than processing; the in-flight budget bounds how long this can go on).
    pub async fn send(&self, outgoing: Outgoing<'_>) {
        let mut record = BaseRecord::with_opaque_to(outgoing.topic, Box::new(outgoing.delivery))
            .payload(outgoing.payload)
            .headers(outgoing.headers);
        if let Some(key) = outgoing.key {
            record = record.key(key);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => return,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    self.producer.context().shared.metrics.outbox_full.inc();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, back)) => {
                    // Not retriable here (e.g. too large, unknown topic): settled as a failed
                    // delivery, so the order is retried with back-off.
                    self.producer
                        .context()
                        .settle(*back.delivery_opaque, Some(&error));
                    return;
                }
            }
        }
    }

    /// Writes `event` to the status topic, keyed by its order id.
    pub async fn status(
        &self,
        event: &StatusEvent,
        trace: &[(String, String)],
        delivery: Delivery,
    ) {
        let key = event.order_id.hyphenated().to_string();
        let body = event.encode();
        let headers = event_headers(headers::ORDER_STATUS, trace);
        self.send(Outgoing {
            topic: &self.status_topic,
            key: Some(key.as_bytes()),
            payload: &body,
            headers,
            delivery,
        })
        .await;
    }

    /// Waits for every queued message to be acknowledged or to fail.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(timeout)
    }
}

/// The key of an order's messages.
pub fn order_key(id: Uuid) -> String {
    id.hyphenated().to_string()
}

/// A message that cannot be processed, with why and where it came from.
#[derive(Debug)]
pub struct DeadLetter<'a> {
    pub key: Option<&'a [u8]>,
    pub payload: &'a [u8],
    /// The original message's headers, kept so a replay looks like the original.
    pub original_headers: &'a [(String, Vec<u8>)],
    pub reason: &'a str,
    pub detail: &'a str,
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

impl Outbox {
    /// Writes `letter` to the dead-letter topic.
    pub async fn dead_letter(&self, letter: &DeadLetter<'_>, delivery: Delivery) {
        let partition = letter.partition.to_string();
        let offset = letter.offset.to_string();
        let mut headers = OwnedHeaders::new_with_capacity(5 + letter.original_headers.len());
        for (name, value) in letter.original_headers {
            headers = headers.insert(Header {
                key: name.as_str(),
                value: Some(value.as_slice()),
            });
        }
        headers = headers
            .insert(text(headers::DEAD_LETTER_REASON, letter.reason))
            .insert(text(headers::DEAD_LETTER_DETAIL, letter.detail))
            .insert(text(headers::ORIGINAL_TOPIC, letter.topic))
            .insert(text(headers::ORIGINAL_PARTITION, &partition))
            .insert(text(headers::ORIGINAL_OFFSET, &offset));
        self.send(Outgoing {
            topic: &self.dead_letter_topic,
            key: letter.key,
            payload: letter.payload,
            headers,
            delivery,
        })
        .await;
    }
}
