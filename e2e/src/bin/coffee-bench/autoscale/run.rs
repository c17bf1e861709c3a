//! One profile under one scaler on the real system: the operator (release build, under its
//! ServiceAccount) reconciles a 12-partition pipeline whose producer and consumer processes the
//! local runtime runs; orders arrive over HTTP at the profile's rate; every second the group's
//! lag (from an independent reader), the ready consumer pods, their live workers and the
//! Deployment's replicas are sampled.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use e2e::fixtures::{RuntimeScene, unique_name};
use e2e::kafka::GroupReader;
use e2e::keda::KedaHpa;
use e2e::load::Load;
use e2e::operator::{OperatorProcess, apply_pipeline, install, pipeline, scene};
use e2e::pipeline::{Wiring, live_workers, ready_pods};
use e2e::poll::eventually;
use e2e::testbed::TestBed;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use tokio::sync::watch;

use super::profile::Profile;
use super::replay;
use e2e::measure::Sample;

pub const PARTITIONS: i32 = 12;
const NAME: &str = "bench";

/// Who sizes the consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scaler {
    Ours,
    KedaHpa,
}

impl Scaler {
    pub fn label(self) -> &'static str {
        match self {
            Scaler::Ours => "ours",
            Scaler::KedaHpa => "KEDA+HPA",
        }
    }
}

/// The pipeline: 12 partitions, 1–12 consumer pods of 10–40 workers (KEDA's keep the
/// template's 10), the product's autoscaling defaults with every timing times `scale`.
fn spec(bed: &TestBed, topic: &str, scaler: Scaler, scale: f64) -> String {
    let seconds = |s: f64| ((s * scale).round() as u64).max(1);
    let mode = match scaler {
        Scaler::Ours => "Enabled",
        Scaler::KedaHpa => "Observe",
    };
    format!(
        "  kafka: {{bootstrapServers: \"{}\", topic: {topic}, partitions: {PARTITIONS}}}\n  producer: {{replicas: 2}}\n  consumer:\n    replicas: {{min: 1, max: {PARTITIONS}}}\n    workers: {{min: 10, max: 40}}\n  autoscaling:\n    mode: {mode}\n    pollIntervalSeconds: {}\n    targetDrainSeconds: {}\n    lagThreshold: 100\n    scaleDownStabilizationSeconds: {}\n    minRebalanceIntervalSeconds: {}\n  topicDeletionPolicy: Delete\n",
        bed.kafka_bootstrap_servers,
        seconds(5.0),
        seconds(30.0),
        seconds(120.0),
        seconds(30.0),
    )
}

/// KEDA's and the HPA's defaults, every timing times `scale`.
fn keda(scale: f64) -> KedaHpa {
    let mut config = KedaHpa::defaults(PARTITIONS, 100, PARTITIONS);
    for timing in [
        &mut config.polling_interval,
        &mut config.sync_period,
        &mut config.scale_down_window,
        &mut config.policy_period,
    ] {
        *timing = timing.mul_f64(scale);
    }
    KedaHpa::new(config, PARTITIONS)
}

/// Runs `profile` under `scaler`; returns the samples.
pub async fn run(
    bed: &TestBed,
    operator_binary: &Path,
    profile: &Profile,
    scaler: Scaler,
    scale: f64,
) -> anyhow::Result<Vec<Sample>> {
    let system = System::start(bed, operator_binary, scaler, scale).await?;
    let samples = system.drive(bed, profile).await;
    system
        .finish(bed, &format!("{} {}", profile.name, scaler.label()))
        .await?;
    samples
}

/// A pipeline running on the test bed, its load, and (for KEDA) the replay.
struct System {
    scene: RuntimeScene,
    operator: OperatorProcess,
    deployments: Api<Deployment>,
    load: Load,
    stop: watch::Sender<bool>,
    origin: Instant,
}

impl System {
    async fn start(
        bed: &TestBed,
        operator_binary: &Path,
        scaler: Scaler,
        scale: f64,
    ) -> anyhow::Result<Self> {
        install(bed)?;
        let scene = scene("bench-autoscale", operator_binary).await?;
        let operator = OperatorProcess::start_watching(bed, operator_binary, &scene).await?;
        let topic = unique_name("bench-orders");
        apply_pipeline(
            bed,
            &scene.namespace,
            NAME,
            &spec(bed, &topic, scaler, scale),
        )?;
        eventually("the pipeline Ready", Duration::from_secs(120), || async {
            let object = pipeline(&scene, NAME).await.map_err(|e| e.to_string())?;
            let ready = object["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
            if ready {
                Ok(())
            } else {
                Err(object["status"].to_string())
            }
        })
        .await
        .with_context(|| operator.log_tail())?;
        let deployments: Api<Deployment> = Api::namespaced(scene.client.clone(), &scene.namespace);
        let (stop, stopped) = watch::channel(false);
        let origin = Instant::now();
        if scaler == Scaler::KedaHpa {
            let consumer = format!("{NAME}-consumer");
            let wiring = Wiring::of_consumer(&deployments, &consumer).await?;
            let reader = GroupReader::new(bed, &wiring.topic, &wiring.group).await?;
            let replay = replay::drive(
                keda(scale),
                reader,
                deployments.clone(),
                consumer,
                origin,
                stopped,
            );
            tokio::spawn(replay);
        }
        let producers = format!("{NAME}-producer");
        let load = Load::start(&scene.runtime, &scene.namespace, &producers, 8080, 0.0);
        Ok(Self {
            scene,
            operator,
            deployments,
            load,
            stop,
            origin,
        })
    }

    /// Sends the profile's load and samples every second until it ends.
    async fn drive(&self, bed: &TestBed, profile: &Profile) -> anyhow::Result<Vec<Sample>> {
        let consumer = format!("{NAME}-consumer");
        let wiring = Wiring::of_consumer(&self.deployments, &consumer).await?;
        let reader = GroupReader::new(bed, &wiring.topic, &wiring.group).await?;
        let http = reqwest::Client::new();
        let mut samples = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut next_sample = Duration::ZERO;
        while self.origin.elapsed() < profile.length() {
            tick.tick().await;
            let at = self.origin.elapsed();
            let rate = profile.rate(at);
            self.load.set_rate(rate);
            if at < next_sample {
                continue;
            }
            next_sample += Duration::from_secs(1);
            let pods = ready_pods(self.scene.runtime.pods(), &consumer);
            let deployment = self.deployments.get(&consumer).await?;
            samples.push(Sample {
                t: at.as_secs_f64(),
                rate,
                lag: reader.read().await?.iter().map(|p| p.lag()).sum(),
                pods: i32::try_from(pods.len()).unwrap_or(i32::MAX),
                workers: live_workers(&http, &pods).await,
                replicas: deployment.spec.and_then(|s| s.replicas).unwrap_or(1),
            });
        }
        Ok(samples)
    }

    async fn finish(self, bed: &TestBed, run: &str) -> anyhow::Result<()> {
        let counts = self.load.stop();
        let _ = self.stop.send(true);
        let count = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!(
            "bench: {run}: {} orders accepted, {} refused, {} failed",
            count(&counts.accepted),
            count(&counts.refused),
            count(&counts.failed),
        );
        let delete = [
            "delete",
            "cop",
            NAME,
            "-n",
            &self.scene.namespace,
            "--timeout=60s",
        ];
        let _ = e2e::operator::kubectl(bed, &delete, None);
        self.operator.stop().await?;
        self.scene.finish().await
    }
}
