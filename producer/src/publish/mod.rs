//! Publishing order events to Kafka through a pool of idempotent, acks=all producers, each with
//! its own broker connections: the broker serves one request per connection at a time, so with
//! brokers that have cores to spare one slow round trip need not hold up every order of the
//! process (on the shared 2-core benchmark machine one producer measured best). An event is
//! only reported published once the broker has acknowledged it, so a 2xx never precedes
//! durability. A full local queue and an unreachable cluster are reported at once, as
//! back-pressure, instead of growing memory or letting requests hang.

mod client;
mod error;
mod route;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use coffee_events::order::OrderEvent;
use coffee_kafka::headers::event_headers;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::future_producer::Delivery;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio::sync::watch;
use tracing::{info, warn};

pub use self::client::client_config;
pub use self::error::PublishError;
use crate::config::Config;
use crate::metrics::Metrics;

/// The process's Kafka producers for the order topic.
pub struct Publisher {
    /// Member `i` carries the events of the partitions `route::route` gives it.
    pool: Vec<FutureProducer>,
    topic: String,
    /// Partitions every member knows; 0 until the first answer from the cluster.
    partitions: AtomicU32,
    metrics: Metrics,
    /// `None` while the cluster answers; otherwise why it does not.
    unreachable: watch::Sender<Option<String>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic)
            .field("pool", &self.pool.len())
            .finish_non_exhaustive()
    }
}

impl Publisher {
    pub fn new(config: &Config, metrics: Metrics) -> Result<Self, KafkaError> {
        let pool = (0..config.pool_size())
            .map(|member| client_config(config, member).create())
            .collect::<Result<Vec<FutureProducer>, _>>()?;
        let (unreachable, _) = watch::channel(None);
        Ok(Self {
            pool,
            topic: config.kafka_topic.clone(),
            partitions: AtomicU32::new(0),
            metrics,
            unreachable,
        })
    }

    /// Why the cluster is not usable right now, or `None` when it is.
    pub fn unavailable_reason(&self) -> Option<String> {
        if let Some(reason) = self.unreachable.borrow().clone() {
            return Some(reason);
        }
        (self.partitions.load(Ordering::Relaxed) == 0).then(|| self.partitions_unknown())
    }

    fn partitions_unknown(&self) -> String {
        format!("the partitions of topic {} are not known yet", self.topic)
    }

    /// Publishes `event` keyed by its order id through the member that owns the key's
    /// partition, and waits for the broker's acknowledgement: where the event landed.
    pub async fn publish(
        &self,
        event: &OrderEvent,
        trace: &[(String, String)],
    ) -> Result<Delivery, PublishError> {
        if let Some(reason) = self.unreachable.borrow().clone() {
            return Err(self.failed(PublishError::Unreachable(reason)));
        }
        let key = event.order_id().hyphenated().to_string();
        let partitions = self.partitions.load(Ordering::Relaxed);
        let Some(route) = route::route(key.as_bytes(), partitions, self.pool.len()) else {
            return Err(self.failed(PublishError::Unreachable(self.partitions_unknown())));
        };
        let body = event.encode();
        let record = FutureRecord::to(&self.topic)
            .partition(route.partition)
            .key(&key)
            .payload(&body)
            .headers(event_headers(event.event_type(), trace));
        let started = Instant::now();
        let delivery = match self.pool[route.member].send_result(record) {
            Ok(delivery) => delivery,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                return Err(self.failed(PublishError::QueueFull));
            }
            Err((error, _)) => return Err(self.failed(PublishError::NotAcknowledged(error))),
        };
        let outcome = match delivery.await {
            Ok(Ok(delivery)) => Ok(delivery),
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

    /// Asks the cluster for the order topic's metadata through every member every second, so
    /// that requests fail fast (and readiness turns false) while it is unreachable, and every
    /// member learns of new partitions within a second. Runs until `stop` changes.
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
            for (member, producer) in self.pool.iter().enumerate() {
                self.metrics
                    .kafka_producer_queued
                    .with_label_values(&[&member.to_string()])
                    .set(i64::from(producer.in_flight_count()));
            }
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Refreshes every member's metadata of the topic; `None` when all of them answered.
    fn check_cluster(&self) -> Option<String> {
        let mut trouble = None;
        let counts: Vec<Option<u32>> = self
            .pool
            .iter()
            .map(|producer| match self.partition_count(producer) {
                Ok(count) => Some(count),
                Err(reason) => {
                    trouble.get_or_insert(reason);
                    None
                }
            })
            .collect();
        let known = route::known_by_all(counts);
        let before = self.partitions.swap(known, Ordering::Relaxed);
        self.metrics.kafka_producer_partitions.set(i64::from(known));
        if known != before && known > 0 {
            info!(topic = %self.topic, partitions = known, pool = self.pool.len(), "publishing to every partition the pool knows");
        }
        trouble
    }

    fn partition_count(&self, producer: &FutureProducer) -> Result<u32, String> {
        let metadata = producer
            .client()
            .fetch_metadata(Some(&self.topic), Duration::from_secs(2))
            .map_err(|error| error.to_string())?;
        match metadata.topics().first() {
            Some(topic) if topic.error().is_none() && !topic.partitions().is_empty() => {
                Ok(u32::try_from(topic.partitions().len()).unwrap_or(u32::MAX))
            }
            Some(topic) => Err(format!(
                "topic {} is not available: {:?}",
                self.topic,
                topic.error()
            )),
            None => Err(format!("topic {} is missing", self.topic)),
        }
    }

    /// Waits up to `timeout` in all for every event handed to the pool to be acknowledged.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        let deadline = Instant::now() + timeout;
        let mut outcome = Ok(());
        for producer in &self.pool {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Err(error) = producer.flush(left) {
                outcome = Err(error);
            }
        }
        outcome
    }
}
