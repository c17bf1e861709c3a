//! A deterministic simulator (test-only): the same modelled pipeline and load profile, driven
//! once by our tracker and policy and once by the KEDA + HPA replay from `e2e`, measured alike.

mod world;

mod tests;

use std::time::Duration;

use e2e::keda::{KedaHpa, PartitionReading};

use super::policy::{self, Memory, Tuning};
use super::shape::Bounds;
use super::tracker::{Sample, Tracker};
use crate::crd::ConsumerSize;
pub use world::{Model, World};

const STEP: Duration = Duration::from_millis(100);
/// A change that undoes the previous one within this long is a flap (e.g. 12 → 1 → 4 pods).
pub const FLAP_WINDOW: f64 = 120.0;

/// Arrivals per second over time: a list of (from second, rate), the last one holding on.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: &'static str,
    pub segments: Vec<(u64, f64)>,
    /// Seconds the run lasts.
    pub length: u64,
}

impl Profile {
    pub fn rate(&self, at: Duration) -> f64 {
        let t = at.as_secs_f64();
        let mut rate = 0.0;
        for (i, &(from, r)) in self.segments.iter().enumerate() {
            if t >= from as f64 {
                rate = match self.segments.get(i + 1) {
                    // A ramp: a segment whose rate is negative interpolates towards the next.
                    Some(&(to, next)) if r < 0.0 => {
                        let start = self.segments.get(i.wrapping_sub(1)).map_or(0.0, |s| s.1);
                        start + (next - start) * (t - from as f64) / (to - from) as f64
                    }
                    _ => r,
                };
            }
        }
        rate
    }

    /// When the arrival rate rises (the moments a scaler must react to).
    pub fn rises(&self) -> Vec<u64> {
        self.segments
            .windows(2)
            .filter(|w| w[1].1 > w[0].1 && w[1].1 > 0.0)
            .map(|w| w[1].0)
            .collect()
    }
}

/// Something that sizes the modelled pipeline.
pub trait Scaler {
    /// Looks at the world at its current time; returns a new size to ask for, if any.
    fn look(&mut self, world: &World) -> Option<ConsumerSize>;
}

/// Our tracker and policy, polling every `poll`.
pub struct Ours {
    pub bounds: Bounds,
    pub tuning: Tuning,
    pub poll: Duration,
    tracker: Tracker,
    memory: Memory,
    decided: ConsumerSize,
    next: Duration,
}

impl Ours {
    pub fn new(bounds: Bounds, tuning: Tuning, stall_polls: u32, start: ConsumerSize) -> Self {
        Self {
            bounds,
            tuning,
            poll: Duration::from_secs(5),
            tracker: Tracker::new(stall_polls),
            memory: Memory::default(),
            decided: start,
            next: Duration::ZERO,
        }
    }
}

impl Scaler for Ours {
    fn look(&mut self, world: &World) -> Option<ConsumerSize> {
        if world.now < self.next {
            return None;
        }
        self.next = world.now + self.poll;
        let sample = Sample {
            at: world.now,
            partitions: world.offsets(),
            arriving: world.arriving(),
            running: world.running(),
        };
        // The modelled group always has live members.
        let stalled = self.tracker.stall_candidates(&sample);
        let estimates = self.tracker.record(sample, &stalled);
        let decision = policy::decide(
            world.now,
            &estimates,
            &self.bounds,
            &self.tuning,
            self.decided,
            &mut self.memory,
        );
        self.decided = decision.to;
        decision.changed().then_some(decision.to)
    }
}

/// The KEDA + HPA replay; workers stay as they are.
pub struct Keda {
    pub replay: KedaHpa,
    pub workers: i32,
}

impl Scaler for Keda {
    fn look(&mut self, world: &World) -> Option<ConsumerSize> {
        if self.replay.poll_due(world.now) {
            let readings: Vec<PartitionReading> = world
                .offsets()
                .iter()
                .map(|p| PartitionReading {
                    log_end: p.end,
                    committed: p.committed,
                })
                .collect();
            self.replay.poll(world.now, &readings);
        }
        if !self.replay.sync_due(world.now) {
            return None;
        }
        let pods = self.replay.sync(world.now, world.pods());
        (pods != world.pods()).then_some(ConsumerSize {
            pods,
            workers: self.workers,
        })
    }
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Seconds from each rise of the arrival rate until the running consumers sustained it
    /// (`None`: never within the run).
    pub to_sufficient: Vec<Option<f64>>,
    pub peak_lag: f64,
    /// Seconds from the last rise until the lag, having grown beyond one second of arrivals,
    /// was back under it (`None`: it never was within the run).
    pub to_drain: Option<f64>,
    pub rebalances: u32,
    pub pod_seconds: f64,
    /// Seconds in which the running consumers could not sustain the arrivals.
    pub short_seconds: f64,
    /// Changes of the asked-for size, and how many of them reversed the previous change
    /// within [`FLAP_WINDOW`].
    pub changes: u32,
    pub flaps: u32,
    /// The most pods ever asked for.
    pub max_pods: i32,
    /// Sizes asked for, with when.
    pub decisions: Vec<(f64, ConsumerSize)>,
}

/// Runs `profile` on `model` starting at `start`, sized by `scaler`.
pub fn run(
    profile: &Profile,
    model: Model,
    start: ConsumerSize,
    scaler: &mut dyn Scaler,
) -> Outcome {
    let mut world = World::new(model, start);
    let rises = profile.rises();
    let mut to_sufficient = vec![None; rises.len()];
    let (mut peak_lag, mut to_drain, mut max_pods) = (0.0f64, None, start.pods);
    let mut decisions: Vec<(f64, ConsumerSize)> = Vec::new();
    let mut last_total = i64::from(start.pods) * i64::from(start.workers);
    let (mut changes, mut flaps, mut last_direction) = (0, 0, None::<(bool, f64)>);
    let mut short_seconds = 0.0;
    let mut was_behind = false;
    while world.now < Duration::from_secs(profile.length) {
        let rate = profile.rate(world.now);
        if let Some(size) = scaler.look(&world) {
            let t = world.now.as_secs_f64();
            let total = i64::from(size.pods) * i64::from(size.workers);
            let up = total > last_total;
            if let Some((previous, when)) = last_direction
                && previous != up
                && t - when < FLAP_WINDOW
            {
                flaps += 1;
            }
            last_direction = Some((up, t));
            last_total = total;
            changes += 1;
            max_pods = max_pods.max(size.pods);
            decisions.push((t, size));
            world.resize(size);
        }
        world.step(STEP, rate);
        let t = world.now.as_secs_f64();
        let rate = profile.rate(world.now);
        if world.capacity() < rate {
            short_seconds += STEP.as_secs_f64();
        }
        peak_lag = peak_lag.max(world.lag());
        for (i, &rise) in rises.iter().enumerate() {
            let until = rises.get(i + 1).map_or(f64::MAX, |&next| next as f64);
            if to_sufficient[i].is_none()
                && t >= rise as f64
                && t < until
                && world.capacity() >= rate
            {
                to_sufficient[i] = Some(t - rise as f64);
            }
        }
        if let Some(&last) = rises.last()
            && to_drain.is_none()
            && t > last as f64
        {
            let behind = world.lag() > rate.max(1.0);
            if behind {
                was_behind = true;
            } else if was_behind {
                to_drain = Some(t - last as f64);
            }
        }
    }
    Outcome {
        to_sufficient,
        peak_lag,
        to_drain,
        rebalances: world.rebalances,
        pod_seconds: world.pod_seconds,
        short_seconds,
        changes,
        flaps,
        max_pods,
        decisions,
    }
}
