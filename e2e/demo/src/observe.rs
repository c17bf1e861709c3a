//! Once a second, what a person watching the pipeline would want to see, each figure from its
//! own source: the load generator (orders sent and acknowledged, intake latency), the status
//! topic (completions, end-to-end latency), an independent reader of the group's offsets (lag),
//! the runtime (ready consumer pods) and the pods themselves (live workers), and the
//! pipeline's status (the autoscaler's desired size, stalled partitions, decisions).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use e2e::install::Installed;
use e2e::kafka::GroupReader;
use e2e::load::LoadCounts;
use e2e::pipeline::{live_workers, ready_pods};
use serde_json::Value;

use e2e::ledger::{Ledger, quantile};

/// One second of the demo.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sample {
    /// Seconds since the load started.
    pub t: f64,
    pub phase: &'static str,
    /// Orders per second the load is sending.
    pub target_rate: f64,
    pub accepted_per_s: f64,
    pub completed_per_s: f64,
    /// Orders refused (4xx/5xx) or failed (no answer) since the start.
    pub refused: u64,
    pub lag: i64,
    /// The partition with the most lag: (partition, lag).
    pub worst: Option<(i32, i64)>,
    /// Ready consumer pods and the live workers of each.
    pub pods: i32,
    pub workers: i32,
    /// The consumer Deployment's replicas as the operator set them.
    pub replicas: i32,
    /// Pods × workers the autoscaler wants.
    pub desired: Option<(i32, i32)>,
    pub stalled: Vec<i32>,
    /// Intake latency (request → `202`) over the last second.
    pub intake: Option<(Duration, Duration)>,
    /// End-to-end latency (request → completed) of the last second's completions: p50, p99.
    pub end_to_end: Option<(Duration, Duration)>,
}

/// One decision of the autoscaler, as its status tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub t: f64,
    pub from: (i32, i32),
    pub to: (i32, i32),
    pub reason: String,
    pub message: String,
}

/// Keeps the cursors and clients between samples.
pub struct Observer {
    pub pipeline: String,
    consumer: String,
    reader: GroupReader,
    http: reqwest::Client,
    load: Arc<LoadCounts>,
    ledger: Arc<Mutex<Ledger>>,
    acknowledged_cursor: usize,
    completed_cursor: usize,
    accepted_at: HashMap<String, SystemTime>,
    last_decision: Option<String>,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("pipeline", &self.pipeline)
            .finish_non_exhaustive()
    }
}

impl Observer {
    pub fn new(
        pipeline: &str,
        reader: GroupReader,
        load: Arc<LoadCounts>,
        ledger: Arc<Mutex<Ledger>>,
    ) -> Self {
        Self {
            pipeline: pipeline.to_owned(),
            consumer: format!("{pipeline}-consumer"),
            reader,
            http: reqwest::Client::new(),
            load,
            ledger,
            acknowledged_cursor: 0,
            completed_cursor: 0,
            accepted_at: HashMap::new(),
            last_decision: None,
        }
    }

    /// The figures of the second that ends now, and the autoscaler's decision if it made a new
    /// one. `t` and `target_rate` come from the load's clock.
    pub async fn sample(
        &mut self,
        installed: &Installed,
        t: f64,
        phase: &'static str,
        target_rate: f64,
    ) -> anyhow::Result<(Sample, Option<Decision>)> {
        let mut sample = Sample {
            t,
            phase,
            target_rate,
            ..Sample::default()
        };
        self.sample_load(&mut sample);
        self.sample_completions(&mut sample);
        let partitions = self.reader.read().await?;
        sample.lag = partitions.iter().map(e2e::kafka::GroupPartition::lag).sum();
        sample.worst = partitions
            .iter()
            .map(|p| (p.partition, p.lag()))
            .max_by_key(|&(_, lag)| lag);
        let pods = ready_pods(installed.pipelines.runtime.pods(), &self.consumer);
        sample.pods = i32::try_from(pods.len()).unwrap_or(i32::MAX);
        sample.workers = live_workers(&self.http, &pods).await;
        let status = e2e::operator::pipeline(&installed.pipelines, &self.pipeline).await?;
        let deployment = installed.pipelines.deployments.get(&self.consumer).await?;
        sample.replicas = deployment.spec.and_then(|s| s.replicas).unwrap_or(0);
        let autoscaling = &status["status"]["autoscaling"];
        sample.desired = size(&autoscaling["desired"]);
        sample.stalled = autoscaling["stalledPartitions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_i64().and_then(|p| i32::try_from(p).ok()))
            .collect();
        Ok((sample, self.new_decision(t, &autoscaling["lastDecision"])))
    }

    fn sample_load(&mut self, sample: &mut Sample) {
        let new = self.load.acknowledged_since(self.acknowledged_cursor);
        self.acknowledged_cursor += new.len();
        sample.accepted_per_s = new.len() as f64;
        let mut latencies: Vec<Duration> = new.iter().map(|a| a.latency).collect();
        latencies.sort_unstable();
        sample.intake = p50_p99(&latencies);
        // End to end counts from the request: an order may complete before its `202` arrives.
        self.accepted_at.extend(
            new.into_iter()
                .map(|a| (a.id, a.at.checked_sub(a.latency).unwrap_or(a.at))),
        );
        sample.refused =
            self.load.refused.load(Ordering::Relaxed) + self.load.failed.load(Ordering::Relaxed);
    }

    fn sample_completions(&mut self, sample: &mut Sample) {
        let completions = self
            .ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .completions_since(self.completed_cursor);
        self.completed_cursor += completions.len();
        sample.completed_per_s = completions.len() as f64;
        let mut latencies: Vec<Duration> = completions
            .iter()
            .filter_map(|(id, done)| {
                let accepted = self.accepted_at.get(id)?;
                Some(done.duration_since(*accepted).unwrap_or_default())
            })
            .collect();
        latencies.sort_unstable();
        sample.end_to_end = p50_p99(&latencies);
    }

    fn new_decision(&mut self, t: f64, last: &Value) -> Option<Decision> {
        let time = last["time"].as_str()?.to_owned();
        if self.last_decision.as_ref() == Some(&time) {
            return None;
        }
        let first = self.last_decision.is_none();
        self.last_decision = Some(time);
        let decision = Decision {
            t,
            from: size(&last["from"])?,
            to: size(&last["to"])?,
            reason: last["reason"].as_str().unwrap_or_default().to_owned(),
            message: last["message"].as_str().unwrap_or_default().to_owned(),
        };
        // A decision from before the load started belongs to the pipeline's start, not to the
        // demo's day.
        (!first || t > 1.0).then_some(decision)
    }
}

/// Where a person can send an order by hand: the first ready producer pod's local port.
pub fn intake_url(installed: &Installed, pipeline: &str) -> Option<String> {
    ready_pods(
        installed.pipelines.runtime.pods(),
        &format!("{pipeline}-producer"),
    )
    .iter()
    .find_map(|p| p.base_url(8080))
}

fn size(value: &Value) -> Option<(i32, i32)> {
    let field = |name: &str| value[name].as_i64().and_then(|v| i32::try_from(v).ok());
    Some((field("pods")?, field("workers")?))
}

fn p50_p99(sorted: &[Duration]) -> Option<(Duration, Duration)> {
    Some((quantile(sorted, 0.5)?, quantile(sorted, 0.99)?))
}
