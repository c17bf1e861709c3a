//! `coffee-bench latency`: end-to-end latency, from the HTTP request (accepted with a `202`) to
//! the `completed` event appended to the status topic, at fixed order rates with brew time 0. The product at its
//! defaults (durable publishing, 12 partitions, the consumer's default workers) against the
//! seed's original design (synchronous publishing, one partition, one sequential worker), in
//! alternating runs of one invocation. The status topic keeps the broker's append time, so the
//! end is when the event was in the topic, not when a reader got to it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use e2e::fixtures::unique_name;
use e2e::kafka::{admin, create_topic};
use e2e::kafka_instance::KafkaInstance;
use e2e::ledger::{Ledger, follow, quantile};
use e2e::load::Load;
use e2e::testbed::TestBed;

use crate::median;
use crate::service::{Target, start};

/// Orders acknowledged in the first seconds (connections opening, clients warming up) are not
/// measured.
const WARM_UP: Duration = Duration::from_secs(2);
/// How long the last orders may take to complete after the load stops.
const DRAIN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Design {
    Ours,
    Original,
    /// Ours on a single broker of the benchmark's own (replication factor 1), against the
    /// test bed's three (replication factor 3, two in sync before an acknowledgement).
    OursOneBroker,
}

impl Design {
    fn name(self) -> &'static str {
        match self {
            Design::Ours => "ours (defaults)",
            Design::Original => "original (sync, 1 partition, 1 worker)",
            Design::OursOneBroker => "ours (defaults), one broker",
        }
    }

    fn ours(self) -> bool {
        self != Design::Original
    }
}

#[derive(Debug, Clone, Copy)]
struct Run {
    accepted_per_s: f64,
    /// Request → `202`.
    intake_p50_ms: f64,
    intake_p99_ms: f64,
    /// Request → `completed` in the status topic.
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Accepted orders not completed within the drain time.
    unfinished: u64,
}

#[derive(Debug)]
pub struct Plan {
    pub rates: Vec<u32>,
    pub seconds: u64,
    pub runs: usize,
    /// Ours on one broker as well, interleaved with the others.
    pub one_broker: bool,
    /// Load each cluster this long, unmeasured, before the runs.
    pub warm_seconds: u64,
}

pub async fn latency(plan: Plan) -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("bin dir")?
        .to_path_buf();
    let one_broker = match plan.one_broker {
        true => Some(KafkaInstance::start(&bed, &unique_name("bench-one-broker")).await?),
        false => None,
    };
    let mut designs = vec![Design::Ours, Design::Original];
    designs.extend(one_broker.as_ref().map(|_| Design::OursOneBroker));
    // A freshly started broker's JVM takes minutes of load to reach its speed (the three
    // brokers' intake rose from ~2,000 to ~7,000 orders/s, docs/benchmarks.md): warmed alike,
    // the clusters are compared, not their JIT compilers.
    let warmest = plan.rates.iter().copied().max().unwrap_or(500);
    if plan.warm_seconds > 0 {
        let mut clusters = vec![(Design::Ours, bed.clone())];
        if let Some(broker) = &one_broker {
            clusters.push((
                Design::OursOneBroker,
                bed.with_kafka(&broker.bootstrap_servers()),
            ));
        }
        for (design, cluster) in clusters {
            let warmed = run_once(&cluster, &bin_dir, design, warmest, plan.warm_seconds).await?;
            eprintln!("warm-up: {} at {warmest}/s: {warmed:?}", design.name());
        }
    }
    let mut rows: Vec<(Design, u32, Vec<Run>)> = Vec::new();
    for run in 1..=plan.runs {
        for &rate in &plan.rates {
            for &design in &designs {
                let bed = match (&one_broker, design) {
                    (Some(broker), Design::OursOneBroker) => {
                        bed.with_kafka(&broker.bootstrap_servers())
                    }
                    _ => bed.clone(),
                };
                let measured = run_once(&bed, &bin_dir, design, rate, plan.seconds).await?;
                eprintln!("run {run}: {} at {rate}/s: {measured:?}", design.name());
                match rows.iter_mut().find(|(d, r, _)| *d == design && *r == rate) {
                    Some((_, _, runs)) => runs.push(measured),
                    None => rows.push((design, rate, vec![measured])),
                }
            }
        }
    }
    println!(
        "| design | orders/s sent | accepted/s | intake p50 / p99 | end-to-end p50 | p99 | max | unfinished after {} s |",
        DRAIN.as_secs()
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (design, rate, runs) in &rows {
        let m = |f: fn(&Run) -> f64| median(&mut runs.iter().map(f).collect::<Vec<_>>());
        println!(
            "| {} | {rate} | {:.0} | {:.1} / {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} |",
            design.name(),
            m(|r| r.accepted_per_s),
            m(|r| r.intake_p50_ms),
            m(|r| r.intake_p99_ms),
            m(|r| r.p50_ms),
            m(|r| r.p99_ms),
            m(|r| r.max_ms),
            m(|r| r.unfinished as f64),
        );
    }
    Ok(())
}

async fn run_once(
    bed: &TestBed,
    bin_dir: &Path,
    design: Design,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<Run> {
    let partitions = if design.ours() { 12 } else { 1 };
    let orders = unique_name("bench-latency");
    let statuses = format!("{orders}-status");
    let admin = admin(bed).await?;
    create_topic(&admin, &orders, partitions, &[]).await?;
    create_topic(
        &admin,
        &statuses,
        partitions,
        &[
            ("cleanup.policy", "compact"),
            ("message.timestamp.type", "LogAppendTime"),
        ],
    )
    .await?;
    let log_dir = PathBuf::from(&bed.log_dir);
    let mut consumer = consumer(bed, bin_dir, &orders, &statuses, design, &log_dir).await?;
    let mut producer = producer(bed, bin_dir, &orders, &statuses, design, &log_dir).await?;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let follower = follow(bed, &statuses, Arc::clone(&ledger)).await?;
    let start = SystemTime::now();
    let load = Load::start_at(vec![producer.url.clone()], f64::from(rate));
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let counts = load.stop();
    let sent_for = start.elapsed().unwrap_or_default();
    let deadline = Instant::now() + DRAIN;
    let acknowledged = loop {
        // Answers to the last requests may still be arriving.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let completed = ledger.lock().map(|l| l.completed()).unwrap_or(0);
        if completed >= counts.acknowledged_count() || Instant::now() > deadline {
            break counts.acknowledged_since(0);
        }
    };
    follower.abort();
    let measured: Vec<_> = acknowledged
        .iter()
        .filter(|a| a.at.duration_since(start).unwrap_or_default() >= WARM_UP)
        .cloned()
        .collect();
    let check = ledger
        .lock()
        .map_err(|_| anyhow::anyhow!("the ledger's lock is poisoned"))?
        .check(&measured);
    for target in [&mut consumer, &mut producer] {
        let _ = target.child.kill().await;
    }
    let _ = admin
        .delete_topics(&[&orders, &statuses], &rdkafka::admin::AdminOptions::new())
        .await;
    let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
    Ok(Run {
        accepted_per_s: acknowledged.len() as f64 / sent_for.as_secs_f64(),
        intake_p50_ms: ms(quantile(&check.intake, 0.5)),
        intake_p99_ms: ms(quantile(&check.intake, 0.99)),
        p50_ms: ms(quantile(&check.end_to_end, 0.5)),
        p99_ms: ms(quantile(&check.end_to_end, 0.99)),
        max_ms: ms(check.end_to_end.last().copied()),
        unfinished: check.lost.len() as u64,
    })
}

/// Options every benchmarked service gets.
fn common(bed: &TestBed, args: &[&str]) -> Vec<String> {
    [
        "--bind-address",
        "127.0.0.1",
        "--kafka-brokers",
        &bed.kafka_bootstrap_servers,
    ]
    .iter()
    .chain(args)
    .map(|s| (*s).to_owned())
    .collect()
}

/// Fewer log lines than the default: the services share the machine with the load.
const QUIET: &[(&str, &str)] = &[("RUST_LOG", "warn")];

async fn consumer(
    bed: &TestBed,
    bin_dir: &Path,
    orders: &str,
    statuses: &str,
    design: Design,
    log_dir: &Path,
) -> anyhow::Result<Target> {
    let group = unique_name("bench-latency");
    let dead_letters = format!("{orders}-dead-letters");
    let mut args = vec![
        "--kafka-topic",
        orders,
        "--status-topic",
        statuses,
        "--group-id",
        &group,
        "--dead-letter-topic",
        &dead_letters,
        "--brew-time-scale",
        "0",
    ];
    if design == Design::Original {
        args.extend(["--workers", "1", "--max-workers", "1"]);
    }
    let binary = bin_dir.join("coffee-consumer");
    start(
        "latency-consumer",
        &binary,
        &common(bed, &args),
        log_dir,
        QUIET,
    )
    .await
}

async fn producer(
    bed: &TestBed,
    bin_dir: &Path,
    orders: &str,
    statuses: &str,
    design: Design,
    log_dir: &Path,
) -> anyhow::Result<Target> {
    let mode = if design.ours() { "durable" } else { "sync" };
    let args = [
        "--kafka-topic",
        orders,
        "--status-topic",
        statuses,
        "--publish-mode",
        mode,
    ];
    let binary = bin_dir.join("coffee-producer");
    start(
        "latency-producer",
        &binary,
        &common(bed, &args),
        log_dir,
        QUIET,
    )
    .await
}
