//! The scaling decision (pure): from what the tracker estimates, the spec's bounds and the
//! size running now, the next pods × workers and why, with the numbers behind it.
//!
//! - Size from rates: enough workers to keep up with arrivals and drain the lag within the
//!   target time, at the learned per-worker rate, sized so arrivals use at most
//!   [`TARGET_UTILISATION`] of it. Until a rate is learned (the workers were never all busy),
//!   the pipeline counts as keeping up while its lag is within `lagThreshold` per worker, and
//!   is sized with the higher of two lower bounds of a worker's rate: what the workers
//!   provably processed, and `lagThreshold` per drain target.
//! - Workers first: the running pods get more workers (no rebalance) until they reach the
//!   maximum, or the count beyond which more workers stopped raising a pod's throughput; only
//!   then are pods added, enough to leave a quarter of their workers spare for corrections
//!   that need no rebalance. Pod counts are chosen for the busiest pod's share of partitions
//!   ([`super::shape`]).
//! - Grow at once when the current size falls short; shrink only to the largest size any poll
//!   in the stabilisation window asked for; at most one pod-count change (a rebalance) per
//!   minimum interval; a shrink that keeps every pod must cut at least a tenth of the workers.
//!   Growing triggers at 100 % use and sizes for 80 %, so a steady load sits inside that band
//!   and nothing oscillates.

use std::collections::VecDeque;
use std::time::Duration;

use super::shape::Bounds;
use super::tracker::Estimates;
use crate::crd::{AutoscalingSpec, ConsumerSize};

/// The share of capacity arrivals and draining may use after a scale-up.
pub const TARGET_UTILISATION: f64 = 0.8;

/// The share of their workers that pods added by a scale-up leave spare.
pub const POD_ROOM: f64 = 0.25;

/// A shrink that keeps a pod must cut at least this share of the workers: trimming one worker
/// of fifty is not worth an Event, and would turn small wobbles of the estimates into changes.
const MIN_SHRINK: f64 = 0.9;

/// Tuning from the spec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    pub target_drain: Duration,
    pub lag_threshold: u64,
    pub scale_down_window: Duration,
    pub min_rebalance_interval: Duration,
}

impl Tuning {
    /// The spec's tuning in the policy's units.
    pub fn of(spec: &AutoscalingSpec) -> Self {
        let seconds = |s: u32| Duration::from_secs(u64::from(s));
        Self {
            target_drain: seconds(spec.target_drain_seconds),
            lag_threshold: spec.lag_threshold,
            scale_down_window: seconds(spec.scale_down_stabilization_seconds),
            min_rebalance_interval: seconds(spec.min_rebalance_interval_seconds),
        }
    }
}

/// Why the size is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The running size already suffices and no smaller one has sufficed for the whole window.
    Steady,
    /// Arrivals plus draining the lag need more than the running size gives.
    CapacityShort,
    /// The running size falls short, but it is the largest the bounds allow.
    AtMaximum,
    /// Every poll in the stabilisation window would have been served by a smaller size.
    CapacityUnused,
    /// The spec's bounds (or the partitions) moved and the size followed them.
    Bounds,
}

impl Reason {
    pub const ALL: [Reason; 5] = [
        Reason::Steady,
        Reason::CapacityShort,
        Reason::AtMaximum,
        Reason::CapacityUnused,
        Reason::Bounds,
    ];

    /// A CamelCase word for conditions and Events.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Steady => "Steady",
            Reason::CapacityShort => "CapacityShort",
            Reason::AtMaximum => "AtMaximum",
            Reason::CapacityUnused => "CapacityUnused",
            Reason::Bounds => "Bounds",
        }
    }
}

/// The next size and the numbers it was decided from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub from: ConsumerSize,
    pub to: ConsumerSize,
    pub reason: Reason,
    /// A pod-count change was wanted but the minimum interval between rebalances holds it.
    pub pods_held: bool,
    /// Messages per second to serve: arrivals plus the lag spread over the drain target;
    /// `None` until a per-worker rate is learned.
    pub need: Option<f64>,
    /// Messages per second `from` and `to` can process, by the learned rate.
    pub capacity_from: Option<f64>,
    pub capacity_to: Option<f64>,
    /// Seconds until the lag is gone at `to`'s capacity; `None` if it would not drain.
    pub drain_seconds: Option<f64>,
}

impl Decision {
    pub fn changed(&self) -> bool {
        self.from != self.to
    }
}

/// What the policy remembers between polls.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// Workers' worth of throughput each recent poll asked for, oldest first.
    asked: VecDeque<(Duration, f64)>,
    /// When the window began (the first poll, or the restart).
    since: Option<Duration>,
    /// When the pod count last changed.
    pub last_pod_change: Option<Duration>,
}

/// Decides the next size at `at`, given `current` (what runs, or was last decided).
pub fn decide(
    at: Duration,
    estimates: &Estimates,
    bounds: &Bounds,
    tuning: &Tuning,
    current: ConsumerSize,
    memory: &mut Memory,
) -> Decision {
    let since = *memory.since.get_or_insert(at);
    let rate = sizing_rate(estimates, tuning);
    let max_workers = estimates
        .ceiling
        .map_or(bounds.workers.max, |c| c.workers.min(bounds.workers.max));
    let asked = rate.need / rate.per_worker / rate.utilisation;
    memory.asked.push_back((at, asked));
    while memory
        .asked
        .front()
        .is_some_and(|&(t, _)| at.saturating_sub(t) > tuning.scale_down_window)
    {
        memory.asked.pop_front();
    }
    let may_rebalance = memory
        .last_pod_change
        .is_none_or(|t| at.saturating_sub(t) >= tuning.min_rebalance_interval);
    let clamped = bounds.clamp(current);
    let short = if rate.learned {
        bounds.effective_workers(current) + 1e-9 < rate.need / rate.per_worker
    } else {
        // No rate to compare arrivals with: keeping up means lag within the threshold per worker.
        estimates.lag as f64 > bounds.effective_workers(current) * tuning.lag_threshold as f64
    };
    let (to, reason, pods_held) = if clamped != current {
        (clamped, Reason::Bounds, false)
    } else if short {
        grow(bounds, current, asked, max_workers, may_rebalance)
    } else if at.saturating_sub(since) >= tuning.scale_down_window {
        let largest_asked = memory.asked.iter().map(|&(_, w)| w).fold(0.0, f64::max);
        shrink(bounds, current, largest_asked, may_rebalance)
    } else {
        (current, Reason::Steady, false)
    };
    if to.pods != current.pods {
        memory.last_pod_change = Some(at);
    }
    let capacity = |size: ConsumerSize| {
        let per_pod = f64::from(size.workers) * rate.per_worker;
        let per_pod = estimates
            .ceiling
            .map_or(per_pod, |c| per_pod.min(c.per_pod_rate));
        per_pod * bounds.effective_workers(size) / f64::from(size.workers.max(1))
    };
    let arrivals = estimates.active_arrival_rate.unwrap_or(0.0);
    let drain_seconds = match capacity(to) {
        _ if estimates.lag == 0 => Some(0.0),
        c if c > arrivals => Some(estimates.lag as f64 / (c - arrivals)),
        _ => None,
    };
    Decision {
        from: current,
        to,
        reason,
        pods_held,
        need: rate.learned.then_some(rate.need),
        capacity_from: rate.learned.then(|| capacity(current)),
        capacity_to: rate.learned.then(|| capacity(to)),
        drain_seconds,
    }
}

/// The rate sizing works with: the learned one; until then the higher of what the workers
/// provably processed and `lagThreshold` per worker per drain target.
struct SizingRate {
    per_worker: f64,
    /// Messages per second to serve: arrivals and the lag spread over the drain target.
    need: f64,
    utilisation: f64,
    learned: bool,
}

fn sizing_rate(estimates: &Estimates, tuning: &Tuning) -> SizingRate {
    let drain = tuning.target_drain.as_secs_f64().max(1.0);
    let need = estimates.active_arrival_rate.unwrap_or(0.0) + estimates.lag.max(0) as f64 / drain;
    match estimates.per_worker_rate.filter(|r| *r > 0.0) {
        Some(per_worker) => SizingRate {
            per_worker,
            need,
            utilisation: TARGET_UTILISATION,
            learned: true,
        },
        None => SizingRate {
            per_worker: estimates
                .per_worker_floor
                .unwrap_or(0.0)
                .max(tuning.lag_threshold.max(1) as f64 / drain),
            need,
            utilisation: 1.0,
            learned: false,
        },
    }
}

/// A size that serves `asked` workers' worth: more workers in the running pods first, then
/// more pods if the minimum interval since the last rebalance has passed.
fn grow(
    bounds: &Bounds,
    current: ConsumerSize,
    asked: f64,
    max_workers: i32,
    may_rebalance: bool,
) -> (ConsumerSize, Reason, bool) {
    let in_place = bounds.smallest_fitting(asked, current.pods, max_workers);
    let wanted = if in_place.pods == current.pods {
        ConsumerSize {
            pods: current.pods,
            workers: in_place.workers.max(current.workers),
        }
    } else {
        with_room(bounds, current.pods, asked, max_workers).unwrap_or(in_place)
    };
    let (to, held) = if wanted.pods != current.pods && !may_rebalance {
        let workers = bounds
            .workers_per_pod(current.pods, asked)
            .clamp(current.workers, max_workers.max(current.workers));
        (
            ConsumerSize {
                pods: current.pods,
                workers,
            },
            true,
        )
    } else {
        (wanted, false)
    };
    if bounds.effective_workers(to) <= bounds.effective_workers(current) {
        (current, Reason::AtMaximum, held)
    } else {
        (to, Reason::CapacityShort, held)
    }
}

/// Added pods with [`POD_ROOM`] of their workers spare: the next pod change waits the minimum
/// interval between rebalances, but more workers do not, so a size found short after a
/// rebalance (the first estimate of a step often is) is corrected at once. `None` when no pod
/// count allows that room.
fn with_room(
    bounds: &Bounds,
    from_pods: i32,
    asked: f64,
    max_workers: i32,
) -> Option<ConsumerSize> {
    let roomy =
        ((f64::from(max_workers) * (1.0 - POD_ROOM)).floor() as i32).max(bounds.workers.min);
    let size = bounds.smallest_fitting(asked, from_pods, roomy);
    (bounds.effective_workers(size) + 1e-9 >= asked).then_some(size)
}

/// The smallest size that would have served every poll of the window, if smaller than the
/// running one; fewer pods only if the minimum interval since the last rebalance has passed.
fn shrink(
    bounds: &Bounds,
    current: ConsumerSize,
    largest_asked: f64,
    may_rebalance: bool,
) -> (ConsumerSize, Reason, bool) {
    let smallest = bounds.smallest_fitting(largest_asked, bounds.min_pods(), current.workers);
    let (candidate, held) = if smallest.pods != current.pods && !may_rebalance {
        let workers = bounds.workers_per_pod(current.pods, largest_asked);
        (
            ConsumerSize {
                pods: current.pods,
                workers: workers.min(current.workers),
            },
            true,
        )
    } else {
        (smallest, false)
    };
    let worth_it = candidate.pods < current.pods
        || bounds.effective_workers(candidate) <= MIN_SHRINK * bounds.effective_workers(current);
    if worth_it {
        (candidate, Reason::CapacityUnused, held)
    } else {
        (current, Reason::Steady, held)
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
