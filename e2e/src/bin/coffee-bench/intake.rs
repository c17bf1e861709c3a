//! `coffee-bench intake`: durable orders/s and latency of `coffee-producer` in its default mode,
//! in the original synchronous design, and of a trivial axum handler (the HTTP ceiling), at
//! several connection counts with `oha` as the load generator; then latency at a fixed rate and
//! the producer's peak RSS.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use e2e::fixtures::unique_name;
use e2e::kafka::{admin, create_topic};
use e2e::testbed::TestBed;
use serde_json::Value;
use tokio::process::Command;

use crate::service::start;
use crate::{median, peak_rss_mib};

/// One load-generator run.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Requests answered with something other than 202, or not answered.
    failed: u64,
    /// Requests still in flight when the run ended.
    cut_off: u64,
}

const BODY: &str = r#"{"customer_name":"Benchmark","coffee_type":"Latte"}"#;

async fn oha(
    oha: &Path,
    url: &str,
    connections: u32,
    seconds: u64,
    rate: Option<u32>,
) -> anyhow::Result<Sample> {
    let mut command = Command::new(oha);
    command
        .args([
            "--no-tui",
            "--output-format",
            "json",
            "-m",
            "POST",
            "-H",
            "content-type: application/json",
            "-d",
            BODY,
        ])
        .args(["-c", &connections.to_string(), "-z", &format!("{seconds}s")]);
    if let Some(rate) = rate {
        // Latency is measured from when each request should have been sent, so a stall shows up
        // in the percentiles instead of silently lowering the rate (coordinated omission).
        command.args(["-q", &rate.to_string(), "--latency-correction"]);
    }
    let output = command
        .arg(url)
        .output()
        .await
        .with_context(|| format!("running {}", oha.display()))?;
    if !output.status.success() {
        bail!("oha failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let report: Value =
        serde_json::from_slice(&output.stdout).context("reading oha's JSON report")?;
    let accepted = report["statusCodeDistribution"]["202"]
        .as_u64()
        .unwrap_or(0);
    let total: u64 = report["statusCodeDistribution"]
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
    // Requests still in flight when the run's time is up are cut off by oha, not failed.
    let (mut errors, mut cut_off) = (0, 0);
    for (error, count) in report["errorDistribution"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let count = count.as_u64().unwrap_or(0);
        if error.contains("deadline") {
            cut_off += count;
        } else {
            errors += count;
        }
    }
    let seconds_f = f64::from(u32::try_from(seconds).unwrap_or(u32::MAX));
    Ok(Sample {
        // Only acknowledged orders count as throughput.
        rps: f64::from(u32::try_from(accepted).unwrap_or(u32::MAX)) / seconds_f,
        p50_ms: report["latencyPercentiles"]["p50"]
            .as_f64()
            .unwrap_or(f64::NAN)
            * 1000.0,
        p99_ms: report["latencyPercentiles"]["p99"]
            .as_f64()
            .unwrap_or(f64::NAN)
            * 1000.0,
        failed: total - accepted + errors,
        cut_off,
    })
}

pub async fn intake(
    runs: usize,
    seconds: u64,
    connections: &[u32],
    rate: u32,
    oha_path: &Path,
) -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let admin = admin(&bed).await?;
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("bin dir")?
        .to_path_buf();
    let log_dir = PathBuf::from(&bed.log_dir);
    let mut targets = Vec::new();
    targets.push(
        start(
            "ceiling",
            &bin_dir.join("coffee-http-ceiling"),
            &[],
            &log_dir,
            &[],
        )
        .await?,
    );
    for (name, partitions, mode) in [("durable", 6, "durable"), ("sync", 1, "sync")] {
        let orders = unique_name(&format!("bench-{name}"));
        let statuses = unique_name(&format!("bench-{name}-status"));
        create_topic(&admin, &orders, partitions, &[]).await?;
        create_topic(
            &admin,
            &statuses,
            partitions,
            &[("cleanup.policy", "compact")],
        )
        .await?;
        let args: Vec<String> = [
            "--bind-address",
            "127.0.0.1",
            "--kafka-brokers",
            &bed.kafka_bootstrap_servers,
            "--kafka-topic",
            &orders,
            "--status-topic",
            &statuses,
            "--publish-mode",
            mode,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        targets.push(start(name, &bin_dir.join("coffee-producer"), &args, &log_dir, &[]).await?);
    }
    for target in &targets {
        oha(oha_path, &target.url, 64, 2, None).await?;
    }

    let mut samples: Vec<(&'static str, u32, Sample)> = Vec::new();
    for run in 1..=runs {
        for &connections in connections {
            for target in &targets {
                let sample = oha(oha_path, &target.url, connections, seconds, None).await?;
                eprintln!("run {run}: {} c={connections}: {sample:?}", target.name);
                samples.push((target.name, connections, sample));
            }
        }
    }
    let durable = targets
        .iter()
        .find(|t| t.name == "durable")
        .context("durable target")?;
    let mut paced = Vec::new();
    for run in 1..=runs {
        let sample = oha(oha_path, &durable.url, 256, seconds, Some(rate)).await?;
        eprintln!("run {run}: durable at {rate}/s: {sample:?}");
        paced.push(sample);
    }

    println!("| target | connections | orders/s (median) | p50 ms | p99 ms | failed | cut off |");
    println!("|---|---|---|---|---|---|---|");
    let mut medians = std::collections::BTreeMap::new();
    for &connections in connections {
        for target in &targets {
            let of: Vec<Sample> = samples
                .iter()
                .filter(|(n, c, _)| *n == target.name && *c == connections)
                .map(|(_, _, s)| *s)
                .collect();
            let rps = median(&mut of.iter().map(|s| s.rps).collect::<Vec<_>>());
            let p50 = median(&mut of.iter().map(|s| s.p50_ms).collect::<Vec<_>>());
            let p99 = median(&mut of.iter().map(|s| s.p99_ms).collect::<Vec<_>>());
            let failed: u64 = of.iter().map(|s| s.failed).sum();
            let cut_off: u64 = of.iter().map(|s| s.cut_off).sum();
            medians.insert((target.name, connections), rps);
            println!(
                "| {} | {connections} | {rps:.0} | {p50:.2} | {p99:.2} | {failed} | {cut_off} |",
                target.name
            );
        }
    }
    for &connections in connections {
        let get = |name| {
            medians
                .get(&(name, connections))
                .copied()
                .unwrap_or(f64::NAN)
        };
        println!(
            "\nc={connections}: durable/sync = {:.1}x, durable/ceiling = {:.2}",
            get("durable") / get("sync"),
            get("durable") / get("ceiling")
        );
    }
    let p50 = median(&mut paced.iter().map(|s| s.p50_ms).collect::<Vec<_>>());
    let p99 = median(&mut paced.iter().map(|s| s.p99_ms).collect::<Vec<_>>());
    let achieved = median(&mut paced.iter().map(|s| s.rps).collect::<Vec<_>>());
    println!(
        "\ndurable at a fixed {rate} orders/s (256 connections): achieved {achieved:.0}/s, p50 {p50:.2} ms, p99 {p99:.2} ms"
    );
    for target in targets.iter().filter(|t| t.name != "ceiling") {
        println!(
            "{} producer peak RSS: {:.1} MiB",
            target.name,
            peak_rss_mib(&target.child)
        );
    }
    Ok(())
}
