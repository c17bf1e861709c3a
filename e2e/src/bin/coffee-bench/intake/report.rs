//! Medians of the intake benchmark's runs, the ratios its targets are judged by, as Markdown.

use super::Cpu;
use super::oha::Sample;
use super::server_side::Histogram;
use crate::median;
use crate::process_stats::peak_rss_mib;
use crate::service::Target;

/// One unpaced run of one target.
#[derive(Debug, Clone)]
pub struct Measured {
    target: String,
    connections: u32,
    sample: Sample,
    cpu: Cpu,
}

impl Measured {
    pub fn new(target: &str, connections: u32, sample: Sample, cpu: Cpu) -> Self {
        Self {
            target: target.to_owned(),
            connections,
            sample,
            cpu,
        }
    }
}

/// One run at a fixed rate.
#[derive(Debug, Clone)]
pub struct Paced {
    target: String,
    percent: u32,
    rate: u32,
    sample: Sample,
    cpu: Cpu,
    /// Shares of the accepted orders the producer answered within 8 and 16 ms.
    server_within: (f64, f64),
}

impl Paced {
    pub fn new(
        target: &str,
        percent: u32,
        rate: u32,
        sample: Sample,
        cpu: Cpu,
        server: &Histogram,
    ) -> Self {
        Self {
            target: target.to_owned(),
            percent,
            rate,
            sample,
            cpu,
            server_within: (server.share_within(0.008), server.share_within(0.016)),
        }
    }
}

/// Medians over the runs of one target at one connection count.
#[derive(Debug, Clone, Copy)]
struct Medians {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us: f64,
    broker_us: f64,
    failed: u64,
    cut_off: u64,
}

fn medians<'a>(runs: impl Iterator<Item = (&'a Sample, &'a Cpu)> + Clone) -> Medians {
    let of = |f: fn(&Sample, &Cpu) -> f64| {
        median(&mut runs.clone().map(|(s, c)| f(s, c)).collect::<Vec<_>>())
    };
    Medians {
        rps: of(|s, _| s.rps),
        p50_ms: of(|s, _| s.p50_ms),
        p99_ms: of(|s, _| s.p99_ms),
        cpu_us: of(|_, c| c.target_us),
        broker_us: of(|_, c| c.broker_us),
        failed: runs.clone().map(|(s, _)| s.failed).sum(),
        cut_off: runs.map(|(s, _)| s.cut_off).sum(),
    }
}

fn of_target<'a>(
    measured: &'a [Measured],
    target: &'a str,
    connections: u32,
) -> impl Iterator<Item = (&'a Sample, &'a Cpu)> + Clone {
    measured
        .iter()
        .filter(move |m| m.target == target && m.connections == connections)
        .map(|m| (&m.sample, &m.cpu))
}

/// The median orders/s of `target` at `connections`: its capacity for the paced runs.
pub fn capacity(measured: &[Measured], target: &str, connections: u32) -> f64 {
    medians(of_target(measured, target, connections)).rps
}

pub fn print(measured: &[Measured], paced: &[Paced], targets: &[Target], connections: &[u32]) {
    let mut names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    println!(
        "| target | connections | orders/s | p50 ms | p99 ms | CPU µs/order | broker CPU µs/order | failed | cut off |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &c in connections {
        for name in &names {
            let m = medians(of_target(measured, name, c));
            println!(
                "| {name} | {c} | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} | {} | {} |",
                m.rps, m.p50_ms, m.p99_ms, m.cpu_us, m.broker_us, m.failed, m.cut_off
            );
        }
    }
    println!();
    for &c in connections {
        let ceiling = medians(of_target(measured, "ceiling", c));
        let sync = medians(of_target(measured, "sync", c));
        for name in names.iter().filter(|n| n.starts_with("durable")) {
            let m = medians(of_target(measured, name, c));
            println!(
                "c={c} {name}: {:.1}x sync, {:.2} of the ceiling, CPU per order {:.1}x the ceiling's per request",
                m.rps / sync.rps,
                m.rps / ceiling.rps,
                m.cpu_us / ceiling.cpu_us
            );
        }
    }
    println!();
    println!(
        "| target | share of capacity | rate | achieved | p50 ms | p99 ms | CPU µs/order | producer: within 8 ms | within 16 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut keys: Vec<(&str, u32)> = paced
        .iter()
        .map(|p| (p.target.as_str(), p.percent))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    for (name, percent) in keys {
        let runs = paced
            .iter()
            .filter(|p| p.target == name && p.percent == percent);
        let rate = runs.clone().map(|p| p.rate).next().unwrap_or(0);
        let within_8 = median(&mut runs.clone().map(|p| p.server_within.0).collect::<Vec<_>>());
        let within_16 = median(&mut runs.clone().map(|p| p.server_within.1).collect::<Vec<_>>());
        let m = medians(runs.map(|p| (&p.sample, &p.cpu)));
        println!(
            "| {name} | {percent} % | {rate} | {:.0} | {:.2} | {:.2} | {:.1} | {:.2} % | {:.2} % |",
            m.rps,
            m.p50_ms,
            m.p99_ms,
            m.cpu_us,
            within_8 * 100.0,
            within_16 * 100.0
        );
    }
    println!();
    for target in targets.iter().filter(|t| t.name != "ceiling") {
        println!(
            "{} peak RSS: {:.1} MiB",
            target.name,
            peak_rss_mib(&target.child)
        );
    }
}
