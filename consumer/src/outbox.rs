//! Everything the consumer writes to Kafka: status events and dead letters, through one
//! idempotent producer. A message finishes its source offset only when the broker has
//! acknowledged it, so a commit never runs ahead of the outcome it stands for.

use std::sync::Arc;
use std::time::Duration;

use coffee_events::headers;
use coffee_events::status::StatusEvent;
use coffee_kafka::headers::{event_headers, text};
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use tokio::sync::mpsc;
use tracing::info;
use uuid::Uuid;

use crate::deliveries::Deliveries;
pub use crate::deliveries::{Delivery, Retry};
use crate::state::{Shared, Source};

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
        retries: mpsc::UnboundedSender<Retry>,
        delivery_timeout: Duration,
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
            .set(
                "message.timeout.ms",
                delivery_timeout.as_millis().to_string(),
            )
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

    /// Writes an order's concluding status, unless its partition was revoked since the order
    /// was taken (returns whether it was handed to Kafka); its offset finishes once Kafka has it.
    pub async fn conclude(&self, outcome: Box<Outcome>) -> bool {
        if !self.still_owned(&outcome.source, "outcome") {
            return false;
        }
        let key = outcome.event.order_id.hyphenated().to_string();
        let body = outcome.event.encode();
        let headers = event_headers(headers::ORDER_STATUS, &outcome.trace);
        self.send(Outgoing {
            topic: &self.status_topic,
            key: Some(key.as_bytes()),
            payload: &body,
            headers,
            delivery: Delivery::Finishes(outcome),
        })
        .await;
        true
    }

    /// Whether the message at `source` is still this process's to conclude: a partition
    /// revoked since leaves its unfinished orders to the next owner (see
    /// [`crate::state::State::owns`]).
    fn still_owned(&self, source: &Source, what: &str) -> bool {
        let owned = self.producer.context().shared.lock().owns(source);
        if !owned {
            info!(
                partition = source.partition,
                offset = source.offset,
                what,
                "the partition moved on before this was written; its next owner decides the message"
            );
        }
        owned
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

/// The status event that concludes an order, owned since it may be written more than once:
/// the same event each time (its time included), so that a reader seeing it twice — the first
/// attempt timed out on our side but reached the log — sees one outcome, not two.
#[derive(Debug)]
pub struct Outcome {
    pub event: StatusEvent,
    /// `traceparent`/`tracestate` for the event's headers.
    pub trace: Vec<(String, String)>,
    /// The order's message, finished once the event is acknowledged.
    pub source: Source,
    /// Attempts Kafka did not take.
    pub failed_attempts: u32,
}

/// A message that cannot be processed, with why and where it came from. Owned, since it may
/// be written more than once.
#[derive(Debug)]
pub struct DeadLetter {
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    /// The original message's headers, kept so a replay looks like the original.
    pub original_headers: Vec<(String, Vec<u8>)>,
    pub reason: &'static str,
    pub detail: String,
    /// The topic the message came from.
    pub topic: String,
    pub source: Source,
    /// Attempts Kafka did not take.
    pub failed_attempts: u32,
    /// Whether the payload, key and original headers were left out (see [`DeadLetter::omit_payload`]).
    pub payload_omitted: bool,
}

impl DeadLetter {
    /// Leaves out what made the letter too large for the dead-letter topic: the payload, the
    /// original headers and a key longer than an order id. What remains says where the original
    /// is (topic, partition, offset), so it can still be read there while retention keeps it.
    pub fn omit_payload(&mut self) {
        let bytes = self.payload.len()
            + self
                .original_headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        self.detail = format!(
            "{}; the payload ({bytes} bytes with its headers) was too large for the dead-letter topic and is left out: read it at {}/{}/{}",
            self.detail, self.topic, self.source.partition, self.source.offset
        );
        self.payload = Vec::new();
        self.original_headers = Vec::new();
        if self.key.as_ref().is_some_and(|k| k.len() > MAX_KEPT_KEY) {
            self.key = None;
        }
        self.payload_omitted = true;
    }
}

/// The longest key kept when a dead letter's payload is left out: an order id is 36 bytes.
const MAX_KEPT_KEY: usize = 64;

impl Outbox {
    /// Writes `letter` to the dead-letter topic, unless its partition was revoked since
    /// (returns whether it was handed to Kafka); its message's offset finishes once Kafka has
    /// it, and it is written again until Kafka does.
    pub async fn dead_letter(&self, letter: Box<DeadLetter>) -> bool {
        if !self.still_owned(&letter.source, "dead letter") {
            if letter.failed_attempts > 0 {
                let metrics = &self.producer.context().shared.metrics;
                metrics.dead_letters_retrying.dec();
            }
            return false;
        }
        let partition = letter.source.partition.to_string();
        let offset = letter.source.offset.to_string();
        let mut headers = OwnedHeaders::new_with_capacity(6 + letter.original_headers.len());
        for (name, value) in &letter.original_headers {
            headers = headers.insert(Header {
                key: name.as_str(),
                value: Some(value.as_slice()),
            });
        }
        headers = headers
            .insert(text(headers::DEAD_LETTER_REASON, letter.reason))
            .insert(text(headers::DEAD_LETTER_DETAIL, &letter.detail))
            .insert(text(headers::ORIGINAL_TOPIC, &letter.topic))
            .insert(text(headers::ORIGINAL_PARTITION, &partition))
            .insert(text(headers::ORIGINAL_OFFSET, &offset));
        if letter.payload_omitted {
            headers = headers.insert(text(headers::DEAD_LETTER_PAYLOAD_OMITTED, "true"));
        }
        // The record borrows from the letter, which travels as the delivery's opaque: copy the
        // two byte strings first (dead letters are rare; this is not a hot path).
        let key = letter.key.clone();
        let payload = letter.payload.clone();
        let topic = self.dead_letter_topic.clone();
        self.send(Outgoing {
            topic: &topic,
            key: key.as_deref(),
            payload: &payload,
            headers,
            delivery: Delivery::DeadLetter(letter),
        })
        .await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(payload: usize, key: usize) -> DeadLetter {
        DeadLetter {
            key: Some(vec![b'k'; key]),
            payload: vec![b'x'; payload],
            original_headers: vec![("traceparent".to_owned(), b"00-abc".to_vec())],
            reason: "undecodable",
            detail: "not JSON".to_owned(),
            topic: "orders".to_owned(),
            source: Source {
                partition: 2,
                offset: 41,
                epoch: 1,
            },
            failed_attempts: 1,
            payload_omitted: false,
        }
    }

    #[test]
    fn an_omitted_payload_leaves_where_to_find_the_original() {
        let mut letter = letter(5_000, 36);
        letter.omit_payload();
        assert!(letter.payload.is_empty());
        assert!(letter.original_headers.is_empty());
        assert_eq!(
            letter.key.as_ref().map(Vec::len),
            Some(36),
            "an order id is kept"
        );
        assert!(letter.detail.starts_with("not JSON; "), "{}", letter.detail);
        assert!(letter.detail.contains("5017 bytes"), "{}", letter.detail);
        assert!(letter.detail.ends_with("orders/2/41"), "{}", letter.detail);
    }

    #[test]
    fn a_long_key_is_left_out_with_the_payload() {
        let mut letter = letter(10, 5_000);
        letter.omit_payload();
        assert_eq!(letter.key, None);
    }
}
