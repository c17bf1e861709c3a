//! How each message the outbox wrote is settled once Kafka answers: an outcome or dead letter
//! Kafka took finishes its source offset; one it did not take goes back for another attempt.

use std::sync::Arc;

use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryResult, ProducerContext};
use tokio::sync::mpsc;
use tracing::warn;

use crate::outbox::{DeadLetter, Outcome};
use crate::state::Shared;

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
    pub shared: Arc<Shared>,
    pub retries: mpsc::UnboundedSender<Retry>,
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
    pub fn settle(&self, delivery: Delivery, error: Option<&KafkaError>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_refusals_are_told_apart_from_other_failures() {
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(is_too_large(&too_large));
        assert!(!is_too_large(&timed_out));
    }
}
