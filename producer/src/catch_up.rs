//! Catching the order view up to "now" before a keyed request may publish.
//!
//! A client whose first replica published its order and then died retries on another replica at
//! once. That replica's view reads the order topic up to `--view-fetch-wait-ms` late, so it may
//! not know the first order's `Idempotency-Key` yet, and would publish a second order. So a
//! keyed request that finds no order for its key first reads the order topic's end offsets —
//! asked for after the request arrived, hence past every order acknowledged before it — and
//! waits until the view has read that far; only then is "no order yet" an answer.
//!
//! The view need not read back what this replica published itself: those orders entered the
//! view as they were acknowledged. So a partition whose unread messages are all this replica's
//! own needs no waiting, and one replica under steady keyed traffic waits only for the list of
//! end offsets.
//!
//! Requests share the reads of the end offsets: one read at a time, and every request waiting
//! when it starts gets its answer. A request never takes an answer from a read that began
//! before it arrived.
//!
//! What this cannot see: an order the dead replica had sent but the brokers had not yet
//! acknowledged when the retry arrived. Its client had no answer either; if the brokers commit
//! it afterwards, the key has two orders. Closing that needs a store of keys shared by replicas.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use coffee_kafka::context::AssignedReader;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::{mpsc, oneshot, watch};

/// The next offset the view will read, per partition of the order topic.
pub type Offsets = BTreeMap<i32, i64>;

/// (log start, end) per partition of the order topic.
pub type Bounds = BTreeMap<i32, (i64, i64)>;

/// What the view holds of the order topic: what its follower has read, and, beyond that, the
/// offsets of messages this replica published (and so applied to the view when acknowledged).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Seen {
    pub read: Offsets,
    pub own: BTreeMap<i32, BTreeSet<i64>>,
}

impl Seen {
    /// The follower has read `partition` up to (not including) `offset`.
    pub fn read_to(&mut self, partition: i32, offset: i64) {
        let at = self.read.entry(partition).or_insert(offset);
        *at = (*at).max(offset);
        let at = *at;
        if let Some(own) = self.own.get_mut(&partition) {
            *own = own.split_off(&at);
        }
    }

    /// This replica's own message landed at `offset` of `partition`.
    pub fn published(&mut self, partition: i32, offset: i64) {
        if self.read.get(&partition).is_none_or(|read| offset >= *read) {
            self.own.entry(partition).or_default().insert(offset);
        }
    }

    /// Whether the view holds every message the partitions' `bounds` hold. An empty partition
    /// holds none; the view learns where the follower is only from messages (librdkafka
    /// reports the end of a partition without an offset), so below the log start counts as
    /// the log start.
    pub fn holds(&self, bounds: &Bounds) -> bool {
        bounds.iter().all(|(partition, &(start, end))| {
            let from = self
                .read
                .get(partition)
                .copied()
                .unwrap_or(start)
                .max(start);
            if end <= from {
                return true;
            }
            let own = self
                .own
                .get(partition)
                .map_or(0, |own| own.range(from..end).count());
            i64::try_from(own).is_ok_and(|own| own == end - from)
        })
    }
}

/// How long a request waits for the end offsets and then for the view to read up to them.
const WAIT: Duration = Duration::from_secs(5);

/// Why a keyed request could not learn whether its key already has an order.
#[derive(Debug, thiserror::Error)]
pub enum CatchUpError {
    #[error("starting the reader of order topic {topic}'s end offsets: {source}")]
    Start {
        topic: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the end offsets of order topic {topic}: {source}")]
    Ends {
        topic: String,
        #[source]
        source: Arc<KafkaError>,
    },
    #[error("the end offsets of order topic {topic} were not read within {WAIT:?}")]
    EndsUnanswered { topic: String },
    #[error("the order view has not read order topic {topic} up to {bounds:?} within {WAIT:?}")]
    Behind { topic: String, bounds: Bounds },
}

type EndsAnswer = Result<Bounds, Arc<KafkaError>>;

/// The view's side of catching up; cheap to share between requests.
#[derive(Debug)]
pub struct CatchUp {
    topic: String,
    asks: mpsc::UnboundedSender<oneshot::Sender<EndsAnswer>>,
    seen: watch::Sender<Seen>,
}

impl CatchUp {
    /// Starts the reader of end offsets for `topic`.
    pub fn start(kafka: &ClientConfig, topic: &str) -> Result<Self, CatchUpError> {
        let consumer: BaseConsumer<AssignedReader> = kafka
            .clone()
            .set("group.id", "coffee-producer-view")
            .set("enable.auto.commit", "false")
            .create_with_context(AssignedReader)
            .map_err(|source| CatchUpError::Ends {
                topic: topic.to_owned(),
                source: Arc::new(source),
            })?;
        let (asks, waiting) = mpsc::unbounded_channel();
        let owned_topic = topic.to_owned();
        std::thread::Builder::new()
            .name("order-ends".to_owned())
            .spawn(move || answer_asks(&consumer, &owned_topic, waiting))
            .map_err(|source| CatchUpError::Start {
                topic: topic.to_owned(),
                source,
            })?;
        Ok(Self {
            topic: topic.to_owned(),
            asks,
            seen: watch::Sender::new(Seen::default()),
        })
    }

    /// Where the order topic's follower reports what it has read.
    pub fn follower_reports(&self) -> watch::Sender<Seen> {
        self.seen.clone()
    }

    /// This replica's message was acknowledged at `offset` of `partition`.
    pub fn published(&self, partition: i32, offset: i64) {
        self.seen
            .send_modify(|seen| seen.published(partition, offset));
    }

    /// Returns once the view has read every order acknowledged before this call.
    pub async fn wait(&self) -> Result<(), CatchUpError> {
        let bounds = tokio::time::timeout(WAIT, self.bounds())
            .await
            .map_err(|_| self.unanswered())??;
        let mut seen = self.seen.subscribe();
        let caught_up = tokio::time::timeout(WAIT, seen.wait_for(|seen| seen.holds(&bounds)));
        match caught_up.await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(CatchUpError::Behind {
                topic: self.topic.clone(),
                bounds,
            }),
        }
    }

    /// The topic's bounds from a round that began after this call.
    async fn bounds(&self) -> Result<Bounds, CatchUpError> {
        let (answer, answered) = oneshot::channel();
        // The reader thread outlives every request; were it gone, the ask is unanswered.
        self.asks.send(answer).map_err(|_| self.unanswered())?;
        answered
            .await
            .map_err(|_| self.unanswered())?
            .map_err(|source| CatchUpError::Ends {
                topic: self.topic.clone(),
                source,
            })
    }

    fn unanswered(&self) -> CatchUpError {
        CatchUpError::EndsUnanswered {
            topic: self.topic.clone(),
        }
    }
}

/// Answers asks in rounds until every sender is gone: a round takes every ask waiting when it
/// starts, reads the ends once and answers them all.
fn answer_asks(
    consumer: &BaseConsumer<AssignedReader>,
    topic: &str,
    mut waiting: mpsc::UnboundedReceiver<oneshot::Sender<EndsAnswer>>,
) {
    while let Some(first) = waiting.blocking_recv() {
        let mut round = vec![first];
        while let Ok(next) = waiting.try_recv() {
            round.push(next);
        }
        let answer = read_bounds(consumer, topic).map_err(Arc::new);
        for ask in round {
            let _ = ask.send(answer.clone());
        }
    }
}

/// The log start and end of every partition of `topic`, as a `read_committed` reader sees them.
fn read_bounds(consumer: &BaseConsumer<AssignedReader>, topic: &str) -> Result<Bounds, KafkaError> {
    let metadata = consumer.fetch_metadata(Some(topic), WAIT)?;
    let mut request = TopicPartitionList::new();
    for listed in metadata.topics().iter().filter(|t| t.name() == topic) {
        if let Some(error) = listed.error() {
            return Err(KafkaError::MetadataFetch(error.into()));
        }
        for partition in listed.partitions() {
            request.add_partition(topic, partition.id());
        }
    }
    let at = |offset: Offset| -> Result<Offsets, KafkaError> {
        let mut asked = request.clone();
        asked.set_all_offsets(offset)?;
        let listed = consumer.offsets_for_times(asked, WAIT)?;
        listed
            .elements_for_topic(topic)
            .iter()
            .map(|element| {
                element.error()?;
                Ok((element.partition(), element.offset().to_raw().unwrap_or(0)))
            })
            .collect()
    };
    let starts = at(Offset::Beginning)?;
    let ends = at(Offset::End)?;
    Ok(ends
        .into_iter()
        .map(|(partition, end)| {
            (
                partition,
                (starts.get(&partition).copied().unwrap_or(0), end),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(triples: &[(i32, i64, i64)]) -> Bounds {
        triples
            .iter()
            .map(|&(p, start, end)| (p, (start, end)))
            .collect()
    }

    fn read(pairs: &[(i32, i64)]) -> Seen {
        let mut seen = Seen::default();
        for &(partition, offset) in pairs {
            seen.read_to(partition, offset);
        }
        seen
    }

    #[test]
    fn a_view_at_the_end_of_every_partition_holds_everything() {
        assert!(read(&[(0, 5), (1, 9)]).holds(&bounds(&[(0, 0, 5), (1, 0, 7)])));
    }

    #[test]
    fn one_partition_behind_does_not_hold_everything() {
        assert!(!read(&[(0, 5), (1, 6)]).holds(&bounds(&[(0, 0, 5), (1, 0, 7)])));
    }

    #[test]
    fn a_partition_with_messages_the_follower_never_read_is_not_held() {
        assert!(!read(&[(0, 5)]).holds(&bounds(&[(0, 0, 5), (1, 3, 4)])));
    }

    #[test]
    fn an_empty_partition_is_held_even_after_retention_moved_its_start() {
        assert!(read(&[]).holds(&bounds(&[(0, 0, 0), (1, 40, 40)])));
    }

    #[test]
    fn unread_messages_that_are_all_this_replicas_own_are_held() {
        let mut seen = read(&[(0, 5)]);
        seen.published(0, 5);
        seen.published(0, 6);
        assert!(seen.holds(&bounds(&[(0, 0, 7)])));
    }

    #[test]
    fn one_unread_message_of_another_replica_among_our_own_is_not_held() {
        let mut seen = read(&[(0, 5)]);
        seen.published(0, 5);
        seen.published(0, 7);
        assert!(!seen.holds(&bounds(&[(0, 0, 8)])));
    }

    #[test]
    fn own_messages_before_the_log_start_do_not_count_for_messages_after_it() {
        let mut seen = Seen::default();
        seen.published(0, 1);
        seen.published(0, 2);
        assert!(!seen.holds(&bounds(&[(0, 2, 4)])));
        seen.published(0, 3);
        assert!(seen.holds(&bounds(&[(0, 2, 4)])));
    }

    #[test]
    fn reading_past_own_messages_forgets_them() {
        let mut seen = read(&[(0, 5)]);
        seen.published(0, 5);
        seen.published(0, 9);
        seen.read_to(0, 8);
        assert_eq!(seen.own[&0], BTreeSet::from([9]));
        seen.published(0, 7);
        assert_eq!(seen.own[&0], BTreeSet::from([9]), "read already");
    }
}
