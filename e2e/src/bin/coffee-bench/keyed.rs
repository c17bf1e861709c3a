//! `coffee-bench keyed`: what an `Idempotency-Key` costs one request. A new key is trusted only
//! once the replica's view has read the order topic to its end offsets, so a keyed request may
//! wait for the view to read another replica's orders. One client sends requests one after
//! another — to one replica, or alternating between two — with and without a new key per
//! request; the four ways alternate within every round.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, ensure};
use e2e::fixtures::unique_name;
use e2e::kafka::{admin, create_topic};
use e2e::testbed::TestBed;

use crate::median;
use crate::service::{Target, start};

/// What one invocation measures.
#[derive(Debug, clap::Args)]
pub struct Plan {
    /// Requests per way and round.
    #[arg(long, default_value_t = 100)]
    requests: usize,
    /// Rounds (medians and ranges of the rounds' medians are reported).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Extra flags for both producers, e.g. `--producer-args='--view-fetch-wait-ms 100'`.
    #[arg(long, allow_hyphen_values = true, value_delimiter = ' ')]
    producer_args: Vec<String>,
}

/// One way of sending.
struct Way {
    name: &'static str,
    replicas: usize,
    keyed: bool,
}

const WAYS: [Way; 4] = [
    Way {
        name: "one replica, no key",
        replicas: 1,
        keyed: false,
    },
    Way {
        name: "one replica, each request a new key",
        replicas: 1,
        keyed: true,
    },
    Way {
        name: "alternating between two replicas, no key",
        replicas: 2,
        keyed: false,
    },
    Way {
        name: "alternating between two replicas, each request a new key",
        replicas: 2,
        keyed: true,
    },
];

pub async fn keyed(plan: Plan) -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("bin dir")?
        .to_path_buf();
    let orders = unique_name("bench-keyed");
    let statuses = format!("{orders}-status");
    let admin = admin(&bed).await?;
    create_topic(&admin, &orders, 12, &[]).await?;
    create_topic(&admin, &statuses, 12, &[("cleanup.policy", "compact")]).await?;
    let log_dir = PathBuf::from(&bed.log_dir);
    let mut replicas = Vec::new();
    for name in ["keyed-a", "keyed-b"] {
        replicas.push(producer(&bed, &bin_dir, name, &orders, &statuses, &plan, &log_dir).await?);
    }
    let http = reqwest::Client::new();
    // Medians and 95th percentiles of each round, per way, in milliseconds.
    let mut rounds: Vec<(Vec<f64>, Vec<f64>)> = WAYS.iter().map(|_| Default::default()).collect();
    for round in 1..=plan.rounds {
        for (way, measured) in WAYS.iter().zip(rounds.iter_mut()) {
            let mut times =
                send(&http, &replicas[..way.replicas], way.keyed, plan.requests).await?;
            let round_median = median(&mut times);
            let p95 = times[times.len() * 95 / 100];
            eprintln!(
                "round {round}: {}: median {round_median:.1} ms, p95 {p95:.1} ms",
                way.name
            );
            measured.0.push(round_median);
            measured.1.push(p95);
        }
    }
    println!("| requests | median (range of rounds) | p95 (median of rounds) |");
    println!("|---|---:|---:|");
    for (way, (mut medians, mut p95s)) in WAYS.iter().zip(rounds) {
        let (low, high) = range(&medians);
        println!(
            "| {} | {:.1} ms ({low:.1}–{high:.1}) | {:.1} ms |",
            way.name,
            median(&mut medians),
            median(&mut p95s)
        );
    }
    Ok(())
}

/// Sends `requests` orders one after another, to the replicas in turn; each one's time in ms.
async fn send(
    http: &reqwest::Client,
    replicas: &[Target],
    keyed: bool,
    requests: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(requests);
    for n in 0..requests {
        let replica = &replicas[n % replicas.len()];
        let mut post = http
            .post(&replica.url)
            .header("content-type", "application/json")
            .body(r#"{"customer_name":"Keyed","coffee_type":"Latte"}"#);
        if keyed {
            post = post.header("idempotency-key", uuid::Uuid::now_v7().to_string());
        }
        let started = Instant::now();
        let status = post.send().await?.status();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        ensure!(status.as_u16() == 202, "{} answered {status}", replica.name);
    }
    Ok(times)
}

fn range(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), &v| {
            (low.min(v), high.max(v))
        })
}

async fn producer(
    bed: &TestBed,
    bin_dir: &Path,
    name: &str,
    orders: &str,
    statuses: &str,
    plan: &Plan,
    log_dir: &Path,
) -> anyhow::Result<Target> {
    let mut args: Vec<String> = [
        "--bind-address",
        "127.0.0.1",
        "--kafka-brokers",
        &bed.kafka_bootstrap_servers,
        "--kafka-topic",
        orders,
        "--status-topic",
        statuses,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(plan.producer_args.iter().cloned());
    let binary = bin_dir.join("coffee-producer");
    start(name, &binary, &args, log_dir, &[("RUST_LOG", "warn")]).await
}
