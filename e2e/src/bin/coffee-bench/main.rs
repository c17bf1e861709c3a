//! `coffee-bench`: benchmark commands (never timed tests). Each prints a Markdown table of
//! medians over alternating runs, measured in one invocation so that ratios are comparable on a
//! shared machine.

mod autoscale;
mod drain;
mod intake;
mod keyed;
mod latency;
mod operator;
mod process_stats;
mod service;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "coffee-bench", version, about = "coffee-pipeline benchmarks")]
struct Args {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Order intake: durable with pool sizes vs sync vs the HTTP ceiling, then fixed rates.
    Intake(intake::Options),
    /// Order processing: drain a pre-filled topic with several worker counts and brew times.
    Drain {
        /// Orders in the pre-filled topic.
        #[arg(long, default_value_t = 100_000)]
        orders: usize,
        /// Partitions of the order topic.
        #[arg(long, default_value_t = 12)]
        partitions: i32,
        /// Runs per configuration (medians are reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Brew time scales (brew unit 1 ms); 0 measures pure overhead.
        #[arg(long, value_delimiter = ',', default_value = "0,0.1")]
        scales: Vec<f64>,
        /// Worker counts: 1 is the original sequential design, 10 the plan's suggestion.
        #[arg(long, value_delimiter = ',', default_value = "1,10,100,1000")]
        workers: Vec<u32>,
        /// Seconds after which a run that has not drained reports its rate so far.
        #[arg(long, default_value_t = 10)]
        cap_seconds: u64,
        /// Use (and keep) this order topic, filling it only when it does not exist yet: for
        /// profiling the consumer by hand between runs.
        #[arg(long)]
        topic: Option<String>,
    },
    /// Autoscaling: ours against a KEDA + HPA replay, on the real system, same load profiles.
    Autoscale {
        /// Profiles to run.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "step,spike,ramp,on/off,steady"
        )]
        profiles: Vec<String>,
        /// 1 runs at real timings; below 1 shortens every profile and every autoscaling timing
        /// of both scalers alike (a quick check).
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// Where the samples (CSV) and charts (SVG) go.
        #[arg(long, default_value = "target/bench-autoscale")]
        out: std::path::PathBuf,
        /// Recompute the table and charts from the samples in `--out` instead of running.
        #[arg(long)]
        from_samples: bool,
    },
    /// End-to-end latency (request → `completed` in the status topic) at fixed rates, ours
    /// against the original design.
    Latency {
        /// Orders per second.
        #[arg(long, value_delimiter = ',', default_value = "500,2000,5000")]
        rates: Vec<u32>,
        /// Seconds of load per run.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Runs per configuration (medians are reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Also ours on a single broker of the benchmark's own, interleaved: one broker against
        /// the test bed's three.
        #[arg(long)]
        one_broker: bool,
        /// Seconds of unmeasured load on each cluster before the runs (0: none).
        #[arg(long, default_value_t = 60)]
        warm_seconds: u64,
    },
    /// What an `Idempotency-Key` costs a request, on one replica and across two.
    Keyed(keyed::Plan),
    /// The operator: many pipelines at once.
    Operator {
        /// Pipelines to create.
        #[arg(long, default_value_t = 200)]
        pipelines: usize,
        /// The operator binary measured; the `coffee-operator` beside this one when unset.
        /// Comparing two builds is running each in turn, interleaved.
        #[arg(long)]
        operator: Option<std::path::PathBuf>,
    },
}

impl Bench {
    /// The binaries beside this one that the benchmark runs.
    fn binaries(&self) -> &'static [&'static str] {
        match self {
            Self::Intake(_) => &["coffee-producer", "coffee-http-ceiling"],
            Self::Drain { .. } => &["coffee-consumer"],
            Self::Autoscale {
                from_samples: true, ..
            } => &[],
            Self::Autoscale { .. } => &["coffee-operator", "coffee-producer", "coffee-consumer"],
            Self::Latency { .. } => &["coffee-producer", "coffee-consumer"],
            Self::Operator { .. } => &["coffee-operator"],
            Self::Keyed(_) => &["coffee-producer"],
        }
    }
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = Args::parse().command;
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("this binary has no directory")?;
    e2e::binaries::require_binaries(dir, command.binaries().iter().copied())?;
    match command {
        Bench::Intake(options) => intake::intake(options).await,
        Bench::Keyed(plan) => keyed::keyed(plan).await,
        Bench::Operator {
            pipelines,
            operator,
        } => operator::operator(pipelines, operator).await,
        Bench::Latency {
            rates,
            seconds,
            runs,
            one_broker,
            warm_seconds,
        } => {
            latency::latency(latency::Plan {
                rates,
                seconds,
                runs,
                one_broker,
                warm_seconds,
            })
            .await
        }
        Bench::Autoscale {
            profiles,
            time_scale,
            out,
            from_samples,
        } => {
            autoscale::autoscale(autoscale::Plan {
                profiles,
                scale: time_scale,
                out,
                from_samples,
            })
            .await
        }
        Bench::Drain {
            orders,
            partitions,
            runs,
            scales,
            workers,
            cap_seconds,
            topic,
        } => {
            drain::drain(drain::Plan {
                orders,
                partitions,
                runs,
                scales,
                workers,
                cap: std::time::Duration::from_secs(cap_seconds),
                topic,
            })
            .await
        }
    }
}
