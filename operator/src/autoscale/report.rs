//! How a decision is told (pure): the Event a person reads in `kubectl describe`, the
//! `Scaling` and `Stalled` conditions, and the autoscaler's part of the status.

use super::policy::{Decision, Reason};
use super::tracker::Estimates;
use crate::crd::{AutoscalingMode, ConsumerSize};
use crate::reconcile::status::Judgement;

/// `1234567` → `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn per_second(rate: f64) -> String {
    if rate < 10.0 {
        format!("{rate:.1}/s")
    } else {
        format!("{}/s", thousands(rate.round() as i64))
    }
}

/// What changed: `workers 10→24 per pod`, `pods 2→4`, or both.
fn change(from: ConsumerSize, to: ConsumerSize) -> String {
    let pods = (from.pods != to.pods).then(|| format!("pods {}→{}", from.pods, to.pods));
    let workers = (from.workers != to.workers)
        .then(|| format!("workers {}→{} per pod", from.workers, to.workers));
    match (pods, workers) {
        (Some(p), Some(w)) => format!("{p}, {w}"),
        (Some(p), None) => p,
        (None, Some(w)) => w,
        (None, None) => format!("{to} unchanged"),
    }
}

/// The Event note for a change of size, with the numbers behind it, e.g. "workers 10→24 per
/// pod: lag 12,400, arrivals 820/s, capacity 410/s→985/s, drains in 21 s".
pub fn message(decision: &Decision, estimates: &Estimates) -> String {
    let mut parts = vec![format!("lag {}", thousands(estimates.lag))];
    if let Some(arrivals) = estimates.active_arrival_rate {
        parts.push(format!("arrivals {}", per_second(arrivals)));
    }
    match (decision.capacity_from, decision.capacity_to) {
        (Some(from), Some(to)) => {
            parts.push(format!("capacity {}→{}", per_second(from), per_second(to)));
        }
        _ => parts.push("no processing rate learned yet: lagThreshold per worker".to_owned()),
    }
    parts.push(match decision.drain_seconds {
        Some(s) => format!("drains in {} s", s.ceil() as i64),
        None => "does not drain at the largest size".to_owned(),
    });
    if !estimates.stalled.is_empty() {
        parts.push(format!(
            "{} stalled partition(s) not counted",
            estimates.stalled.len()
        ));
    }
    let why = match decision.reason {
        Reason::CapacityUnused => " (no poll of the stabilisation window needed more)",
        Reason::Bounds => " (the spec's bounds or the partitions changed)",
        _ => "",
    };
    let held = if decision.pods_held {
        "; more pods wait for the minimum interval between rebalances"
    } else {
        ""
    };
    format!(
        "{}{why}: {}{held}",
        change(decision.from, decision.to),
        parts.join(", ")
    )
}

/// Every value [`direction`] gives.
pub const DIRECTIONS: [&str; 3] = ["up", "down", "none"];

/// Whether the size grows or shrinks (by the capacity it gives, pods and workers together).
pub fn direction(decision: &Decision) -> &'static str {
    let total = |s: ConsumerSize| i64::from(s.pods) * i64::from(s.workers);
    match total(decision.to).cmp(&total(decision.from)) {
        std::cmp::Ordering::Greater => "up",
        std::cmp::Ordering::Less => "down",
        std::cmp::Ordering::Equal if decision.to.pods > decision.from.pods => "up",
        std::cmp::Ordering::Equal if decision.to.pods < decision.from.pods => "down",
        std::cmp::Ordering::Equal => "none",
    }
}

/// The `Scaling` condition: true while the running size differs from the desired one; the
/// reason says what the autoscaler is doing (shown by `kubectl get cop`).
pub fn scaling_condition(
    mode: AutoscalingMode,
    decision: Option<&Decision>,
    running: ConsumerSize,
    problem: Option<(&str, String)>,
) -> Judgement {
    let judge = |holds: bool, reason: &str, message: String| Judgement {
        type_: "Scaling",
        ready: holds,
        reason: reason.to_owned(),
        message,
    };
    if let Some((reason, message)) = problem {
        return judge(false, reason, message);
    }
    match (mode, decision) {
        (AutoscalingMode::Disabled, _) | (_, None) => judge(
            false,
            "Disabled",
            "autoscaling is Disabled: the consumer's minimum runs".to_owned(),
        ),
        (AutoscalingMode::Observe, Some(d)) => judge(
            false,
            "Observing",
            format!(
                "Observe mode: {} runs; the autoscaler would run {} ({})",
                d.from,
                d.to,
                d.reason.as_str()
            ),
        ),
        (AutoscalingMode::Enabled, Some(d)) if running != d.to => {
            let reason = if running.pods * running.workers < d.to.pods * d.to.workers {
                "ScalingUp"
            } else {
                "ScalingDown"
            };
            judge(
                true,
                reason,
                format!(
                    "{running} running, {} desired ({})",
                    d.to,
                    d.reason.as_str()
                ),
            )
        }
        (AutoscalingMode::Enabled, Some(d)) => judge(
            false,
            d.reason.as_str(),
            format!("{} running and desired", d.to),
        ),
    }
}

/// The `Stalled` condition, naming the stalled partitions.
pub fn stalled_condition(stalled: &[i32], polls: u32, group: &str) -> Judgement {
    if stalled.is_empty() {
        return Judgement {
            type_: "Stalled",
            ready: false,
            reason: "Progressing".to_owned(),
            message: "every partition with lag is making progress".to_owned(),
        };
    }
    let names: Vec<String> = stalled.iter().map(i32::to_string).collect();
    Judgement {
        type_: "Stalled",
        ready: true,
        reason: "PartitionsStalled".to_owned(),
        message: format!(
            "partition(s) {} have lag and no committed progress for {polls} polls while group {group} has live members (e.g. an order that never finishes); their lag does not count for scaling",
            names.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(pods: i32, workers: i32) -> ConsumerSize {
        ConsumerSize { pods, workers }
    }

    fn decision(from: ConsumerSize, to: ConsumerSize) -> Decision {
        Decision {
            from,
            to,
            reason: Reason::CapacityShort,
            pods_held: false,
            need: Some(820.0),
            capacity_from: Some(410.0),
            capacity_to: Some(985.0),
            drain_seconds: Some(20.5),
        }
    }

    fn estimates() -> Estimates {
        Estimates {
            total_lag: 12_400,
            lag: 12_400,
            active_arrival_rate: Some(820.0),
            ..Estimates::default()
        }
    }

    #[test]
    fn an_event_says_what_changed_and_the_numbers_behind_it() {
        assert_eq!(
            message(&decision(size(1, 10), size(1, 24)), &estimates()),
            "workers 10→24 per pod: lag 12,400, arrivals 820/s, capacity 410/s→985/s, drains in 21 s"
        );
    }

    #[test]
    fn an_event_names_pods_and_workers_when_both_change() {
        let text = message(&decision(size(2, 50), size(4, 35)), &estimates());
        assert!(
            text.starts_with("pods 2→4, workers 50→35 per pod: "),
            "{text}"
        );
    }

    #[test]
    fn an_event_without_a_learned_rate_says_so() {
        let mut d = decision(size(1, 10), size(1, 50));
        d.capacity_from = None;
        d.capacity_to = None;
        let text = message(&d, &estimates());
        assert!(text.contains("no processing rate learned yet"), "{text}");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
    }

    #[test]
    fn direction_follows_total_workers() {
        assert_eq!(direction(&decision(size(1, 10), size(1, 24))), "up");
        assert_eq!(direction(&decision(size(4, 35), size(1, 13))), "down");
        assert_eq!(direction(&decision(size(2, 10), size(4, 5))), "up");
    }

    #[test]
    fn scaling_is_true_while_the_running_size_differs() {
        let d = decision(size(1, 10), size(2, 10));
        let condition = scaling_condition(AutoscalingMode::Enabled, Some(&d), size(1, 10), None);
        assert!(condition.ready);
        assert_eq!(condition.reason, "ScalingUp");
        let done = scaling_condition(AutoscalingMode::Enabled, Some(&d), size(2, 10), None);
        assert!(!done.ready);
        assert_eq!(done.reason, "CapacityShort");
    }

    #[test]
    fn observe_mode_says_what_it_would_do() {
        let d = decision(size(1, 10), size(3, 10));
        let condition = scaling_condition(AutoscalingMode::Observe, Some(&d), size(1, 10), None);
        assert_eq!(condition.reason, "Observing");
        assert!(
            condition.message.contains("would run 3x10"),
            "{}",
            condition.message
        );
    }

    #[test]
    fn stalled_names_the_partitions() {
        let condition = stalled_condition(&[2, 5], 6, "orders-processor");
        assert!(condition.ready);
        assert!(condition.message.starts_with("partition(s) 2, 5 have lag"));
        assert!(!stalled_condition(&[], 6, "g").ready);
    }
}
