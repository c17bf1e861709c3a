//! `coffee-demo`: the whole product working on the test bed. The chart installed with Helm, a
//! pipeline applied with `kubectl`, orders over HTTP under a changing load, the autoscaler's
//! work watched live, and a report at the end whose check reads the truth from Kafka.
//! `e2e/demo/run` brings the test bed up and builds the binaries first.

mod crd;
mod keep;
mod observe;
mod profile;
mod report;
mod run;
mod system;
mod view;

use e2e::binaries::{PRODUCT_BINARIES, require_binaries};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::Parser;

use profile::Kind;

/// Runs the coffee-pipeline demo on the test bed (start it with `e2e/testbed up`, or use
/// `e2e/demo/run`, which does everything).
#[derive(Debug, Parser)]
#[command(name = "coffee-demo", version, about)]
pub struct Args {
    /// How long the load runs, in seconds.
    #[arg(long, env = "DEMO_DURATION", default_value_t = 300)]
    duration: u64,
    /// The day the load plays.
    #[arg(long, env = "DEMO_PROFILE", value_enum, default_value_t = Kind::CoffeeShop)]
    profile: Kind,
    /// Orders per second at rush hour (a spike doubles it; quiet is a tenth).
    #[arg(long, env = "DEMO_PEAK_RATE", default_value_t = 400.0)]
    peak_rate: f64,
    /// Partitions of the order topic.
    #[arg(long, env = "DEMO_PARTITIONS", default_value_t = 12)]
    partitions: i32,
    /// Most consumer pods the autoscaler may run (at most the partitions).
    #[arg(long, env = "DEMO_MAX_PODS", default_value_t = 6)]
    max_pods: i32,
    /// Most workers per consumer pod.
    #[arg(long, env = "DEMO_MAX_WORKERS", default_value_t = 16)]
    max_workers: i32,
    /// Seconds the lower size must suffice before the autoscaler scales down.
    #[arg(long, env = "DEMO_SCALE_DOWN_AFTER", default_value_t = 45)]
    scale_down_after: u64,
    /// Keep the load at its last rate after the day ends, until `q` or Ctrl-C; then leave the
    /// operator and the pipeline running (their pods handed to `coffee-runtime` processes)
    /// instead of tearing down.
    #[arg(long)]
    keep: bool,
    /// Tear down a demo that `--keep` left running, and exit.
    #[arg(long, conflicts_with = "keep")]
    down: bool,
    /// One line a second instead of the terminal UI (also when stdout is not a terminal).
    #[arg(long)]
    plain: bool,
    /// Where the report goes (default: target/demo/<time>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where coffee-operator, coffee-producer and coffee-consumer are (default: beside this
    /// binary).
    #[arg(long, env = "DEMO_BIN_DIR")]
    bin_dir: Option<PathBuf>,
}

impl Args {
    fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            (10..=86_400).contains(&self.duration),
            "--duration {} must be between 10 and 86400 seconds",
            self.duration
        );
        ensure!(
            self.peak_rate > 0.0 && self.peak_rate <= 20_000.0,
            "--peak-rate {} must be above 0 and at most 20000 orders/s",
            self.peak_rate
        );
        ensure!(
            (1..=1_000).contains(&self.partitions),
            "--partitions {} must be between 1 and 1000",
            self.partitions
        );
        ensure!(
            (1..=self.partitions).contains(&self.max_pods),
            "--max-pods {} must be between 1 and --partitions ({})",
            self.max_pods,
            self.partitions
        );
        ensure!(
            (2..=1_024).contains(&self.max_workers),
            "--max-workers {} must be between 2 and 1024",
            self.max_workers
        );
        ensure!(
            (1..=3_600).contains(&self.scale_down_after),
            "--scale-down-after {} must be between 1 and 3600 seconds",
            self.scale_down_after
        );
        Ok(())
    }

    fn bin_dir(&self) -> anyhow::Result<PathBuf> {
        let dir = match &self.bin_dir {
            Some(dir) => dir.clone(),
            None => std::env::current_exe()
                .context("finding this binary")?
                .parent()
                .context("this binary has no directory")?
                .to_path_buf(),
        };
        let runtime = self.keep.then_some("coffee-runtime");
        require_binaries(&dir, PRODUCT_BINARIES.into_iter().chain(runtime))
            .context("or pass --bin-dir to use binaries elsewhere")?;
        Ok(dir)
    }

    fn out_dir(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string();
            e2e::operator::repo().join("target/demo").join(stamp)
        })
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run_checked(args).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(error) => {
            eprintln!("coffee-demo: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Whether the run's check passed.
async fn run_checked(args: Args) -> anyhow::Result<bool> {
    args.validate()?;
    if args.down {
        let bed = e2e::testbed::TestBed::load()?;
        if !keep::kept() {
            println!("demo: no demo was left running; clearing leftovers, if any");
            system::clear_leftovers(&bed)?;
            return Ok(true);
        }
        keep::down(&bed)?;
        println!("demo: the demo left running is torn down");
        return Ok(true);
    }
    let bin_dir = args.bin_dir()?;
    let out_dir = args.out_dir();
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let bed = e2e::testbed::TestBed::load()?;
    let profile = profile::Profile::new(
        args.profile,
        Duration::from_secs(args.duration),
        args.peak_rate,
    );
    let size = system::PipelineSize {
        partitions: args.partitions,
        max_pods: args.max_pods,
        max_workers: args.max_workers,
        scale_down_after: Duration::from_secs(args.scale_down_after),
    };
    let options = run::Options {
        profile,
        size,
        keep: args.keep,
        plain: args.plain,
        bin_dir,
        out_dir,
    };
    run::run(&bed, options).await
}
