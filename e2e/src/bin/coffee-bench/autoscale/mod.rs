//! `coffee-bench autoscale`: our autoscaler against a replay of KEDA's Kafka scaler + the HPA,
//! on the same real system and the same load profiles (step, spike, ramp, on/off, steady).
//! Prints a Markdown table per profile and writes each run's samples (CSV) and a chart (SVG).

mod chart;
mod profile;
mod replay;
mod run;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use e2e::testbed::TestBed;

use e2e::measure::{Figures, Sample, figures};
use profile::Profile;
use run::Scaler;

/// What to run.
pub struct Plan {
    pub profiles: Vec<String>,
    /// 1 for real timings; below 1 shortens profiles and every autoscaling timing alike.
    pub scale: f64,
    pub out: PathBuf,
    /// Recompute the table and charts from the samples a run left in `out`, without running.
    pub from_samples: bool,
}

pub async fn autoscale(plan: Plan) -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let operator = std::env::current_exe()?.with_file_name("coffee-operator");
    if !operator.is_file() && !plan.from_samples {
        bail!("{} is not built", operator.display());
    }
    std::fs::create_dir_all(&plan.out)?;
    let profiles: Vec<Profile> = Profile::all(plan.scale)
        .into_iter()
        .filter(|p| plan.profiles.iter().any(|name| name == p.name))
        .collect();
    if profiles.is_empty() {
        bail!("no profile named {:?}", plan.profiles);
    }
    println!(
        "Time scale {}{}; 12 partitions, 1–12 consumer pods, workers 10–40 (KEDA's pods keep the template's 10), lagThreshold 100.\n",
        plan.scale,
        if plan.scale < 1.0 {
            " (profiles and every autoscaling timing of both scalers shortened alike; brewing, pod start-up and rebalances at real speed)"
        } else {
            " (real timings)"
        }
    );
    println!(
        "| profile | scaler | capacity in place (s) | lag stops growing (s) | peak lag | to drain (s) | pod-count changes | consumer pod-seconds | flaps |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for profile in &profiles {
        let mut runs = Vec::new();
        for scaler in [Scaler::Ours, Scaler::KedaHpa] {
            let samples = if plan.from_samples {
                read_csv(&plan.out, profile.name, scaler)?
            } else {
                run::run(&bed, &operator, profile, scaler, plan.scale).await?
            };
            let per_worker = 1000.0 / e2e::load::mean_brew_units();
            let figures = figures(&samples, &profile.rises(), 120.0 * plan.scale, per_worker);
            println!("{}", row(profile.name, scaler, &figures));
            if !plan.from_samples {
                write_csv(&plan.out, profile.name, scaler, &samples)?;
            }
            runs.push((scaler.label(), samples));
        }
        let borrowed: Vec<(&str, &[Sample])> =
            runs.iter().map(|(l, s)| (*l, s.as_slice())).collect();
        let file = plan.out.join(format!("{}.svg", file_name(profile.name)));
        std::fs::write(&file, chart::svg(profile.name, &borrowed))?;
        eprintln!("bench: chart {}", file.display());
    }
    Ok(())
}

fn seconds(all: &[Option<f64>]) -> String {
    if all.is_empty() {
        return "—".to_owned();
    }
    let each: Vec<String> = all
        .iter()
        .map(|s| s.map_or("never".to_owned(), |s| format!("{s:.1}")))
        .collect();
    each.join(", ")
}

fn row(profile: &str, scaler: Scaler, f: &Figures) -> String {
    format!(
        "| {profile} | {} | {} | {} | {} | {} | {} | {:.0} | {} |",
        scaler.label(),
        seconds(&f.to_capacity),
        seconds(&f.to_sufficient),
        f.peak_lag,
        f.to_drain.map_or("—".to_owned(), |d| format!("{d:.0}")),
        f.rebalances,
        f.pod_seconds,
        f.flaps,
    )
}

fn file_name(profile: &str) -> String {
    profile.replace('/', "-")
}

fn write_csv(dir: &Path, profile: &str, scaler: Scaler, samples: &[Sample]) -> anyhow::Result<()> {
    let mut csv = String::from("t,rate,lag,pods,workers,replicas\n");
    for s in samples {
        let _ = writeln!(
            csv,
            "{:.1},{:.0},{},{},{},{}",
            s.t, s.rate, s.lag, s.pods, s.workers, s.replicas
        );
    }
    std::fs::write(csv_path(dir, profile, scaler), csv)?;
    Ok(())
}

fn csv_path(dir: &Path, profile: &str, scaler: Scaler) -> PathBuf {
    let scaler = if scaler == Scaler::Ours {
        "ours"
    } else {
        "keda-hpa"
    };
    dir.join(format!("{}-{scaler}.csv", file_name(profile)))
}

fn read_csv(dir: &Path, profile: &str, scaler: Scaler) -> anyhow::Result<Vec<Sample>> {
    let path = csv_path(dir, profile, scaler);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the samples {}", path.display()))?;
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let field = |i: usize| -> anyhow::Result<f64> {
                Ok(f.get(i).context("a short line")?.parse::<f64>()?)
            };
            Ok(Sample {
                t: field(0)?,
                rate: field(1)?,
                lag: field(2)? as i64,
                pods: field(3)? as i32,
                workers: field(4)? as i32,
                replicas: field(5)? as i32,
            })
        })
        .collect::<anyhow::Result<Vec<Sample>>>()
        .with_context(|| format!("parsing {}", path.display()))
}
