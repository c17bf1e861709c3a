//! `coffee-bench intake`: durable orders/s, latency and CPU per order of `coffee-producer` with
//! several producer-pool sizes, against the original synchronous design and a trivial axum
//! handler (the HTTP ceiling), at several connection counts with `oha` as the load generator;
//! then latency at fixed shares of each pool's measured capacity (as the load generator saw it
//! and as the producer's own histogram did), and the producers' peak RSS.
//! Targets alternate within every round, so a slow hour of the shared machine hits all alike.

mod oha;
mod report;
mod server_side;

use std::path::{Path, PathBuf};

use anyhow::Context;
use e2e::fixtures::unique_name;
use e2e::kafka::{admin, create_topic};
use e2e::testbed::TestBed;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;

use self::oha::{Sample, oha};
use self::report::{Measured, Paced};
use crate::process_stats::{cpu_seconds, cpu_seconds_of};
use crate::service::{Target, start};

/// What one invocation measures.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Runs per configuration (medians are reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Seconds per run.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Connection counts to measure; the largest sets each pool's capacity.
    #[arg(long, value_delimiter = ',', default_value = "16,64,256")]
    connections: Vec<u32>,
    /// Producer-pool sizes (`--kafka-producers`), one durable target each.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pools: Vec<u16>,
    /// Lingers (`--linger-ms`) crossed with the pool sizes; none for the producer's default.
    #[arg(long, value_delimiter = ',')]
    lingers: Vec<u32>,
    /// Fixed rates for the latency runs, in percent of each durable target's capacity.
    #[arg(long = "rates", value_delimiter = ',', default_value = "25,50,75")]
    rates_percent: Vec<u32>,
    /// Extra flags for every durable producer, e.g. `--producer-args='--batch-size 65536'`.
    #[arg(long, allow_hyphen_values = true, value_delimiter = ' ')]
    producer_args: Vec<String>,
    /// The `oha` load generator.
    #[arg(long, env = "OHA", default_value = "oha")]
    oha: PathBuf,
}

pub async fn intake(options: Options) -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let brokers = bed.kafka_pids();
    if brokers.is_empty() {
        eprintln!("bench: the test bed's Kafka pids are unknown; broker CPU is not reported");
    }
    let mut targets = start_targets(&bed, &options).await?;
    for target in &targets {
        oha(&options.oha, &target.url, 64, 2, None).await?;
    }

    let mut measured = Vec::new();
    for run in 1..=options.runs {
        for &connections in &options.connections {
            targets.rotate_left(1);
            for target in &targets {
                let (sample, cpu) = load(&options, target, &brokers, connections, None).await?;
                eprintln!(
                    "run {run}: {} c={connections}: {sample:?} {cpu:?}",
                    target.name
                );
                measured.push(Measured::new(&target.name, connections, sample, cpu));
            }
        }
    }

    let widest = options.connections.iter().copied().max().unwrap_or(256);
    let durable: Vec<&Target> = targets
        .iter()
        .filter(|t| t.name.starts_with("durable"))
        .collect();
    let mut paced = Vec::new();
    for run in 1..=options.runs {
        for &percent in &options.rates_percent {
            for target in &durable {
                let capacity = report::capacity(&measured, &target.name, widest);
                let rate = (capacity * f64::from(percent) / 100.0).round().max(1.0) as u32;
                let before = server_side::scrape(&target.url).await?;
                let (sample, cpu) = load(&options, target, &brokers, widest, Some(rate)).await?;
                let server = server_side::scrape(&target.url).await?.since(&before);
                eprintln!(
                    "run {run}: {} at {percent} % = {rate}/s: {sample:?}",
                    target.name
                );
                paced.push(Paced::new(
                    &target.name,
                    percent,
                    rate,
                    sample,
                    cpu,
                    &server,
                ));
            }
        }
    }
    report::print(&measured, &paced, &targets, &options.connections);
    Ok(())
}

/// CPU µs per acknowledged order of the target and of the broker, during one load run.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    pub target_us: f64,
    pub broker_us: f64,
}

async fn load(
    options: &Options,
    target: &Target,
    brokers: &[u32],
    connections: u32,
    rate: Option<u32>,
) -> anyhow::Result<(Sample, Cpu)> {
    // Every broker's CPU: replicating an order costs the followers too.
    let broker_cpu = || match brokers {
        [] => f64::NAN,
        pids => pids.iter().copied().map(cpu_seconds_of).sum(),
    };
    let (target_before, broker_before) = (cpu_seconds(&target.child), broker_cpu());
    let sample = oha(
        &options.oha,
        &target.url,
        connections,
        options.seconds,
        rate,
    )
    .await?;
    let (target_after, broker_after) = (cpu_seconds(&target.child), broker_cpu());
    let seconds = f64::from(u32::try_from(options.seconds).unwrap_or(u32::MAX));
    let orders = (sample.rps * seconds).max(1.0);
    Ok((
        sample,
        Cpu {
            target_us: (target_after - target_before) * 1e6 / orders,
            broker_us: (broker_after - broker_before) * 1e6 / orders,
        },
    ))
}

/// The ceiling, the original design on a 1-partition topic, and one durable producer per pool
/// size and linger, each on a 6-partition topic of its own.
async fn start_targets(bed: &TestBed, options: &Options) -> anyhow::Result<Vec<Target>> {
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("bin dir")?
        .to_path_buf();
    let log_dir = PathBuf::from(&bed.log_dir);
    let admin = admin(bed).await?;
    let mut targets = vec![
        start(
            "ceiling",
            &bin_dir.join("coffee-http-ceiling"),
            &[],
            &log_dir,
            &[],
        )
        .await?,
    ];
    let mut producers = vec![(
        "sync".to_owned(),
        1,
        vec!["--publish-mode".to_owned(), "sync".to_owned()],
    )];
    let lingers: Vec<Option<u32>> = if options.lingers.is_empty() {
        vec![None]
    } else {
        options.lingers.iter().copied().map(Some).collect()
    };
    for pool in &options.pools {
        for linger in &lingers {
            let mut args = vec!["--kafka-producers".to_owned(), pool.to_string()];
            let mut name = format!("durable x{pool}");
            if let Some(linger) = linger {
                args.extend(["--linger-ms".to_owned(), linger.to_string()]);
                name.push_str(&format!(" {linger}ms"));
            }
            args.extend(options.producer_args.iter().cloned());
            producers.push((name, 6, args));
        }
    }
    for (name, partitions, args) in producers {
        targets
            .push(start_producer(bed, &admin, &bin_dir, &log_dir, &name, partitions, &args).await?);
    }
    Ok(targets)
}

async fn start_producer(
    bed: &TestBed,
    admin: &AdminClient<DefaultClientContext>,
    bin_dir: &Path,
    log_dir: &Path,
    name: &str,
    partitions: i32,
    args: &[String],
) -> anyhow::Result<Target> {
    let slug = name.replace(' ', "-");
    let orders = unique_name(&format!("bench-{slug}"));
    let statuses = unique_name(&format!("bench-{slug}-status"));
    create_topic(admin, &orders, partitions, &[]).await?;
    create_topic(
        admin,
        &statuses,
        partitions,
        &[("cleanup.policy", "compact")],
    )
    .await?;
    let mut all: Vec<String> = [
        "--bind-address",
        "127.0.0.1",
        "--kafka-brokers",
        &bed.kafka_bootstrap_servers,
        "--kafka-topic",
        &orders,
        "--status-topic",
        &statuses,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    all.extend(args.iter().cloned());
    start(&slug, &bin_dir.join("coffee-producer"), &all, log_dir, &[]).await
}
