//! One profile under one scaler on the real system: the operator (release build, under its
//! ServiceAccount) reconciles a 12-partition pipeline whose producer and consumer processes the
//! local runtime runs; orders arrive over HTTP at the profile's rate; every second the group's
//! lag (from an independent reader), the ready consumer pods, their live workers and the
//! Deployment's replicas are sampled.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use e2e::fixtures::unique_name;
use e2e::kafka::GroupReader;
use e2e::keda::KedaHpa;
use e2e::load::Load;
use e2e::operator::{OperatorProcess, apply_pipeline, install, pipeline, scene};
use e2e::poll::eventually;
use e2e::runtime::PodSnapshot;
use e2e::testbed::TestBed;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use tokio::sync::watch;

use super::measure::Sample;
use super::profile::Profile;
use super::replay;

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
    let group = format!("{topic}-processor");
    let deployments: Api<Deployment> = Api::namespaced(scene.client.clone(), &scene.namespace);
    let consumer = format!("{NAME}-consumer");
    let (stop, stopped) = watch::channel(false);
    let origin = Instant::now();
    if scaler == Scaler::KedaHpa {
        let reader = GroupReader::new(bed, &topic, &group).await?;
        let (deployments, consumer) = (deployments.clone(), consumer.clone());
        tokio::spawn(replay::drive(
            keda(scale),
            reader,
            deployments,
            consumer,
            origin,
            stopped,
        ));
    }
    let load = Load::start(
        &scene.runtime,
        &scene.namespace,
        &format!("{NAME}-producer"),
        8080,
        0.0,
    );
    let reader = GroupReader::new(bed, &topic, &group).await?;
    let http = reqwest::Client::new();
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut next_sample = Duration::ZERO;
    while origin.elapsed() < profile.length() {
        tick.tick().await;
        let at = origin.elapsed();
        let rate = profile.rate(at);
        load.set_rate(rate);
        if at < next_sample {
            continue;
        }
        next_sample += Duration::from_secs(1);
        let lag = reader.read().await?.iter().map(|p| p.lag()).sum();
        let pods: Vec<PodSnapshot> = scene
            .runtime
            .pods()
            .into_iter()
            .filter(|p| p.deployment == consumer && p.ready)
            .collect();
        let replicas = deployments
            .get(&consumer)
            .await?
            .spec
            .and_then(|s| s.replicas)
            .unwrap_or(1);
        samples.push(Sample {
            t: at.as_secs_f64(),
            rate,
            lag,
            pods: i32::try_from(pods.len()).unwrap_or(i32::MAX),
            workers: live_workers(&http, &pods).await,
            replicas,
        });
    }
    let counts = load.stop();
    let _ = stop.send(true);
    eprintln!(
        "bench: {} {}: {} orders accepted, {} refused, {} failed",
        profile.name,
        scaler.label(),
        counts.accepted.load(std::sync::atomic::Ordering::Relaxed),
        counts.refused.load(std::sync::atomic::Ordering::Relaxed),
        counts.failed.load(std::sync::atomic::Ordering::Relaxed),
    );
    let _ = e2e::operator::kubectl(
        bed,
        &[
            "delete",
            "cop",
            NAME,
            "-n",
            &scene.namespace,
            "--timeout=60s",
        ],
        None,
    );
    operator.stop().await?;
    scene.finish().await?;
    Ok(samples)
}

/// Workers per pod as the first ready consumer reports them live.
async fn live_workers(http: &reqwest::Client, pods: &[PodSnapshot]) -> i32 {
    let Some(port) = pods
        .iter()
        .find_map(|p| p.ports.iter().find(|a| a.container_port == 8080))
    else {
        return 0;
    };
    let url = format!("http://127.0.0.1:{}/workers", port.local_port);
    match http.get(url).send().await {
        Ok(response) => response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v["live"].as_i64())
            .and_then(|w| i32::try_from(w).ok())
            .unwrap_or(0),
        Err(_) => 0,
    }
}
