//! Which order a worker brews next: parallel across orders, strictly in order per order. Events
//! of an order whose earlier event is still queued or with a worker wait behind it; a cancel
//! request for an order that has not begun brewing turns its brew into a cancellation, whether
//! it is still queued or already taken by a worker (see [`crate::claim`]).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;

use crate::claim::Claim;

/// Work the scheduler can order: it names the order it belongs to and where it came from.
pub trait Keyed {
    type Key: Copy + Eq + Hash;
    fn key(&self) -> Self::Key;
    fn partition(&self) -> i32;
}

/// What became of a cancel request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The order has not started brewing; it will be cancelled instead.
    BeforeBrewing,
    /// The order is brewing; the request is too late.
    TooLate,
    /// Nothing of this order is queued or brewing here (finished, or never seen).
    NotPending,
}

/// A job handed to a worker, with the claim the worker settles when it begins the job.
#[derive(Debug)]
pub struct Started<J> {
    pub job: J,
    pub claim: Arc<Claim>,
}

impl<J> Started<J> {
    /// The worker begins the job: true to go ahead, false if it was cancelled first.
    pub fn begin(&self) -> bool {
        self.claim.begin()
    }
}

#[derive(Debug)]
struct KeyState<J> {
    /// The claim of the key's job that is with a worker, if one is.
    claim: Option<Arc<Claim>>,
    /// A cancel request arrived before the key's queued job was taken.
    cancel_requested: bool,
    /// Later jobs of this key, waiting for the running one.
    waiting: VecDeque<J>,
}

/// Ready jobs in arrival order plus, per key with work, what waits behind it.
#[derive(Debug)]
pub struct Scheduler<J: Keyed> {
    ready: VecDeque<J>,
    keys: HashMap<J::Key, KeyState<J>>,
}

impl<J: Keyed> Default for Scheduler<J> {
    fn default() -> Self {
        Self {
            ready: VecDeque::new(),
            keys: HashMap::new(),
        }
    }
}

impl<J: Keyed> Scheduler<J> {
    /// Queues `job`: ready at once unless an earlier job of its key is queued or running.
    pub fn submit(&mut self, job: J) {
        match self.keys.get_mut(&job.key()) {
            Some(state) => state.waiting.push_back(job),
            None => {
                self.keys.insert(
                    job.key(),
                    KeyState {
                        claim: None,
                        cancel_requested: false,
                        waiting: VecDeque::new(),
                    },
                );
                self.ready.push_back(job);
            }
        }
    }

    /// Asks to cancel the order `key`.
    pub fn cancel(&mut self, key: J::Key) -> CancelOutcome {
        match self.keys.get_mut(&key) {
            None => CancelOutcome::NotPending,
            Some(KeyState {
                claim: Some(claim), ..
            }) => {
                if claim.cancel() {
                    CancelOutcome::BeforeBrewing
                } else {
                    CancelOutcome::TooLate
                }
            }
            Some(state) => {
                state.cancel_requested = true;
                CancelOutcome::BeforeBrewing
            }
        }
    }

    /// The next ready job, its key held by the worker until [`Scheduler::finish`].
    pub fn start(&mut self) -> Option<Started<J>> {
        let job = self.ready.pop_front()?;
        let claim = match self.keys.get_mut(&job.key()) {
            Some(state) => {
                let cancelled = std::mem::take(&mut state.cancel_requested);
                Arc::clone(state.claim.insert(Arc::new(Claim::new(cancelled))))
            }
            // A retried job: its key finished before it was put back.
            None => Arc::new(Claim::new(false)),
        };
        Some(Started { job, claim })
    }

    /// A worker gives back a job it took but did not begin (its pool shrank): it is ready
    /// again, first in line, with a cancel that arrived meanwhile kept.
    pub fn give_back(&mut self, started: Started<J>) {
        if let Some(state) = self.keys.get_mut(&started.job.key()) {
            state.claim = None;
            state.cancel_requested |= started.claim.is_cancelled();
        }
        self.ready.push_front(started.job);
    }

    /// The running job of `key` is done: the next job of the key, if any, becomes ready (and
    /// the answer is true).
    pub fn finish(&mut self, key: J::Key) -> bool {
        let Some(state) = self.keys.get_mut(&key) else {
            return false;
        };
        match state.waiting.pop_front() {
            Some(next) => {
                state.claim = None;
                self.ready.push_back(next);
                true
            }
            None => {
                self.keys.remove(&key);
                false
            }
        }
    }

    /// Jobs ready for a worker and not started.
    pub fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// Drops every queued job of `partition` (it was revoked) and returns them. Jobs taken by
    /// workers stay with them.
    pub fn drop_partition(&mut self, partition: i32) -> Vec<J> {
        let mut dropped = Vec::new();
        let (keep, gone): (VecDeque<J>, VecDeque<J>) = std::mem::take(&mut self.ready)
            .into_iter()
            .partition(|job| job.partition() != partition);
        self.ready = keep;
        for job in &gone {
            if let Some(state) = self.keys.get(&job.key())
                && state.claim.is_none()
                && state.waiting.is_empty()
            {
                self.keys.remove(&job.key());
            }
        }
        dropped.extend(gone);
        for state in self.keys.values_mut() {
            let (keep, gone): (VecDeque<J>, VecDeque<J>) = std::mem::take(&mut state.waiting)
                .into_iter()
                .partition(|job| job.partition() != partition);
            state.waiting = keep;
            dropped.extend(gone);
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Job {
        key: u32,
        partition: i32,
        offset: i64,
    }

    impl Keyed for Job {
        type Key = u32;
        fn key(&self) -> u32 {
            self.key
        }
        fn partition(&self) -> i32 {
            self.partition
        }
    }

    fn job(key: u32, offset: i64) -> Job {
        Job {
            key,
            partition: 0,
            offset,
        }
    }

    /// The next job as (key, offset, cancelled), begun by its worker.
    fn started(scheduler: &mut Scheduler<Job>) -> Option<(u32, i64, bool)> {
        scheduler
            .start()
            .map(|s| (s.job.key, s.job.offset, !s.begin()))
    }

    #[test]
    fn different_orders_are_ready_together() {
        let mut scheduler = Scheduler::default();
        scheduler.submit(job(1, 0));
        scheduler.submit(job(2, 1));
        assert_eq!(started(&mut scheduler), Some((1, 0, false)));
        assert_eq!(started(&mut scheduler), Some((2, 1, false)));
    }

    #[test]
    fn a_later_event_of_one_order_waits_for_the_running_one() {
        let mut scheduler = Scheduler::default();
        scheduler.submit(job(1, 0));
        scheduler.submit(job(1, 1));
        scheduler.submit(job(2, 2));
        assert_eq!(started(&mut scheduler), Some((1, 0, false)));
        assert_eq!(started(&mut scheduler), Some((2, 2, false)));
        assert_eq!(started(&mut scheduler), None);
        scheduler.finish(1);
        assert_eq!(started(&mut scheduler), Some((1, 1, false)));
    }

    #[test]
    fn cancel_before_start_marks_the_job_cancelled() {
        let mut scheduler = Scheduler::default();
        scheduler.submit(job(1, 0));
        assert_eq!(scheduler.cancel(1), CancelOutcome::BeforeBrewing);
        assert_eq!(started(&mut scheduler), Some((1, 0, true)));
    }

    #[test]
    fn cancel_while_brewing_is_too_late() {
        let mut scheduler = Scheduler::default();
        scheduler.submit(job(1, 0));
        let taken = scheduler.start().unwrap();
        assert!(taken.begin());
        assert_eq!(scheduler.cancel(1), CancelOutcome::TooLate);
    }

    /// A worker takes several jobs at once; one it has not begun is still cancellable.
    #[test]
    fn cancel_of_a_job_taken_but_not_begun_wins() {
        let mut scheduler = Scheduler::default();
        scheduler.submit(job(1, 0));
        scheduler.submit(job(2, 1));
        let first = scheduler.start().unwrap();
        let second = scheduler.start().unwrap();
        assert!(first.begin());
        assert_eq!(scheduler.cancel(2), CancelOutcome::BeforeBrewing);
        assert!(!second.begin(), "the worker must not brew it");
    }

    #[test]
    fn a_job_given_back_is_ready_first_and_keeps_its_cancel() {
        let mut scheduler = Scheduler::default();
        scheduler.submit(job(1, 0));
        scheduler.submit(job(2, 1));
        let taken = scheduler.start().unwrap();
        assert_eq!(scheduler.cancel(1), CancelOutcome::BeforeBrewing);
        scheduler.give_back(taken);
        assert_eq!(started(&mut scheduler), Some((1, 0, true)));
        assert_eq!(started(&mut scheduler), Some((2, 1, false)));
    }

    #[test]
    fn cancel_of_an_order_with_nothing_pending_does_nothing() {
        let mut scheduler: Scheduler<Job> = Scheduler::default();
        assert_eq!(scheduler.cancel(9), CancelOutcome::NotPending);
        scheduler.submit(job(9, 0));
        let _ = scheduler.start();
        scheduler.finish(9);
        assert_eq!(scheduler.cancel(9), CancelOutcome::NotPending);
    }

    #[test]
    fn dropping_a_partition_removes_its_queued_jobs_only() {
        let mut scheduler = Scheduler::default();
        let other = Job {
            key: 3,
            partition: 1,
            offset: 0,
        };
        scheduler.submit(job(1, 0));
        scheduler.submit(job(1, 1));
        scheduler.submit(other);
        scheduler.submit(job(2, 2));
        let _ = scheduler.start();
        let dropped: Vec<i64> = scheduler
            .drop_partition(0)
            .iter()
            .map(|j| j.offset)
            .collect();
        assert_eq!(dropped, vec![2, 1]);
        assert_eq!(started(&mut scheduler), Some((3, 0, false)));
        assert_eq!(started(&mut scheduler), None);
        scheduler.finish(1);
        assert_eq!(started(&mut scheduler), None);
    }

    proptest::proptest! {
        /// However workers interleave, each order's events start in the order they arrived.
        #[test]
        fn events_of_one_order_start_in_arrival_order(
            keys in proptest::collection::vec(0u32..5, 1..80),
            choices in proptest::collection::vec(0usize..4, 200),
        ) {
            let mut scheduler = Scheduler::default();
            for (offset, key) in keys.iter().enumerate() {
                scheduler.submit(job(*key, i64::try_from(offset).unwrap()));
            }
            let mut running: Vec<Job> = Vec::new();
            let mut seen: HashMap<u32, i64> = HashMap::new();
            let mut choices = choices.into_iter().cycle();
            let mut done = 0;
            while done < keys.len() {
                let start = choices.next().unwrap() != 0 || running.is_empty();
                if start && let Some(started) = scheduler.start() {
                    proptest::prop_assert!(running.iter().all(|j| j.key != started.job.key));
                    let previous = seen.insert(started.job.key, started.job.offset);
                    proptest::prop_assert!(previous.is_none_or(|p| p < started.job.offset));
                    running.push(started.job);
                    continue;
                }
                let index = choices.next().unwrap() % running.len().max(1);
                if index < running.len() {
                    let finished = running.swap_remove(index);
                    scheduler.finish(finished.key);
                    done += 1;
                }
            }
        }
    }
}
