//! The report's figures and their Markdown: what was accepted and what became of it (checked
//! against the independent ledger), how fast capacity followed each rise of the load, the peak
//! lag, the rebalances, latencies, and every decision with its reason.

use std::fmt::Write as _;
use std::time::Duration;

use e2e::measure::figures;

use crate::observe::{Decision, Sample};
use crate::profile::Profile;
use e2e::ledger::{Check, quantile};

/// The figures of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub check: Check,
    pub refused: u64,
    /// Seconds from each rise of the load until the lag stopped growing.
    pub to_sufficient: Vec<(f64, Option<f64>)>,
    pub peak_lag: i64,
    pub rebalances: u32,
    pub flaps: u32,
    /// Running consumer workers (pods × workers): at the start, at most, at the end.
    pub capacity: (i32, i32, i32),
    pub intake: Option<(Duration, Duration)>,
    pub end_to_end: Option<(Duration, Duration, Duration)>,
    pub decisions: Vec<Decision>,
}

impl Summary {
    /// `flap_window`: two replica changes in opposite directions closer than this (the
    /// pipeline's scale-down window) count as a flap.
    pub fn of(
        profile: &Profile,
        samples: &[Sample],
        decisions: &[Decision],
        check: Check,
        flap_window: Duration,
    ) -> Self {
        let measured: Vec<e2e::measure::Sample> = samples
            .iter()
            .map(|s| e2e::measure::Sample {
                t: s.t,
                rate: s.target_rate,
                lag: s.lag,
                pods: s.pods,
                workers: s.workers,
                replicas: s.replicas,
            })
            .collect();
        let rises = profile.rises();
        let per_worker = 1_000.0 / e2e::load::mean_brew_units();
        let figures = figures(&measured, &rises, flap_window.as_secs_f64(), per_worker);
        let capacity = |s: &Sample| s.pods * s.workers;
        let (e2e, intake) = (&check.end_to_end, &check.intake);
        Self {
            refused: samples.last().map_or(0, |s| s.refused),
            to_sufficient: rises.into_iter().zip(figures.to_sufficient).collect(),
            peak_lag: figures.peak_lag,
            rebalances: figures.rebalances,
            flaps: figures.flaps,
            capacity: (
                samples.first().map_or(0, capacity),
                samples.iter().map(capacity).max().unwrap_or(0),
                samples.last().map_or(0, capacity),
            ),
            intake: quantile(intake, 0.5).zip(quantile(intake, 0.99)),
            end_to_end: quantile(e2e, 0.5)
                .zip(quantile(e2e, 0.99))
                .zip(e2e.last().copied())
                .map(|((p50, p99), max)| (p50, p99, max)),
            decisions: decisions.to_vec(),
            check,
        }
    }

    /// Whether the consumers grew under the load and shrank again after it.
    pub fn scaled_up_and_down(&self) -> bool {
        let (start, max, end) = self.capacity;
        max > start && end < max
    }

    pub fn markdown(&self, title: &str, chart: &str) -> String {
        let c = &self.check;
        let mut out = format!("# {title}\n\n![the run]({chart})\n\n");
        let verdict = if c.passed() { "passed" } else { "FAILED" };
        let _ = writeln!(
            out,
            "| | |\n|---|---|\n| orders accepted (`202`) | {} |\n| completed exactly once | {} |\n| lost (accepted, no final status) | {} |\n| completed more than once | {} |\n| failed | {} |\n| refused or unanswered | {} |\n| completions of orders never acknowledged | {} |\n| check against the status topic | **{verdict}** |",
            c.accepted,
            c.completed_once,
            c.lost.len(),
            c.completed_twice,
            c.failed,
            self.refused,
            c.unacknowledged,
        );
        let _ = writeln!(out, "\n## Autoscaling\n");
        for (rise, seconds) in &self.to_sufficient {
            let _ = writeln!(
                out,
                "- load rose at {rise:.0} s: capacity sufficient (lag stopped growing) after {}",
                seconds.map_or("— (never)".to_owned(), |s| format!("{s:.1} s"))
            );
        }
        let (start, max, end) = self.capacity;
        let _ = writeln!(
            out,
            "- peak lag {} messages; {} rebalances (replica changes), {} flaps\n- consumer workers running: {start} at the start, {max} at most, {end} at the end",
            self.peak_lag, self.rebalances, self.flaps
        );
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
        if let Some((p50, p99, max)) = self.end_to_end {
            let _ = writeln!(
                out,
                "- end-to-end (request → `completed` in the status topic): p50 {}, p99 {}, max {}",
                ms(p50),
                ms(p99),
                ms(max)
            );
        }
        if let Some((p50, p99)) = self.intake {
            let _ = writeln!(
                out,
                "- intake (request → `202`, as the load generator saw it): p50 {}, p99 {}",
                ms(p50),
                ms(p99)
            );
        }
        let _ = writeln!(
            out,
            "\n## Decisions\n\n| at | from → to | reason | why |\n|---|---|---|---|"
        );
        for d in &self.decisions {
            let _ = writeln!(
                out,
                "| {:.0} s | {}×{} → {}×{} | {} | {} |",
                d.t,
                d.from.0,
                d.from.1,
                d.to.0,
                d.to.1,
                d.reason,
                d.message.replace('|', "\\|")
            );
        }
        out
    }

    /// The figures a script checks (the CI smoke run).
    pub fn json(&self) -> serde_json::Value {
        let c = &self.check;
        serde_json::json!({
            "passed": c.passed(),
            "accepted": c.accepted,
            "completed_once": c.completed_once,
            "completed_twice": c.completed_twice,
            "lost": c.lost.len(),
            "failed": c.failed,
            "refused": self.refused,
            "peak_lag": self.peak_lag,
            "rebalances": self.rebalances,
            "decisions": self.decisions.len(),
            "capacity": { "start": self.capacity.0, "max": self.capacity.1, "end": self.capacity.2 },
            "scaled_up_and_down": self.scaled_up_and_down(),
            "intake_ms": self.intake.map(|(p50, p99)| serde_json::json!({
                "p50": p50.as_secs_f64() * 1e3,
                "p99": p99.as_secs_f64() * 1e3,
            })),
            "end_to_end_ms": self.end_to_end.map(|(p50, p99, max)| serde_json::json!({
                "p50": p50.as_secs_f64() * 1e3,
                "p99": p99.as_secs_f64() * 1e3,
                "max": max.as_secs_f64() * 1e3,
            })),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Kind;

    const WINDOW: Duration = Duration::from_secs(45);

    fn sample(t: f64, pods: i32, workers: i32, lag: i64) -> Sample {
        Sample {
            t,
            target_rate: 100.0,
            pods,
            workers,
            replicas: pods,
            lag,
            ..Sample::default()
        }
    }

    fn passing() -> Check {
        Check {
            accepted: 10,
            completed_once: 10,
            end_to_end: (1..=10).map(Duration::from_millis).collect(),
            ..Check::default()
        }
    }

    #[test]
    fn growing_and_shrinking_consumers_count_as_scaled_up_and_down() {
        let profile = Profile::new(Kind::Smoke, Duration::from_secs(3), 100.0);
        let samples = [
            sample(0.0, 1, 2, 0),
            sample(1.0, 2, 4, 50),
            sample(2.0, 1, 2, 0),
        ];
        let summary = Summary::of(&profile, &samples, &[], passing(), WINDOW);
        assert_eq!(summary.capacity, (2, 8, 2));
        assert!(summary.scaled_up_and_down());
        assert_eq!(summary.rebalances, 2);
        assert_eq!(summary.peak_lag, 50);
    }

    #[test]
    fn consumers_that_never_shrink_did_not_scale_down() {
        let profile = Profile::new(Kind::Smoke, Duration::from_secs(2), 100.0);
        let samples = [sample(0.0, 1, 2, 0), sample(1.0, 2, 4, 0)];
        assert!(!Summary::of(&profile, &samples, &[], passing(), WINDOW).scaled_up_and_down());
    }

    #[test]
    fn the_markdown_names_the_verdict_the_losses_and_each_decision() {
        let profile = Profile::new(Kind::Smoke, Duration::from_secs(2), 100.0);
        let mut check = passing();
        check.lost = vec!["an-order".into()];
        let decision = Decision {
            t: 1.0,
            from: (1, 2),
            to: (2, 4),
            reason: "LagGrowing".into(),
            message: "lag | grows".into(),
        };
        let summary = Summary::of(
            &profile,
            &[sample(0.0, 1, 2, 0)],
            &[decision],
            check,
            WINDOW,
        );
        let text = summary.markdown("demo", "chart.svg");
        assert!(text.contains("**FAILED**"));
        assert!(text.contains("| lost (accepted, no final status) | 1 |"));
        assert!(text.contains("| 1 s | 1×2 → 2×4 | LagGrowing | lag \\| grows |"));
        assert!(text.contains("![the run](chart.svg)"));
        assert_eq!(summary.json()["lost"], 1);
        assert_eq!(summary.json()["passed"], false);
    }

    #[test]
    fn end_to_end_quantiles_come_from_every_accepted_order() {
        let profile = Profile::new(Kind::Smoke, Duration::from_secs(1), 1.0);
        let summary = Summary::of(&profile, &[], &[], passing(), WINDOW);
        assert_eq!(
            summary.end_to_end,
            Some((
                Duration::from_millis(5),
                Duration::from_millis(10),
                Duration::from_millis(10)
            ))
        );
    }
}
