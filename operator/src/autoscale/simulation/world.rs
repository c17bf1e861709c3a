//! A model of one pipeline, stepped in time: arrivals spread evenly over partitions, pods that
//! take a while to start, a pause of all processing at every rebalance, workers that change
//! within a second, each worker processing a fixed rate, and optionally a CPU limit per pod
//! and a partition whose commit is stuck.

use std::time::Duration;

use crate::autoscale::lag::PartitionOffsets;
use crate::crd::ConsumerSize;

/// What the modelled pipeline is made of.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    pub partitions: usize,
    /// Messages per second one worker processes.
    pub per_worker_rate: f64,
    /// Messages per second one pod can process at most, whatever its workers (CPU-bound).
    pub pod_limit: Option<f64>,
    /// From a new pod's creation until it consumes.
    pub pod_startup: Duration,
    /// How long every partition stops at a rebalance.
    pub rebalance_pause: Duration,
    /// From a worker change until the pods run it.
    pub worker_delay: Duration,
    /// A partition whose commit stops moving at a time (an order that never finishes).
    pub stuck: Option<(usize, Duration)>,
}

/// The pipeline at one moment.
#[derive(Debug, Clone)]
pub struct World {
    pub model: Model,
    pub now: Duration,
    end: Vec<f64>,
    committed: Vec<f64>,
    /// When each pod became (or becomes) ready, in order of creation.
    pods: Vec<Duration>,
    workers: i32,
    pending_workers: Option<(Duration, i32)>,
    paused_until: Duration,
    ready_pods: usize,
    /// The log ends at the last whole seconds, newest last (what a lister polling every
    /// second would have seen).
    seconds: std::collections::VecDeque<(Duration, Vec<f64>)>,
    pub rebalances: u32,
    pub pod_seconds: f64,
}

impl World {
    pub fn new(model: Model, size: ConsumerSize) -> Self {
        Self {
            model,
            now: Duration::ZERO,
            end: vec![0.0; model.partitions],
            committed: vec![0.0; model.partitions],
            pods: vec![Duration::ZERO; usize::try_from(size.pods).unwrap_or(0)],
            workers: size.workers,
            pending_workers: None,
            paused_until: Duration::ZERO,
            ready_pods: usize::try_from(size.pods).unwrap_or(0),
            seconds: std::collections::VecDeque::new(),
            rebalances: 0,
            pod_seconds: 0.0,
        }
    }

    /// Pods (ready) × workers running now.
    pub fn running(&self) -> ConsumerSize {
        ConsumerSize {
            pods: i32::try_from(self.ready_pods).unwrap_or(i32::MAX),
            workers: self.workers,
        }
    }

    /// Pods asked for, ready or not.
    pub fn pods(&self) -> i32 {
        i32::try_from(self.pods.len()).unwrap_or(i32::MAX)
    }

    /// Asks for `size`: pods start (or stop at once), workers follow after the delay.
    pub fn resize(&mut self, size: ConsumerSize) {
        let wanted = usize::try_from(size.pods.max(0)).unwrap_or(0);
        while self.pods.len() < wanted {
            self.pods.push(self.now + self.model.pod_startup);
        }
        self.pods.truncate(wanted);
        if size.workers != self.workers {
            self.pending_workers = Some((self.now + self.model.worker_delay, size.workers));
        }
    }

    pub fn offsets(&self) -> Vec<PartitionOffsets> {
        (0..self.model.partitions)
            .map(|p| PartitionOffsets {
                partition: i32::try_from(p).unwrap_or(0),
                start: 0,
                end: self.end[p].floor() as i64,
                committed: Some(self.committed[p].floor() as i64),
            })
            .collect()
    }

    /// Messages per second that arrived on each partition over the last whole second.
    pub fn arriving(&self) -> Option<Vec<f64>> {
        let (then, ends) = self
            .seconds
            .iter()
            .rev()
            .find(|(t, _)| *t + Duration::from_secs(1) <= self.now)?;
        let seconds = (self.now - *then).as_secs_f64();
        Some(
            self.end
                .iter()
                .zip(ends)
                .map(|(now, before)| (now - before) / seconds)
                .collect(),
        )
    }

    pub fn lag(&self) -> f64 {
        self.end
            .iter()
            .zip(&self.committed)
            .map(|(e, c)| e - c)
            .sum()
    }

    /// Messages per second the running consumers sustain with arrivals spread evenly: what
    /// the busiest pod (the one with most partitions) can, spread over all partitions.
    pub fn capacity(&self) -> f64 {
        if self.ready_pods == 0 {
            return 0.0;
        }
        let busiest = self.model.partitions.div_ceil(self.ready_pods);
        self.pod_rate() * self.model.partitions as f64 / busiest as f64
    }

    fn pod_rate(&self) -> f64 {
        let rate = f64::from(self.workers) * self.model.per_worker_rate;
        self.model.pod_limit.map_or(rate, |limit| rate.min(limit))
    }

    /// Advances by `dt` with `arrivals` messages per second.
    pub fn step(&mut self, dt: Duration, arrivals: f64) {
        if self.now.subsec_millis() == 0 {
            self.seconds.push_back((self.now, self.end.clone()));
            if self.seconds.len() > 3 {
                self.seconds.pop_front();
            }
        }
        self.now += dt;
        let seconds = dt.as_secs_f64();
        if let Some((at, workers)) = self.pending_workers
            && self.now >= at
        {
            self.workers = workers;
            self.pending_workers = None;
        }
        let ready = self.pods.iter().filter(|&&at| at <= self.now).count();
        if ready != self.ready_pods {
            self.ready_pods = ready;
            self.rebalances += 1;
            self.paused_until = self.now + self.model.rebalance_pause;
        }
        self.pod_seconds += self.pods.len() as f64 * seconds;
        let share = arrivals * seconds / self.model.partitions as f64;
        for end in &mut self.end {
            *end += share;
        }
        if self.now < self.paused_until || self.ready_pods == 0 {
            return;
        }
        for pod in 0..self.ready_pods {
            let owned: Vec<usize> = (pod..self.model.partitions)
                .step_by(self.ready_pods)
                .filter(|&p| !self.is_stuck(p))
                .collect();
            self.process(&owned, self.pod_rate() * seconds);
        }
    }

    fn is_stuck(&self, partition: usize) -> bool {
        self.model
            .stuck
            .is_some_and(|(p, from)| p == partition && self.now >= from)
    }

    /// Spends `budget` messages over `partitions`, evenly, giving what one cannot use to the
    /// others.
    fn process(&mut self, partitions: &[usize], mut budget: f64) {
        let mut open: Vec<usize> = partitions.to_vec();
        while budget > 1e-9 && !open.is_empty() {
            let each = budget / open.len() as f64;
            let mut spent = 0.0;
            open.retain(|&p| {
                let backlog = self.end[p] - self.committed[p];
                let take = backlog.min(each);
                self.committed[p] += take;
                spent += take;
                backlog > each
            });
            budget -= spent;
            if spent <= 1e-12 {
                break;
            }
        }
    }
}
