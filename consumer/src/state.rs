//! What the fetch thread, the workers and the delivery callbacks share: the scheduler, one
//! offset tracker per assigned partition and the finished orders, behind one lock so that a
//! revoke sees a consistent picture.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use coffee_events::order::OrderDetails;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::finished::FinishedOrders;
use crate::metrics::Metrics;
use crate::offsets::OffsetTracker;
use crate::schedule::{Keyed, Scheduler};

/// An order to brew (or cancel, or give up on), with where it came from.
#[derive(Debug)]
pub struct Job {
    pub source: Source,
    pub order_id: Uuid,
    pub order: OrderDetails,
    /// `traceparent`/`tracestate` of the order event.
    pub trace: Vec<(String, String)>,
    /// Attempts whose outcome could not be written.
    pub failed_attempts: u32,
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
pub struct Assigned {
    pub epoch: u64,
    pub tracker: OffsetTracker,
}

#[derive(Debug)]
pub struct State {
    pub scheduler: Scheduler<Job>,
    pub partitions: HashMap<i32, Assigned>,
    pub finished: FinishedOrders,
    next_epoch: u64,
}

impl State {
    pub fn new(finished_capacity: usize) -> Self {
        Self {
            scheduler: Scheduler::default(),
            partitions: HashMap::new(),
            finished: FinishedOrders::new(finished_capacity),
            next_epoch: 1,
        }
    }

    /// Starts tracking a newly assigned partition.
    pub fn assign(&mut self, partition: i32) {
        let epoch = self.next_epoch;
        self.next_epoch += 1;
        self.partitions.insert(
            partition,
            Assigned {
                epoch,
                tracker: OffsetTracker::default(),
            },
        );
    }

    /// Records a message taken from `partition`; `None` when the partition is not assigned or
    /// the offset was already taken.
    pub fn take(
        &mut self,
        partition: i32,
        offset: i64,
        taken_at_ms: Option<i64>,
    ) -> Option<Source> {
        let assigned = self.partitions.get_mut(&partition)?;
        assigned
            .tracker
            .take(offset, taken_at_ms)
            .then_some(Source {
                partition,
                offset,
                epoch: assigned.epoch,
            })
    }

    /// Marks `source` finished, unless its partition was revoked since.
    pub fn finish(&mut self, source: Source) -> bool {
        match self.partitions.get_mut(&source.partition) {
            Some(assigned) if assigned.epoch == source.epoch => {
                assigned.tracker.finish(source.offset)
            }
            _ => false,
        }
    }

    /// Messages taken and not finished, over all partitions.
    pub fn in_flight(&self) -> usize {
        self.partitions
            .values()
            .map(|a| a.tracker.unfinished())
            .sum()
    }
}

/// The shared state plus the bell that wakes idle workers.
#[derive(Debug)]
pub struct Shared {
    state: Mutex<State>,
    pub work: Notify,
    pub metrics: Metrics,
}

impl Shared {
    pub fn new(state: State, metrics: Metrics) -> Self {
        Self {
            state: Mutex::new(state),
            work: Notify::new(),
            metrics,
        }
    }

    /// The state; a worker that panicked while holding the lock left it consistent enough
    /// (every change is a single step), so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_from_before_a_reassignment_is_ignored() {
        let mut state = State::new(10);
        state.assign(0);
        let old = state.take(0, 5, None).unwrap();
        state.assign(0);
        state.take(0, 5, None).unwrap();
        assert!(!state.finish(old));
        assert_eq!(state.in_flight(), 1);
    }

    #[test]
    fn messages_of_unassigned_partitions_are_not_taken() {
        let mut state = State::new(10);
        assert_eq!(state.take(3, 0, None), None);
    }

    #[test]
    fn in_flight_counts_every_partition() {
        let mut state = State::new(10);
        state.assign(0);
        state.assign(1);
        state.take(0, 0, None);
        let done = state.take(1, 0, None).unwrap();
        state.take(1, 1, None);
        state.finish(done);
        assert_eq!(state.in_flight(), 2);
    }
}
