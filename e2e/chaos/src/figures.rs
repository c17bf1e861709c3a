//! What one fault did to the orders, in numbers: the figures each chaos test asserts on and the
//! long run writes to its report.

use std::time::Duration;

use e2e::ledger::Check;
use serde::Serialize;

/// The load generator's side of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Requests {
    pub sent: u64,
    /// Answered `4xx`/`5xx` (the broker down: `503`).
    pub refused: u64,
    /// Never answered, after every attempt.
    pub unanswered: u64,
    /// Attempts sent again (with the same `Idempotency-Key`) after no answer.
    pub retried: u64,
}

/// One fault's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub fault: String,
    pub requests: Requests,
    pub acknowledged: u64,
    /// Acknowledged orders completed exactly once (cancels that came too late included).
    pub completed: u64,
    /// Acknowledged orders cancelled as asked.
    pub cancelled: u64,
    /// Acknowledged orders with no final status: must be 0.
    pub lost: u64,
    /// Acknowledged orders with more than one final status: must be 0.
    pub duplicated: u64,
    /// Requests that became two orders: must be 0.
    pub duplicated_requests: u64,
    /// Refused requests whose order exists anyway: must be 0.
    pub refused_but_present: u64,
    /// Acknowledged orders that failed or were cancelled unasked: must be 0.
    pub failed: u64,
    /// Status events that did not decode: must be 0.
    pub undecodable: u64,
    /// Outcomes read twice, unchanged (written again after a delivery timeout that had in
    /// fact reached the log): told, allowed.
    pub repeated_outcomes: u64,
    /// The ledger's verdict on the orders ([`Check::passed`]): all the "must be 0" above, and
    /// every acknowledged order completed or cancelled exactly once.
    pub orders_passed: bool,
    /// Seconds from the fault's end until the backlog was back to its steady level; `None`
    /// when it never was while the load ran.
    pub recovery_seconds: Option<f64>,
    /// Seconds from the load's end until every acknowledged order had its final status.
    pub settle_seconds: f64,
    /// What the fault itself reports (who was killed, how long a takeover took, ...).
    pub notes: Vec<String>,
}

impl Figures {
    pub fn new(
        fault: &str,
        requests: Requests,
        check: &Check,
        recovery: Option<Duration>,
        settle: Duration,
        notes: Vec<String>,
    ) -> Self {
        Self {
            fault: fault.to_owned(),
            requests,
            acknowledged: check.accepted,
            completed: check.completed_once,
            cancelled: check.cancelled_once,
            lost: check.lost.len() as u64,
            duplicated: check.completed_twice,
            duplicated_requests: check.duplicated_requests,
            refused_but_present: check.refused_but_present,
            failed: check.failed,
            undecodable: check.undecodable,
            repeated_outcomes: check.repeated_outcomes,
            orders_passed: check.passed(),
            recovery_seconds: recovery.map(|d| round(d.as_secs_f64())),
            settle_seconds: round(settle.as_secs_f64()),
            notes,
        }
    }

    /// Nothing acknowledged lost, nothing brewed twice, nothing refused published, and the
    /// pipeline got back to its steady backlog.
    pub fn passed(&self) -> bool {
        self.orders_passed && self.recovery_seconds.is_some()
    }

    /// One line for a terminal.
    pub fn line(&self) -> String {
        format!(
            "{}: {} — acknowledged {}, completed {}, cancelled {}, lost {}, duplicated {}, \
             failed or cancelled unasked {}, duplicated requests {}, refused {} (published anyway {}), unanswered {}, retried {}, \
             outcomes written twice {}, recovered {}, settled in {:.1} s{}",
            self.fault,
            if self.passed() { "passed" } else { "FAILED" },
            self.acknowledged,
            self.completed,
            self.cancelled,
            self.lost,
            self.duplicated,
            self.failed,
            self.duplicated_requests,
            self.requests.refused,
            self.refused_but_present,
            self.requests.unanswered,
            self.requests.retried,
            self.repeated_outcomes,
            self.recovery_seconds
                .map_or("never".to_owned(), |s| format!("{s:.1} s after the fault")),
            self.settle_seconds,
            if self.notes.is_empty() {
                String::new()
            } else {
                format!("; {}", self.notes.join("; "))
            }
        )
    }

    /// A row of the Markdown table [`TABLE_HEADER`] heads.
    pub fn table_row(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} |",
            self.fault,
            self.acknowledged,
            self.completed,
            self.cancelled,
            self.lost,
            self.duplicated + self.duplicated_requests,
            self.requests.refused,
            self.refused_but_present,
            self.requests.retried,
            self.recovery_seconds
                .map_or("never".to_owned(), |s| format!("{s:.1}")),
            self.settle_seconds,
            self.notes.join("; ")
        )
    }
}

/// The head of the table [`Figures::table_row`] fills.
pub const TABLE_HEADER: &str = "| fault | acknowledged | completed | cancelled | lost | duplicated | refused | refused but published | retried | recovery (s) | settle (s) | notes |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|";

fn round(seconds: f64) -> f64 {
    (seconds * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(accepted: u64) -> Check {
        Check {
            accepted,
            completed_once: accepted,
            ..Check::default()
        }
    }

    fn figures(check: &Check, recovery: Option<Duration>) -> Figures {
        let settle = Duration::from_millis(1_234);
        Figures::new(
            "a fault",
            Requests::default(),
            check,
            recovery,
            settle,
            vec![],
        )
    }

    #[test]
    fn every_order_completed_once_and_a_recovery_passes() {
        let f = figures(&check(100), Some(Duration::from_secs(3)));
        assert!(f.passed(), "{f:?}");
        assert_eq!(f.settle_seconds, 1.2);
        assert!(f.line().contains("passed"), "{}", f.line());
    }

    #[test]
    fn a_lost_order_fails() {
        let mut c = check(100);
        c.completed_once = 99;
        c.lost = vec!["order".to_owned()];
        let f = figures(&c, Some(Duration::ZERO));
        assert!(!f.passed());
        assert!(f.line().contains("FAILED"), "{}", f.line());
    }

    #[test]
    fn a_pipeline_that_never_recovered_fails() {
        assert!(!figures(&check(100), None).passed());
    }

    #[test]
    fn a_request_published_twice_fails() {
        let mut c = check(100);
        c.duplicated_requests = 1;
        assert!(!figures(&c, Some(Duration::ZERO)).passed());
    }

    #[test]
    fn the_table_row_has_a_cell_for_every_column() {
        let f = figures(&check(100), Some(Duration::from_secs(3)));
        let columns = TABLE_HEADER.lines().next().unwrap().matches('|').count();
        assert_eq!(f.table_row().matches('|').count(), columns);
    }
}
