//! `coffee-bench operator`: many pipelines at once. Creates N pipelines (one-partition topics,
//! autoscaling `Enabled`; no pod runtime, so their Deployments run no processes) for a
//! `coffee-operator` watching their namespace, and measures the time until every pipeline's
//! topics exist and its status describes its current generation, the reconcile latency from the
//! operator's own histogram, then the operator's CPU while it reads every pipeline's lag every
//! 5 s for a minute, and its peak RSS over it all.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use e2e::fixtures::{create_namespace, delete_namespace, unique_name};
use e2e::kafka::admin;
use e2e::testbed::TestBed;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams, PostParams};
use serde_json::json;
use tokio::process::Command;

use crate::process_stats::{cpu_seconds, peak_rss_mib, rss_mib};

fn resource() -> ApiResource {
    ApiResource {
        group: "coffee-pipeline.io".into(),
        version: "v1alpha1".into(),
        api_version: "coffee-pipeline.io/v1alpha1".into(),
        kind: "CoffeeOrderPipeline".into(),
        plural: "coffeeorderpipelines".into(),
    }
}

/// Quantile `q` of a Prometheus histogram in the operator's metrics, by linear interpolation
/// inside the bucket that holds it.
fn quantile(metrics: &str, name: &str, q: f64) -> f64 {
    let buckets: Vec<(f64, f64)> = metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}_bucket{{")))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((bound, l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect();
    let Some(&(_, total)) = buckets.last() else {
        return f64::NAN;
    };
    let target = total * q;
    let mut previous = (0.0, 0.0);
    for &(bound, count) in &buckets {
        if count >= target {
            if bound.is_infinite() {
                return previous.0;
            }
            let width = count - previous.1;
            let within = if width > 0.0 {
                (target - previous.1) / width
            } else {
                0.0
            };
            return previous.0 + (bound - previous.0) * within;
        }
        previous = (bound, count);
    }
    f64::NAN
}

/// What a minute of only reading lag cost.
struct Steady {
    polls_per_second: f64,
    /// CPU time over wall time.
    cpu_share: f64,
    metrics: String,
}

fn polls(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("coffee_autoscaler_polls_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits 30 s for the pipelines' loops to settle, then measures 60 s.
async fn steady_state(child: &tokio::process::Child, url: &str) -> anyhow::Result<Steady> {
    tokio::time::sleep(Duration::from_secs(30)).await;
    let (cpu_before, polls_before) = (
        cpu_seconds(child),
        polls(&reqwest::get(url).await?.text().await?),
    );
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let metrics = reqwest::get(url).await?.text().await?;
    let wall = started.elapsed().as_secs_f64();
    Ok(Steady {
        polls_per_second: (polls(&metrics) - polls_before) / wall,
        cpu_share: (cpu_seconds(child) - cpu_before) / wall,
        metrics,
    })
}

pub async fn operator(pipelines: usize, binary: Option<PathBuf>) -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    // The CRD, namespace and RBAC, waiting until the API server serves the CRD (on a fresh API
    // server the first pipelines were refused with 404 before it did).
    e2e::operator::install(&bed)?;
    let client = bed.kube_client().await?;
    let namespace = unique_name("bench-operator");
    create_namespace(&client, &namespace).await?;
    let binary = match binary {
        Some(binary) => binary,
        None => std::env::current_exe()?
            .parent()
            .context("bin dir")?
            .join("coffee-operator"),
    };
    eprintln!("bench: operator {}", binary.display());
    let port = e2e::ports::free_local_port()?;
    let log = std::fs::File::create(PathBuf::from(&bed.log_dir).join("bench-operator.log"))?;
    let mut child = Command::new(&binary)
        .args(["--port", &port.to_string(), "--namespace", &namespace])
        .args(["--leader-election", "false"])
        .env("KUBECONFIG", &bed.kubeconfig)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;

    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource());
    let prefix = unique_name("bench-cop");
    let started = Instant::now();
    for i in 0..pipelines {
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "coffee-pipeline.io/v1alpha1",
            "kind": "CoffeeOrderPipeline",
            "metadata": { "name": format!("p{i}") },
            "spec": {
                "kafka": { "bootstrapServers": bed.kafka_bootstrap_servers, "topic": format!("{prefix}-{i}"), "partitions": 1 },
                "producer": { "replicas": 0 },
                "autoscaling": { "mode": "Enabled" },
            },
        }))?;
        api.create(&PostParams::default(), &object).await?;
    }
    let created = started.elapsed();
    let current = loop {
        let list = api.list(&ListParams::default()).await?;
        let done = list
            .items
            .iter()
            .filter(|p| {
                let status = &p.data["status"];
                status["observedGeneration"].as_i64() == p.metadata.generation
                    && status["conditions"].as_array().is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "TopicReady" && c["status"] == "True")
                    })
            })
            .count();
        if done == pipelines {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {done} of {pipelines} pipelines current after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let url = format!("http://127.0.0.1:{port}/metrics");
    let metrics = reqwest::get(&url).await?.text().await?;
    let steady = steady_state(&child, &url).await?;
    let name = "coffee_operator_reconcile_duration_seconds";
    println!(
        "| pipelines | all created after | all current after | reconcile p50 | reconcile p99 | lag polls/s (steady) | CPU (steady, one core) | RSS after the steady minute | operator peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {pipelines} | {:.1} s | {:.1} s | {:.0} ms | {:.0} ms | {:.1} | {:.1} % | {:.1} MiB | {:.1} MiB |",
        created.as_secs_f64(),
        current.as_secs_f64(),
        quantile(&metrics, name, 0.5) * 1000.0,
        quantile(&metrics, name, 0.99) * 1000.0,
        steady.polls_per_second,
        steady.cpu_share * 100.0,
        rss_mib(&child),
        peak_rss_mib(&child)
    );
    let counters: Vec<&str> = steady
        .metrics
        .lines()
        .filter(|l| {
            l.starts_with("coffee_operator_reconciles_total")
                || l.starts_with("coffee_autoscaler_polls_total")
        })
        .collect();
    eprintln!("{}", counters.join("\n"));

    let _ = child.kill().await;
    delete_namespace(&client, &namespace).await?;
    let topics: Vec<String> = (0..pipelines)
        .flat_map(|i| {
            [
                format!("{prefix}-{i}"),
                format!("{prefix}-{i}-status"),
                format!("{prefix}-{i}-dead-letters"),
                format!("{prefix}-{i}-control"),
            ]
        })
        .collect();
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let _ = admin(&bed)
        .await?
        .delete_topics(&names, &rdkafka::admin::AdminOptions::new())
        .await;
    Ok(())
}
