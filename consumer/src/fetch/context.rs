//! The group consumer's callbacks, run on the fetch thread: on revoke, let running work finish
//! briefly and commit what is done; on assign, learn which redelivered orders are already
//! finished before any message of the new partitions is processed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tracing::{info, warn};

use super::progress::Progress;
use crate::liveness;
use crate::recovery;
use crate::state::{Shared, Source};

/// What the callbacks need, and what they tell the rest of the process.
pub struct FetchContext {
    pub shared: Arc<Shared>,
    /// Brokers and security settings, for the status-topic reader.
    pub kafka: rdkafka::ClientConfig,
    pub topic: String,
    pub status_topic: String,
    /// How long a revoke waits for work already with a worker.
    pub revoke_wait: Duration,
    /// The group was joined (an assignment, possibly empty, was received).
    pub joined: AtomicBool,
    /// librdkafka reported every broker down and none came back since.
    pub brokers_down: AtomicBool,
    /// Set at shutdown: revokes commit at once instead of waiting for work.
    pub closing: AtomicBool,
    /// Only the fetch thread locks it; the lock makes the context shareable with the probes.
    progress: Mutex<Progress>,
}

impl FetchContext {
    pub fn new(
        shared: Arc<Shared>,
        reports: mpsc::Receiver<Source>,
        kafka: rdkafka::ClientConfig,
        topic: String,
        status_topic: String,
    ) -> Self {
        Self {
            shared,
            kafka,
            topic,
            status_topic,
            revoke_wait: Duration::from_secs(5),
            joined: AtomicBool::new(false),
            brokers_down: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            progress: Mutex::new(Progress::new(reports)),
        }
    }

    pub fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Commits the position of `partitions` (all assigned ones when `None`) that moved.
    pub fn commit(&self, consumer: &BaseConsumer<Callbacks>, partitions: Option<&HashSet<i32>>) {
        let now_ms = jiff::Timestamp::now().as_millisecond();
        let positions = self.progress().positions_to_commit(now_ms, partitions);
        if positions.is_empty() {
            return;
        }
        let mut list = TopicPartitionList::new();
        for position in &positions {
            let mut element = list.add_partition(&self.topic, position.partition);
            if element.set_offset(Offset::Offset(position.offset)).is_ok() {
                element.set_metadata(recovery::metadata(position.since_ms));
            }
        }
        let metrics = &self.shared.metrics;
        match consumer.commit(&list, CommitMode::Sync) {
            Ok(()) => {
                metrics.commits.with_label_values(&["ok"]).inc();
                self.progress().committed(&positions);
                for position in &positions {
                    metrics
                        .committed_offset
                        .with_label_values(&[&position.partition.to_string()])
                        .set(position.offset);
                }
            }
            Err(error) => {
                metrics.commits.with_label_values(&["error"]).inc();
                warn!(%error, "committing offsets failed; retrying at the next commit");
            }
        }
    }

    fn revoke(&self, consumer: &BaseConsumer<Callbacks>, list: &TopicPartitionList) {
        let partitions: HashSet<i32> = list
            .elements_for_topic(&self.topic)
            .iter()
            .map(|e| e.partition())
            .collect();
        let mut left_queued: HashMap<i32, usize> = HashMap::new();
        {
            let mut state = self.shared.lock();
            for &partition in &partitions {
                left_queued.insert(partition, state.scheduler.drop_partition(partition).len());
            }
        }
        // Work already with a worker is usually done within a brew time, and an outcome handed
        // to Kafka is usually written within moments; waiting for them keeps the new owner from
        // brewing those orders again. What is still unfinished after the wait is disowned: its
        // outcome is not written, so that the new owner's is the only one.
        let deadline = Instant::now() + self.revoke_wait;
        while !self.closing.load(Ordering::Relaxed) && Instant::now() < deadline {
            let running = {
                let mut progress = self.progress();
                progress.drain();
                partitions.iter().any(|p| {
                    progress.assignment.unfinished(*p) > left_queued.get(p).copied().unwrap_or(0)
                })
            };
            if !running {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        {
            let mut state = self.shared.lock();
            for &partition in &partitions {
                state.disown(partition);
            }
        }
        self.commit(consumer, Some(&partitions));
        let mut progress = self.progress();
        for &partition in &partitions {
            progress.revoke(partition);
            let label = partition.to_string();
            let _ = self.shared.metrics.lag.remove_label_values(&[&label]);
            let _ = self
                .shared
                .metrics
                .committed_offset
                .remove_label_values(&[&label]);
        }
        self.shared
            .metrics
            .rebalances
            .with_label_values(&["revoke"])
            .inc();
        info!(partitions = ?partitions, "partitions revoked; finished work committed");
    }

    fn assign(&self, consumer: &BaseConsumer<Callbacks>, list: &TopicPartitionList) {
        let partitions: Vec<i32> = list
            .elements_for_topic(&self.topic)
            .iter()
            .map(|e| e.partition())
            .collect();
        // The coordinator may be moving (a broker restarting): asked again for up to 30 s, as
        // without the commits' metadata the finished orders cannot be read.
        let committed = coffee_kafka::passing::retried(
            std::time::Instant::now() + Duration::from_secs(30),
            |left| consumer.committed_offsets(list.clone(), left.min(Duration::from_secs(10))),
        );
        let since = match committed {
            Ok(committed) => committed
                .elements()
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(_) => recovery::parse_metadata(e.metadata()),
                    // Never committed: everything is redelivered, so every status counts.
                    _ => Some(0),
                })
                .min(),
            Err(error) => {
                warn!(%error, "reading committed offsets failed; redelivered orders are only recognised by this process's memory");
                None
            }
        };
        if let Some(since) = since {
            let margin = i64::try_from(recovery::CLOCK_SKEW_MARGIN.as_millis()).unwrap_or(0);
            let since = (since - margin).max(0);
            let keep = self.shared.lock().finished.capacity();
            match recovery::finished_since(
                &self.kafka,
                &self.status_topic,
                since,
                Duration::from_secs(30),
                keep,
            ) {
                Ok(ids) => {
                    info!(
                        orders = ids.len(),
                        "read the previous owners' finished orders"
                    );
                    let mut state = self.shared.lock();
                    for id in ids {
                        state.finished.insert(id);
                    }
                }
                Err(error) => {
                    warn!(%error, "reading finished orders from the status topic failed; redelivered orders may be brewed again")
                }
            }
        }
        let epochs: Vec<(i32, u64)> = {
            let mut progress = self.progress();
            partitions
                .iter()
                .map(|&partition| (partition, progress.assignment.assign(partition)))
                .collect()
        };
        {
            let mut state = self.shared.lock();
            for (partition, epoch) in epochs {
                state.own(partition, epoch);
            }
        }
        self.shared
            .metrics
            .rebalances
            .with_label_values(&["assign"])
            .inc();
        info!(partitions = ?partitions, finished_since_ms = ?since, "partitions assigned");
    }
}

/// The librdkafka context of the group consumer: a handle on the shared [`FetchContext`], which
/// the HTTP probes read too.
pub struct Callbacks(pub Arc<FetchContext>);

impl std::ops::Deref for Callbacks {
    type Target = FetchContext;
    fn deref(&self) -> &FetchContext {
        &self.0
    }
}

impl ClientContext for Callbacks {
    fn stats(&self, statistics: Statistics) {
        let brokers_up = statistics.brokers.values().any(|b| b.state == "UP");
        if brokers_up {
            self.brokers_down.store(false, Ordering::Relaxed);
        }
        let steady = statistics
            .cgrp
            .as_ref()
            .is_some_and(|group| liveness::steady(&group.state, &group.join_state));
        self.shared
            .liveness()
            .group(Instant::now(), brokers_up, steady);
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        let assigned: HashSet<i32> = self.progress().assignment.partitions().collect();
        for (id, partition) in &topic.partitions {
            if assigned.contains(id) && partition.consumer_lag >= 0 {
                self.shared
                    .metrics
                    .lag
                    .with_label_values(&[&id.to_string()])
                    .set(partition.consumer_lag);
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::AllBrokersDown) {
            self.brokers_down.store(true, Ordering::Relaxed);
        }
        warn!(%error, reason, "Kafka client error");
    }
}

impl ConsumerContext for Callbacks {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            self.revoke(consumer, list);
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => self.assign(consumer, list),
            Rebalance::Revoke(_) => {}
            Rebalance::Error(error) => warn!(%error, "rebalance failed"),
        }
        self.joined.store(true, Ordering::Relaxed);
    }
}
