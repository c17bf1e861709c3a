//! `coffee-bench autoscale`: our autoscaler against a replay of KEDA's Kafka scaler + the HPA,
//! on the same real system and the same load profiles (step, spike, ramp, on/off, steady).
//! Prints a Markdown table per profile and writes each run's samples (CSV) and a chart (SVG).

mod chart;
mod measure;
mod profile;
mod replay;
mod run;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::bail;
use e2e::testbed::TestBed;

use measure::{Figures, Sample, figures};
use profile::Profile;
use run::Scaler;

/// What to run.
pub struct Plan {
    pub profiles: Vec<String>,
    /// 1 for real timings; below 1 shortens profiles and every autoscaling timing alike.
    pub scale: f64,
    pub out: PathBuf,
}

pub async fn autoscale(plan: Plan) -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let operator = std::env::current_exe()?.with_file_name("coffee-operator");
    if !operator.is_file() {
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
            let samples = run::run(&bed, &operator, profile, scaler, plan.scale).await?;
            let per_worker = 1000.0 / e2e::load::mean_brew_units();
            let figures = figures(&samples, &profile.rises(), 120.0 * plan.scale, per_worker);
            println!("{}", row(profile.name, scaler, &figures));
            write_csv(&plan.out, profile.name, scaler, &samples)?;
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
    let scaler = if scaler == Scaler::Ours {
        "ours"
    } else {
        "keda-hpa"
    };
    std::fs::write(
        dir.join(format!("{}-{scaler}.csv", file_name(profile))),
        csv,
    )?;
    Ok(())
}
