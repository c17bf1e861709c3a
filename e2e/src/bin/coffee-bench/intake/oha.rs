//! The `oha` load generator: one run against one target, read from its JSON report.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::process::Command;

/// One load-generator run.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Orders acknowledged (`202`) per second.
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Requests answered with something other than 202, or not answered.
    pub failed: u64,
    /// Requests still in flight when the run ended.
    pub cut_off: u64,
}

const BODY: &str = r#"{"customer_name":"Benchmark","coffee_type":"Latte"}"#;

/// Runs `oha` against `url` for `seconds` with `connections`, paced at `rate` requests/s when
/// given.
pub async fn oha(
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
