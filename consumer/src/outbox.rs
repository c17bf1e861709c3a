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

use crate::state::{Shared, Source};

/// What a message's acknowledgement settles.
#[derive(Debug)]
pub enum Delivery {
    /// Informational (e.g. `processing`): nothing waits for it.
    Untracked,
    /// The status that concludes an order: its message's offset is finished once acknowledged,
    /// and the same event is written again, as often as it takes, when it is not. The order is
    /// never brewed again for it: the brew is done, only its outcome is not yet in Kafka.
    Finishes(Box<Outcome>),
    /// A dead letter: the message's offset is finished once it is acknowledged, and the letter
    /// is written again, as often as it takes, when it is not.
    DeadLetter(Box<DeadLetter>),
}

/// What the outbox hands back for another attempt.
#[derive(Debug)]
pub enum Retry {
    /// An order's outcome Kafka did not take.
    Outcome(Box<Outcome>),
    /// A dead letter Kafka did not take.
    DeadLetter(Box<DeadLetter>),
}

/// Settles deliveries on librdkafka's delivery thread.
pub struct Deliveries {
    shared: Arc<Shared>,
    retries: mpsc::UnboundedSender<Retry>,
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
        match error {
            None => self.shared.liveness().delivered(),
            Some(_) => self
                .shared
                .liveness()
                .delivery_failed(std::time::Instant::now()),
        }
        match (delivery, error) {
            (Delivery::Untracked, None) => {}
            (Delivery::Untracked, Some(error)) => {
                self.shared.metrics.delivery_failures.inc();
                warn!(%error, "an informational status event was not written");
            }
            (Delivery::Finishes(outcome), None) => {
                // Finished for redeliveries only now: marked when handed over, a redelivery
                // (the partition revoked and given back) would be skipped and its offset
                // committed while the outcome was not yet in Kafka.
                self.shared.lock().finished.insert(outcome.event.order_id);
                self.shared.finish(outcome.source);
            }
            (Delivery::Finishes(mut outcome), Some(error)) => {
                self.shared.metrics.delivery_failures.inc();
                outcome.failed_attempts += 1;
                let source = outcome.source;
                warn!(%error, partition = source.partition, offset = source.offset, attempts = outcome.failed_attempts, "an outcome was not written; it is written again, and the partition's commit waits for it");
                // The receiver lives as long as the pool; if it is gone we are shutting down
                // and the offset stays uncommitted, so the order is redelivered.
                let _ = self.retries.send(Retry::Outcome(outcome));
            }
            (Delivery::DeadLetter(letter), None) => {
                if letter.failed_attempts > 0 {
                    self.shared.metrics.dead_letters_retrying.dec();
                }
                self.shared.liveness().dead_letter_written();
                self.shared.finish(letter.source);
            }
            (Delivery::DeadLetter(mut letter), Some(error)) => {
                let too_large = is_too_large(error);
                self.shared
                    .metrics
                    .dead_letter_failures
                    .with_label_values(&[if too_large { "too_large" } else { "other" }])
                    .inc();
                if letter.failed_attempts == 0 {
                    self.shared.metrics.dead_letters_retrying.inc();
                }
                self.shared
                    .liveness()
                    .dead_letter_failed(std::time::Instant::now());
                letter.failed_attempts += 1;
                if too_large && !letter.payload_omitted {
                    letter.omit_payload();
                }
                warn!(%error, partition = letter.source.partition, offset = letter.source.offset, attempts = letter.failed_attempts, payload_omitted = letter.payload_omitted, "a dead letter was not written; it is written again, and the partition's commit waits for it");
                let _ = self.retries.send(Retry::DeadLetter(letter));
            }
        }
    }
}

/// Whether Kafka refused a record for its size: the dead-letter topic's `max.message.bytes`
/// (or the producer's `message.max.bytes`) is below the letter's. Writing it again as it is can
/// never succeed.
fn is_too_large(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::MessageBatchTooLarge)
    )
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

    /// Writes an order's concluding status; its offset finishes once Kafka has it.
    pub async fn conclude(&self, outcome: Box<Outcome>) {
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
    /// Writes `letter` to the dead-letter topic; its message's offset finishes once Kafka has
    /// it, and it is written again until Kafka does.
    pub async fn dead_letter(&self, letter: Box<DeadLetter>) {
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

    #[test]
    fn size_refusals_are_told_apart_from_other_failures() {
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(is_too_large(&too_large));
        assert!(!is_too_large(&timed_out));
    }
}
