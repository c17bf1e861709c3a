//! `coffee-chaos`: the chaos suite's long run. Each chosen fault, `--runs` times, with longer
//! steady load around it than the tests use; one line per run as it ends, then a report
//! (`figures.json`, `report.md` with a table) in `--out`. Exits non-zero if any run failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::Parser;
use coffee_chaos::faults::Fault;
use coffee_chaos::figures::{Figures, TABLE_HEADER};
use coffee_chaos::{Timing, bin_dir_of, run};

/// Injects faults into the whole pipeline under load on the test bed and checks every order.
#[derive(Debug, Parser)]
#[command(name = "coffee-chaos")]
struct Args {
    /// The faults to inject, one run each (all when none is given).
    #[arg(long = "fault", value_enum)]
    faults: Vec<Fault>,
    /// How often each fault is run.
    #[arg(long, default_value_t = 1)]
    runs: u32,
    /// Orders per second.
    #[arg(long, default_value_t = 150.0)]
    rate: f64,
    /// Seconds of steady load before each fault.
    #[arg(long, default_value_t = 60)]
    before: u64,
    /// Seconds of load after each fault, at least.
    #[arg(long, default_value_t = 60)]
    after: u64,
    /// Where the report goes (default `target/chaos/<time>`).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl Args {
    fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            (1..=20).contains(&self.runs),
            "--runs {} must be 1 to 20",
            self.runs
        );
        ensure!(
            self.rate > 0.0 && self.rate <= 2_000.0,
            "--rate {} must be above 0 and at most 2000 orders per second",
            self.rate
        );
        ensure!(
            (5..=3_600).contains(&self.before),
            "--before must be 5 to 3600 seconds"
        );
        ensure!(
            (1..=3_600).contains(&self.after),
            "--after must be 1 to 3600 seconds"
        );
        Ok(())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match chaos(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("coffee-chaos: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn chaos(args: Args) -> anyhow::Result<bool> {
    args.validate()?;
    let bin_dir = bin_dir_of(&std::env::current_exe().context("finding this binary")?)?;
    let faults = if args.faults.is_empty() {
        Fault::ALL.to_vec()
    } else {
        args.faults.clone()
    };
    let timing = Timing {
        before: Duration::from_secs(args.before),
        after: Duration::from_secs(args.after),
        recover_within: Duration::from_secs(args.after.max(120)),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        e2e::operator::repo()
            .join("target/chaos")
            .join(stamp.to_string())
    });
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut all = Vec::new();
    for round in 1..=args.runs {
        for &fault in &faults {
            eprintln!("coffee-chaos: run {round}/{}: {}", args.runs, fault.name());
            let figures = run(fault, args.rate, timing, &bin_dir)
                .await
                .with_context(|| format!("run {round} of {}", fault.name()))?;
            println!("{}", figures.line());
            all.push(figures);
            write_report(&out, &args, &all)?;
        }
    }
    eprintln!("coffee-chaos: report in {}", out.display());
    Ok(all.iter().all(Figures::passed))
}

fn write_report(out: &std::path::Path, args: &Args, all: &[Figures]) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(all)?;
    std::fs::write(out.join("figures.json"), json).context("writing figures.json")?;
    let rows: Vec<String> = all.iter().map(Figures::table_row).collect();
    let passed = all.iter().filter(|f| f.passed()).count();
    let report = format!(
        "# Chaos run\n\n{} orders/s, {} s steady load before each fault, at least {} s after; \
         {passed} of {} runs passed.\n\n{TABLE_HEADER}\n{}\n",
        args.rate,
        args.before,
        args.after,
        all.len(),
        rows.join("\n")
    );
    std::fs::write(out.join("report.md"), report).context("writing report.md")
}
