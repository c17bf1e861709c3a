//! What a short history of polls says about a pipeline (pure): arrival and processing rates,
//! the per-worker processing rate learned while the workers were busy, the partitions that
//! are stalled, and the worker count beyond which more workers stopped raising a pod's
//! throughput.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use super::lag::PartitionOffsets;
use crate::crd::ConsumerSize;

/// Weight of the newest measurement in the learned rates.
const LEARNING_WEIGHT: f64 = 0.5;
/// More workers "help" when a pod's throughput rises by at least this share of the rise the
/// added workers would give if they were all as fast as the first ones.
const EFFECTIVE_SHARE: f64 = 0.5;
/// How long a learned ceiling holds before more workers are tried again.
const CEILING_MEMORY: Duration = Duration::from_secs(600);
/// How far behind the log end commits trail when nothing waits: twice the consumers' commit
/// interval (1 s by default).
const COMMIT_SLACK: Duration = Duration::from_secs(2);
/// The shortest busy stretch a rate is learned from. Consumers commit about once a second, so
/// a shorter one is mostly commit timing; a rebalance pause inside a short one halves it.
const LEARNING_SPAN: Duration = Duration::from_secs(10);

/// One poll: the offsets of every partition and the consumers running meanwhile.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When the offsets were read (on the autoscaler's monotonic clock).
    pub at: Duration,
    pub partitions: Vec<PartitionOffsets>,
    /// Messages per second that arrived on each partition (by index) in the last second, when
    /// known: a step in the load shows in it at once, where the growth since the previous poll
    /// averages it over the whole poll interval.
    pub arriving: Option<Vec<f64>>,
    /// Ready pods × workers per pod while the sample was taken.
    pub running: ConsumerSize,
}

impl Sample {
    fn partition(&self, id: i32) -> Option<&PartitionOffsets> {
        self.partitions.iter().find(|p| p.partition == id)
    }
}

/// A pod count's worth of evidence that more workers stopped helping: beyond `workers` per pod
/// the throughput of a pod stays near `per_pod_rate` (the pod is CPU-bound).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ceiling {
    pub workers: i32,
    pub per_pod_rate: f64,
    /// When it was learned.
    pub at: Duration,
}

/// What the history says now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Estimates {
    /// Lag of every partition.
    pub total_lag: i64,
    /// Lag of the partitions that are not stalled: what more capacity can drain.
    pub lag: i64,
    /// The partition with the most lag, and its lag.
    pub worst: Option<(i32, i64)>,
    /// Messages arriving per second on all partitions; `None` before two polls.
    pub arrival_rate: Option<f64>,
    /// Messages arriving per second on the partitions that are not stalled.
    pub active_arrival_rate: Option<f64>,
    /// Messages processed per second (growth of the committed offsets).
    pub processing_rate: Option<f64>,
    /// Messages one worker processes per second; `None` until the workers were seen busy.
    pub per_worker_rate: Option<f64>,
    /// The most any worker provably processed per second in the recent polls (processed ÷
    /// workers, busy or not): a lower bound of the per-worker rate until it is learned.
    pub per_worker_floor: Option<f64>,
    pub ceiling: Option<Ceiling>,
    /// Partitions with lag whose commit has not moved for the stall polls, in order.
    pub stalled: Vec<i32>,
}

/// The history of one pipeline.
#[derive(Debug, Clone)]
pub struct Tracker {
    stall_polls: usize,
    samples: VecDeque<Sample>,
    per_worker_rate: Option<f64>,
    /// Saturated throughput of one pod, by workers per pod, with when it was last measured.
    per_pod_rate: BTreeMap<i32, (f64, Duration)>,
    /// Where the current busy stretch (same consumers, workers supplied) began.
    busy_since: Option<Sample>,
    ceiling: Option<Ceiling>,
}

impl Tracker {
    /// A tracker that calls a partition stalled after `stall_polls` polls without progress.
    pub fn new(stall_polls: u32) -> Self {
        Self {
            stall_polls: usize::try_from(stall_polls.max(1)).unwrap_or(usize::MAX),
            samples: VecDeque::new(),
            per_worker_rate: None,
            per_pod_rate: BTreeMap::new(),
            busy_since: None,
            ceiling: None,
        }
    }

    /// Partitions of `sample` that have had lag and the same commit for the stall polls: they
    /// are stalled if the group has live members (which the caller asks Kafka only then).
    pub fn stall_candidates(&self, sample: &Sample) -> Vec<i32> {
        if self.samples.len() < self.stall_polls {
            return Vec::new();
        }
        let recent: Vec<&Sample> = self.samples.iter().rev().take(self.stall_polls).collect();
        sample
            .partitions
            .iter()
            .filter(|now| {
                now.lag() > 0
                    && recent.iter().all(|earlier| {
                        earlier.partition(now.partition).is_some_and(|before| {
                            before.lag() > 0 && before.committed == now.committed
                        })
                    })
            })
            .map(|p| p.partition)
            .collect()
    }

    /// Takes in a poll. `stalled` are the candidates the group's liveness confirmed.
    pub fn record(&mut self, sample: Sample, stalled: &[i32]) -> Estimates {
        let stalled: BTreeSet<i32> = stalled.iter().copied().collect();
        self.forget_old_ceiling(sample.at);
        let previous = self.samples.back();
        let arriving = |included: &dyn Fn(i32) -> bool| -> Option<f64> {
            match &sample.arriving {
                Some(rates) => Some(
                    sample
                        .partitions
                        .iter()
                        .zip(rates)
                        .filter(|(p, _)| included(p.partition))
                        .map(|(_, r)| r)
                        .sum(),
                ),
                None => previous.and_then(|p| rate(p, &sample, included, |o| o.end)),
            }
        };
        let arrival_rate = arriving(&|_| true);
        let active_arrival_rate = arriving(&|id| !stalled.contains(&id));
        let oldest = self.samples.iter().rev().nth(1).or(previous);
        let processing_rate = oldest.and_then(|p| rate(p, &sample, |_| true, |o| o.position()));
        if let Some(previous) = previous {
            self.learn(previous.clone(), &sample, &stalled);
        }
        let per_worker_floor = self.floor(&sample);
        let estimates = Estimates {
            total_lag: sample.partitions.iter().map(PartitionOffsets::lag).sum(),
            lag: sample
                .partitions
                .iter()
                .filter(|p| !stalled.contains(&p.partition))
                .map(PartitionOffsets::lag)
                .sum(),
            worst: sample
                .partitions
                .iter()
                .map(|p| (p.partition, p.lag()))
                .max_by_key(|&(partition, lag)| (lag, -partition)),
            arrival_rate,
            active_arrival_rate,
            processing_rate,
            per_worker_rate: self.per_worker_rate,
            per_worker_floor,
            ceiling: self.ceiling,
            stalled: stalled.into_iter().collect(),
        };
        self.samples.push_back(sample);
        while self.samples.len() > self.stall_polls.max(3) {
            self.samples.pop_front();
        }
        estimates
    }

    /// Learns from a stretch of polls in which the workers were busy throughout: the same
    /// consumers ran (no rebalance or resize settling) and the lag of the partitions that move,
    /// beyond what commits trail anyway, could keep every worker supplied at every poll. A stretch counts once it lasts
    /// [`LEARNING_SPAN`]; then the next one begins.
    fn learn(&mut self, previous: Sample, now: &Sample, stalled: &BTreeSet<i32>) {
        let workers = i64::from(now.running.pods) * i64::from(now.running.workers);
        let active_lag = |sample: &Sample| -> i64 {
            sample
                .partitions
                .iter()
                .filter(|p| !stalled.contains(&p.partition))
                .map(PartitionOffsets::lag)
                .sum()
        };
        // Commits trail processing by about a second (the consumers commit once a second), so
        // a pipeline that keeps up still shows a second or so of arrivals as lag: only a
        // backlog beyond that keeps every worker supplied.
        let arriving = rate(&previous, now, |id| !stalled.contains(&id), |o| o.end).unwrap_or(0.0);
        let backlog = workers as f64 + arriving * COMMIT_SLACK.as_secs_f64();
        let busy = workers > 0
            && previous.running == now.running
            && active_lag(&previous) as f64 >= backlog
            && active_lag(now) as f64 >= backlog;
        if !busy {
            self.busy_since = None;
            return;
        }
        let start = self.busy_since.get_or_insert(previous);
        if now.at.saturating_sub(start.at) < LEARNING_SPAN {
            return;
        }
        let start = self.busy_since.replace(now.clone());
        let Some(processed) = start
            .as_ref()
            .and_then(|s| rate(s, now, |id| !stalled.contains(&id), |o| o.position()))
        else {
            return;
        };
        if processed <= 0.0 {
            return;
        }
        let per_pod = processed / f64::from(now.running.pods);
        let w = now.running.workers;
        let learned = self
            .per_pod_rate
            .get(&w)
            .map_or(per_pod, |&(old, _)| blend(old, per_pod));
        self.per_pod_rate.insert(w, (learned, now.at));
        self.detect_ceiling(w, learned, now.at);
        // Beyond a ceiling the workers wait for CPU: their rate says nothing about a worker's.
        if self.ceiling.is_none_or(|c| w <= c.workers) {
            let sample = per_pod / f64::from(w);
            self.per_worker_rate = Some(self.per_worker_rate.map_or(sample, |r| blend(r, sample)));
        }
    }

    /// The highest processed ÷ workers over the intervals of the history up to `now`, counting
    /// the larger of the sizes at an interval's ends.
    fn floor(&self, now: &Sample) -> Option<f64> {
        let mut samples: Vec<&Sample> = self.samples.iter().collect();
        samples.push(now);
        samples
            .windows(2)
            .filter_map(|pair| {
                let workers = |s: &Sample| i64::from(s.running.pods) * i64::from(s.running.workers);
                let most = workers(pair[0]).max(workers(pair[1]));
                let processed = rate(pair[0], pair[1], |_| true, |o| o.position())?;
                (most > 0 && processed > 0.0).then(|| processed / most as f64)
            })
            .reduce(f64::max)
    }

    /// A pod whose throughput at `workers` is barely above what fewer workers gave is
    /// CPU-bound: remember the fewer workers as the most worth running.
    fn detect_ceiling(&mut self, workers: i32, per_pod: f64, at: Duration) {
        let Some((&fewer, &(rate_fewer, _))) = self.per_pod_rate.range(..workers).next_back()
        else {
            return;
        };
        let expected_gain = rate_fewer * (f64::from(workers) / f64::from(fewer) - 1.0);
        if per_pod < rate_fewer + EFFECTIVE_SHARE * expected_gain {
            self.ceiling = Some(Ceiling {
                workers: fewer,
                per_pod_rate: rate_fewer.max(per_pod),
                at,
            });
        } else if self.ceiling.is_some_and(|c| c.workers < workers) {
            self.ceiling = None;
        }
    }

    fn forget_old_ceiling(&mut self, now: Duration) {
        if self
            .ceiling
            .is_some_and(|c| now.saturating_sub(c.at) > CEILING_MEMORY)
        {
            self.ceiling = None;
            self.per_pod_rate
                .retain(|_, (_, at)| now.saturating_sub(*at) <= CEILING_MEMORY);
        }
    }
}

fn blend(old: f64, new: f64) -> f64 {
    old * (1.0 - LEARNING_WEIGHT) + new * LEARNING_WEIGHT
}

/// Growth per second of `offset` summed over the partitions `included` that both samples have.
fn rate(
    from: &Sample,
    to: &Sample,
    included: impl Fn(i32) -> bool,
    offset: impl Fn(&PartitionOffsets) -> i64,
) -> Option<f64> {
    let seconds = to.at.checked_sub(from.at)?.as_secs_f64();
    if seconds <= 0.0 {
        return None;
    }
    let grown: i64 = to
        .partitions
        .iter()
        .filter(|p| included(p.partition))
        .filter_map(|now| {
            let before = from.partition(now.partition)?;
            Some((offset(now) - offset(before)).max(0))
        })
        .sum();
    Some(grown as f64 / seconds)
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
