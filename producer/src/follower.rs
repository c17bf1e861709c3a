//! Keeps the order view current: one consumer per topic (orders, statuses) reads every partition
//! from the beginning, without a consumer group, so every replica sees every event. A follower
//! is caught up once it has reached the end of each partition as it was at start-up.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use coffee_events::DecodeError;
use coffee_events::order::OrderEvent;
use coffee_events::status::StatusEvent;
use coffee_kafka::context::{AssignedReader, is_unused_group_refusal};
use coffee_kafka::prefetch::{self, Appetite};
use futures::{FutureExt, StreamExt};
use rdkafka::consumer::{Consumer, StreamConsumer};

/// The view's reader: it learns it has caught up from the ends of its partitions.
type ViewConsumer = StreamConsumer<AssignedReader>;
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::catch_up::{Offsets, Seen};
use crate::metrics::Metrics;
use crate::view::OrderView;

/// Which topic a follower reads, and so how it decodes and applies messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicKind {
    Orders,
    Statuses,
}

impl TopicKind {
    fn label(self) -> &'static str {
        match self {
            TopicKind::Orders => "orders",
            TopicKind::Statuses => "statuses",
        }
    }
}

/// Events decoded from one read of the topic, applied to the view together.
#[derive(Debug, Default)]
struct Decoded {
    orders: Vec<OrderEvent>,
    statuses: Vec<StatusEvent>,
    known: u64,
    undecodable: u64,
    /// The offset after the last message read, per partition, whatever became of the message.
    read_to: Offsets,
}

impl Decoded {
    fn push(&mut self, kind: TopicKind, body: &[u8]) -> Result<(), DecodeError> {
        match kind {
            TopicKind::Orders => self.orders.push(OrderEvent::decode(body)?),
            TopicKind::Statuses => self.statuses.push(StatusEvent::decode(body)?),
        }
        Ok(())
    }

    fn applied(&self) -> u64 {
        u64::try_from(self.orders.len() + self.statuses.len()).unwrap_or(u64::MAX)
    }
}

/// The order follower's fetch waits for this many bytes (about a thousand compressed orders),
/// or `--view-fetch-wait-ms`, whichever comes first.
const ORDERS_FETCH_MIN_BYTES: u32 = 65_536;

/// Most messages applied under one lock of the view: those ready when the first arrives.
const READ_BATCH: usize = 512;

/// The reader's settings for a topic of `kind`: no group, every partition from the start,
/// ends of partitions reported (that is how catching up is known).
fn reader_settings(kind: TopicKind, kafka: &ClientConfig, fetch_wait_ms: u32) -> ClientConfig {
    let mut client = kafka.clone();
    client
        .set("group.id", "coffee-producer-view")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest");
    if kind == TopicKind::Orders {
        // Most of the order topic under load is this replica's own creations, already in the
        // view: fetching it as soon as each batch landed doubled the broker's requests and
        // cost a third of the throughput (docs/benchmarks.md). Other replicas' orders wait at
        // most `fetch_wait_ms` to appear here; statuses still come at once.
        client
            .set("fetch.min.bytes", ORDERS_FETCH_MIN_BYTES.to_string())
            .set("fetch.wait.max.ms", fetch_wait_ms.to_string());
    }
    client
}

/// Reads one topic into the view.
pub struct Follower {
    pub kind: TopicKind,
    pub topic: String,
    /// Brokers and security settings.
    pub kafka: ClientConfig,
    pub view: Arc<RwLock<OrderView>>,
    pub metrics: Metrics,
    pub caught_up: Arc<AtomicBool>,
    /// `fetch.wait.max.ms` of the order topic's reader.
    pub fetch_wait_ms: u32,
    /// Where to report how far the view has read each partition (the order topic's follower
    /// only); reported after what was read is applied, so a request that waits for an offset
    /// finds its message in the view ([`crate::catch_up`]).
    pub read: Option<watch::Sender<Seen>>,
}

impl Follower {
    /// Follows the topic until `stop` changes, retrying while the topic or cluster is missing.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            let outcome = tokio::select! {
                _ = stop.changed() => return,
                outcome = self.follow() => outcome,
            };
            if let Err(error) = outcome {
                warn!(topic = %self.topic, %error, "following the topic failed; retrying in 1s");
            }
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    async fn follow(&self) -> Result<(), KafkaError> {
        let mut client = reader_settings(self.kind, &self.kafka, self.fetch_wait_ms);
        let consumer: Arc<ViewConsumer> = Arc::new(
            prefetch::bounded(&mut client, Appetite::View).create_with_context(AssignedReader)?,
        );
        let mut assigned = self
            .assign_new_partitions(&consumer, &BTreeSet::new())
            .await?;
        let mut at_end: BTreeSet<i32> = BTreeSet::new();
        let mut stream = consumer.stream();
        let mut refresh = tokio::time::interval(Duration::from_secs(10));
        loop {
            tokio::select! {
                _ = refresh.tick() => {
                    let grown = self.assign_new_partitions(&consumer, &assigned).await?;
                    assigned.extend(grown);
                }
                item = stream.next() => {
                    // Messages are decoded as they come and dropped at once: a message held
                    // keeps its fetched batch's buffer alive.
                    let Some(first) = item else { return Ok(()) };
                    let mut decoded = Decoded::default();
                    let mut next = Some(first);
                    let mut read = 0;
                    while let Some(item) = next {
                        match item {
                            Ok(message) => self.decode(&message, &mut decoded),
                            Err(KafkaError::PartitionEOF(partition)) => {
                                // What came before the end counts towards catching up.
                                self.apply(std::mem::take(&mut decoded));
                                at_end.insert(partition);
                                self.note_if_caught_up(&assigned, &at_end);
                            }
                            Err(error) if is_unused_group_refusal(&error) => {}
                            Err(error) => warn!(topic = %self.topic, %error, "reading the topic"),
                        }
                        read += 1;
                        next = if read < READ_BATCH {
                            stream.next().now_or_never().flatten()
                        } else {
                            None
                        };
                    }
                    self.apply(decoded);
                }
            }
        }
    }

    /// Marks the view caught up once every assigned partition has been read to its end.
    fn note_if_caught_up(&self, assigned: &BTreeSet<i32>, at_end: &BTreeSet<i32>) {
        if !self.caught_up.load(Ordering::Relaxed) && assigned.is_subset(at_end) {
            info!(topic = %self.topic, orders = self.view_len(), "view caught up");
            self.caught_up.store(true, Ordering::Relaxed);
        }
    }

    fn decode(&self, message: &impl Message, decoded: &mut Decoded) {
        if self.read.is_some() {
            decoded
                .read_to
                .insert(message.partition(), message.offset() + 1);
        }
        if self.is_known_creation(message) {
            decoded.known += 1;
        } else if let Err(error) = decoded.push(self.kind, message.payload().unwrap_or_default()) {
            warn!(topic = %self.topic, %error, "skipping an event the view cannot read");
            decoded.undecodable += 1;
        }
    }

    /// Applies what was decoded to the view under one lock.
    fn apply(&self, decoded: Decoded) {
        if decoded.applied() > 0 {
            let mut view = self
                .view
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            view.apply_order_events(&decoded.orders);
            view.apply_status_events(&decoded.statuses);
            self.metrics
                .view_orders
                .set(i64::try_from(view.len()).unwrap_or(i64::MAX));
        }
        let label = self.kind.label();
        for (outcome, count) in [
            ("known", decoded.known),
            ("applied", decoded.applied()),
            ("undecodable", decoded.undecodable),
        ] {
            if count > 0 {
                self.metrics
                    .view_events
                    .with_label_values(&[label, outcome])
                    .inc_by(count);
            }
        }
        if let Some(read) = &self.read
            && !decoded.read_to.is_empty()
        {
            read.send_modify(|seen| {
                for (partition, offset) in decoded.read_to {
                    seen.read_to(partition, offset);
                }
            });
        }
    }

    /// A creation this replica already applied when it published the order: the common case
    /// under load, recognised from key and header without decoding the body.
    fn is_known_creation(&self, message: &impl Message) -> bool {
        use rdkafka::message::Headers;
        if self.kind != TopicKind::Orders {
            return false;
        }
        let is_creation = message.headers().is_some_and(|headers| {
            headers.iter().any(|h| {
                h.key == coffee_events::headers::EVENT_TYPE
                    && h.value == Some(coffee_events::headers::ORDER_CREATED.as_bytes())
            })
        });
        let id = message
            .key()
            .and_then(|key| uuid::Uuid::try_parse_ascii(key).ok());
        is_creation
            && id.is_some_and(|id| {
                let view = self
                    .view
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                view.has_creation(&id)
            })
    }

    fn view_len(&self) -> usize {
        self.view.read().map_or(0, |view| view.len())
    }

    /// Assigns, from the beginning, the topic's partitions that are not in `known`.
    async fn assign_new_partitions(
        &self,
        consumer: &Arc<ViewConsumer>,
        known: &BTreeSet<i32>,
    ) -> Result<BTreeSet<i32>, KafkaError> {
        let for_metadata = Arc::clone(consumer);
        let topic = self.topic.clone();
        let metadata = tokio::task::spawn_blocking(move || {
            for_metadata.fetch_metadata(Some(&topic), Duration::from_secs(5))
        })
        .await
        .map_err(|_| KafkaError::Canceled)??;
        let partitions: BTreeSet<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            return Err(KafkaError::MetadataFetch(
                rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition,
            ));
        }
        let new: BTreeSet<i32> = partitions.difference(known).copied().collect();
        if !new.is_empty() {
            let mut list = TopicPartitionList::new();
            for partition in &new {
                list.add_partition_offset(&self.topic, *partition, Offset::Beginning)?;
            }
            consumer.incremental_assign(&list)?;
            info!(topic = %self.topic, partitions = ?new, "following partitions");
        }
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_reader_waits_to_fetch_many_orders_at_once() {
        let orders = reader_settings(TopicKind::Orders, &ClientConfig::new(), 100);
        assert_eq!(orders.get("fetch.min.bytes"), Some("65536"));
        assert_eq!(orders.get("fetch.wait.max.ms"), Some("100"));
    }

    #[test]
    fn the_status_reader_fetches_each_change_as_it_lands() {
        let statuses = reader_settings(TopicKind::Statuses, &ClientConfig::new(), 100);
        assert_eq!(statuses.get("fetch.min.bytes"), None);
        assert_eq!(statuses.get("enable.partition.eof"), Some("true"));
    }
}
