//! Publishing order events to Kafka: one idempotent, acks=all producer per process. An event is
//! only reported published once the broker has acknowledged it, so a 2xx never precedes
//! durability. A full local queue and an unreachable cluster are reported at once, as
//! back-pressure, instead of growing memory or letting requests hang.

use std::sync::Arc;
use std::time::{Duration, Instant};

use coffee_events::order::OrderEvent;
use coffee_kafka::headers::event_headers;
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::{Config, PublishMode};
use crate::metrics::Metrics;

/// Why an event was not published. Nothing was acknowledged in any of these cases; only
/// [`PublishError::Unconfirmed`] events may still be in the log.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// librdkafka's bounded queue is full: the broker is slower than the arrivals.
    #[error("too many orders are waiting for Kafka; retry shortly")]
    QueueFull,
    /// The last metadata request to the cluster failed.
    #[error("Kafka is unreachable: {0}")]
    Unreachable(String),
    /// The broker refused the event.
    #[error("Kafka did not acknowledge the event: {0}")]
    NotAcknowledged(KafkaError),
    /// The event was sent but its acknowledgement never came (the broker went away, the
    /// delivery timed out): the broker may have appended it. Telling the client it was refused
    /// would be a lie — a broker stopped under load showed one such order brewed.
    #[error("Kafka did not confirm the event in time; it may or may not have been taken: {0}")]
    Unconfirmed(KafkaError),
}

impl PublishError {
    /// The error for a failed delivery: [`PublishError::Unconfirmed`] when the broker may
    /// have appended the event anyway.
    fn of_delivery(error: KafkaError) -> Self {
        if may_be_persisted(&error) {
            PublishError::Unconfirmed(error)
        } else {
            PublishError::NotAcknowledged(error)
        }
    }
}

/// Whether an event whose delivery failed with `error` may be in the log all the same:
/// librdkafka's own per-message verdict (`rd_kafka_message_status`) is not in the safe API, so
/// the errors that can follow a request the broker received are taken as possibly persisted.
fn may_be_persisted(error: &KafkaError) -> bool {
    use RDKafkaErrorCode::{
        AllBrokersDown, BrokerTransportFailure, MessageTimedOut, NotEnoughReplicasAfterAppend,
        RequestTimedOut,
    };
    matches!(error, KafkaError::Canceled)
        || matches!(
            error.rdkafka_error_code(),
            Some(
                MessageTimedOut
                    | RequestTimedOut
                    | BrokerTransportFailure
                    | AllBrokersDown
                    | NotEnoughReplicasAfterAppend
            )
        )
}

impl PublishError {
    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            PublishError::QueueFull => "queue_full",
            PublishError::Unreachable(_) => "unreachable",
            PublishError::NotAcknowledged(_) => "not_acknowledged",
            PublishError::Unconfirmed(_) => "unconfirmed",
        }
    }
}

/// The process's Kafka producer for the order topic.
pub struct Publisher {
    producer: FutureProducer,
    topic: String,
    metrics: Metrics,
    /// `None` while the cluster answers; otherwise why it does not.
    unreachable: watch::Sender<Option<String>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

/// librdkafka settings for `config`'s publish mode.
pub fn client_config(config: &Config) -> ClientConfig {
    let mut client = config.kafka_client();
    client
        .set("client.id", "coffee-producer")
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", config.delivery_timeout_ms.to_string())
        .set(
            "queue.buffering.max.messages",
            config.queue_max_messages.to_string(),
        );
    match config.publish_mode {
        PublishMode::Durable => client
            .set("linger.ms", config.linger_ms.to_string())
            .set("batch.size", config.batch_size.to_string())
            .set("compression.type", config.compression.as_str()),
        PublishMode::Sync => client
            .set("linger.ms", "0")
            .set("batch.num.messages", "1")
            .set("compression.type", "none"),
    };
    client
}

impl Publisher {
    pub fn new(config: &Config, metrics: Metrics) -> Result<Self, KafkaError> {
        let producer: FutureProducer = client_config(config).create()?;
        // Assumed reachable until the first check says otherwise; readiness also waits for the
        // view followers, which cannot catch up without the cluster.
        let (unreachable, _) = watch::channel(None);
        Ok(Self {
            producer,
            topic: config.kafka_topic.clone(),
            metrics,
            unreachable,
        })
    }

    /// Why the cluster is not usable right now, or `None` when it is.
    pub fn unavailable_reason(&self) -> Option<String> {
        self.unreachable.borrow().clone()
    }

    /// Publishes `event` keyed by its order id and waits for the broker's acknowledgement.
    pub async fn publish(
        &self,
        event: &OrderEvent,
        trace: &[(String, String)],
    ) -> Result<(), PublishError> {
        if let Some(reason) = self.unavailable_reason() {
            return Err(self.failed(PublishError::Unreachable(reason)));
        }
        let key = event.order_id().hyphenated().to_string();
        let body = event.encode();
        let record_headers = event_headers(event.event_type(), trace);
        let record = FutureRecord::to(&self.topic)
            .key(&key)
            .payload(&body)
            .headers(record_headers);
        let started = Instant::now();
        let delivery = match self.producer.send_result(record) {
            Ok(delivery) => delivery,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                return Err(self.failed(PublishError::QueueFull));
            }
            Err((error, _)) => return Err(self.failed(PublishError::NotAcknowledged(error))),
        };
        let outcome = match delivery.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((error, _))) => Err(self.failed(PublishError::of_delivery(error))),
            Err(_) => Err(self.failed(PublishError::of_delivery(KafkaError::Canceled))),
        };
        self.metrics
            .kafka_publish_duration
            .observe(started.elapsed().as_secs_f64());
        outcome
    }

    fn failed(&self, error: PublishError) -> PublishError {
        self.metrics
            .kafka_publish_errors
            .with_label_values(&[error.reason()])
            .inc();
        error
    }

    /// Asks the cluster for the order topic's metadata every second, so that requests fail fast
    /// (and readiness turns false) while it is unreachable. Runs until `stop` changes.
    pub async fn watch_cluster(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let publisher = Arc::clone(&self);
            let verdict = tokio::task::spawn_blocking(move || publisher.check_cluster())
                .await
                .unwrap_or_else(|e| Some(e.to_string()));
            self.unreachable.send_if_modified(|current| {
                if *current == verdict {
                    return false;
                }
                match &verdict {
                    None => info!(topic = %self.topic, "Kafka is reachable"),
                    Some(reason) => warn!(topic = %self.topic, %reason, "Kafka is unreachable"),
                }
                *current = verdict;
                true
            });
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    fn check_cluster(&self) -> Option<String> {
        match self
            .producer
            .client()
            .fetch_metadata(Some(&self.topic), Duration::from_secs(2))
        {
            Err(error) => Some(error.to_string()),
            Ok(metadata) => match metadata.topics().first() {
                Some(topic) if topic.error().is_none() && !topic.partitions().is_empty() => None,
                Some(topic) => Some(format!(
                    "topic {} is not available: {:?}",
                    self.topic,
                    topic.error()
                )),
                None => Some(format!("topic {} is missing", self.topic)),
            },
        }
    }

    /// Waits up to `timeout` for every event handed to librdkafka to be acknowledged.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_that_timed_out_may_be_in_the_log() {
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(matches!(
            PublishError::of_delivery(timed_out),
            PublishError::Unconfirmed(_)
        ));
        assert!(may_be_persisted(&KafkaError::Canceled));
    }

    #[test]
    fn an_event_the_broker_refused_is_not_in_the_log() {
        for code in [
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::NotEnoughReplicas,
        ] {
            let refused = KafkaError::MessageProduction(code);
            assert!(matches!(
                PublishError::of_delivery(refused),
                PublishError::NotAcknowledged(_)
            ));
        }
    }
}
