//! Jobs, and what workers, the fetch thread and delivery callbacks share: the per-order
//! scheduler and the finished orders behind one lock, taken once per batch rather than per
//! message.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, mpsc};

use coffee_events::order::OrderDetails;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::finished::FinishedOrders;
use crate::liveness::Liveness;
use crate::metrics::Metrics;
use crate::schedule::{Keyed, Scheduler, Started};

/// An order to brew (or cancel, or give up on), with where it came from.
#[derive(Debug)]
pub struct Job {
    pub source: Source,
    pub order_id: Uuid,
    pub order: OrderDetails,
    /// `traceparent`/`tracestate` of the order event.
    pub trace: Vec<(String, String)>,
    /// A cancel request arrived before brewing started (kept across retries).
    pub cancelled: bool,
}

/// A message's place in Kafka, and the assignment it was taken under: a partition revoked and
/// assigned again gets a new epoch, so late completions of the old assignment are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub partition: i32,
    pub offset: i64,
    pub epoch: u64,
}

impl Keyed for Job {
    type Key = Uuid;
    fn key(&self) -> Uuid {
        self.order_id
    }
    fn partition(&self) -> i32 {
        self.source.partition
    }
}

#[derive(Debug)]
pub struct State {
    pub scheduler: Scheduler<Job>,
    pub finished: FinishedOrders,
    /// The epoch under which each partition is owned now. An outcome or dead letter whose
    /// source is not owned any more is not written: the partition's next owner decides the
    /// order again, and a late write beside its decision would be a second outcome.
    owned: HashMap<i32, u64>,
}

impl State {
    pub fn new(finished_capacity: usize) -> Self {
        Self {
            scheduler: Scheduler::default(),
            finished: FinishedOrders::new(finished_capacity),
            owned: HashMap::new(),
        }
    }

    pub fn own(&mut self, partition: i32, epoch: u64) {
        self.owned.insert(partition, epoch);
    }

    pub fn disown(&mut self, partition: i32) {
        self.owned.remove(&partition);
    }

    /// Whether the message at `source` was taken under the partition's current ownership.
    pub fn owns(&self, source: &Source) -> bool {
        self.owned.get(&source.partition) == Some(&source.epoch)
    }

    /// Up to `most` ready jobs for one worker, each with whether its order is already known
    /// to be finished.
    pub fn start_jobs(&mut self, most: usize) -> Vec<(Started<Job>, bool)> {
        let mut jobs = Vec::new();
        while jobs.len() < most {
            let Some(started) = self.scheduler.start() else {
                break;
            };
            let finished = self.finished.contains(&started.job.order_id);
            jobs.push((started, finished));
        }
        jobs
    }
}

/// What workers, the fetch thread and delivery callbacks share: the scheduler state behind
/// one lock, the bell that wakes idle workers, and the channel on which finished messages go
/// back to the fetch thread.
#[derive(Debug)]
pub struct Shared {
    state: Mutex<State>,
    pub work: Notify,
    finished: mpsc::Sender<Source>,
    pub metrics: Metrics,
    /// What the Kafka clients' callbacks say of their health (see [`crate::liveness`]).
    liveness: Mutex<Liveness>,
}

impl Shared {
    /// The shared state and the receiving end of the finished-message channel.
    pub fn new(state: State, metrics: Metrics) -> (Self, mpsc::Receiver<Source>) {
        let (finished, reports) = mpsc::channel();
        let shared = Self {
            state: Mutex::new(state),
            work: Notify::new(),
            finished,
            metrics,
            liveness: Mutex::new(Liveness::default()),
        };
        (shared, reports)
    }

    /// The state; a worker that panicked while holding the lock left it consistent enough
    /// (every change is a single step), so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What has been seen of the Kafka clients' health; poisoning is ignored as for the state
    /// (every change is a single step).
    pub fn liveness(&self) -> MutexGuard<'_, Liveness> {
        self.liveness
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reports the message at `source` finished to the fetch thread.
    pub fn finish(&self, source: Source) {
        // The receiver lives as long as the fetch thread; after it ended nothing is committed
        // any more, so a late report has nowhere to go and is not needed.
        let _ = self.finished.send(source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(partition: i32, epoch: u64) -> Source {
        Source {
            partition,
            offset: 7,
            epoch,
        }
    }

    #[test]
    fn a_message_taken_under_the_current_epoch_is_owned() {
        let mut state = State::new(10);
        state.own(0, 3);
        assert!(state.owns(&source(0, 3)));
    }

    #[test]
    fn a_message_of_an_earlier_assignment_of_the_partition_is_not_owned() {
        let mut state = State::new(10);
        state.own(0, 3);
        state.disown(0);
        state.own(0, 4);
        assert!(!state.owns(&source(0, 3)));
    }

    #[test]
    fn a_message_of_a_revoked_partition_is_not_owned() {
        let mut state = State::new(10);
        state.own(0, 3);
        state.disown(0);
        assert!(!state.owns(&source(0, 3)));
    }

    #[test]
    fn a_partition_never_assigned_owns_nothing() {
        assert!(!State::new(10).owns(&source(5, 1)));
    }
}
