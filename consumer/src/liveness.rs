//! Whether the consumer's Kafka clients are wedged: the brokers answer, yet the group member
//! has not been steady (joined, with its assignment) for a long while, or no status event has
//! been delivered for a long while although deliveries keep failing. librdkafka normally
//! recovers from a broker restart by itself; the chaos suite saw both consumers of a pipeline
//! stay out of their group, and their idempotent producers time out every retry, for minutes
//! after the broker came back. A process in that state does nothing useful, so it restarts:
//! finished work is committed on the way out, the rest is redelivered to a fresh process.

use std::time::{Duration, Instant};

/// What has been seen of the Kafka clients, and since when it has been bad.
#[derive(Debug, Default)]
pub struct Liveness {
    brokers_up: bool,
    /// Since when the group member has not been steady while a broker was up.
    unsteady_since: Option<Instant>,
    /// Since when every status event delivery has failed.
    failing_since: Option<Instant>,
    /// Since when a dead letter has not been written (its partition's commit waits for it).
    dead_letter_failing_since: Option<Instant>,
}

impl Liveness {
    /// Records the group consumer's statistics: whether a broker is up, and whether the member
    /// is steady in its group.
    pub fn group(&mut self, now: Instant, brokers_up: bool, steady: bool) {
        self.brokers_up = brokers_up;
        if steady || !brokers_up {
            self.unsteady_since = None;
        } else {
            self.unsteady_since.get_or_insert(now);
        }
    }

    /// A status event or dead letter was acknowledged.
    pub fn delivered(&mut self) {
        self.failing_since = None;
    }

    /// A status event or dead letter was not acknowledged.
    pub fn delivery_failed(&mut self, now: Instant) {
        self.failing_since.get_or_insert(now);
    }

    /// A dead letter was acknowledged.
    pub fn dead_letter_written(&mut self) {
        self.dead_letter_failing_since = None;
    }

    /// A dead letter was not acknowledged; it is written again.
    pub fn dead_letter_failed(&mut self, now: Instant) {
        self.dead_letter_failing_since.get_or_insert(now);
    }

    /// Why the clients look wedged, if they have for `after` while a broker was up.
    pub fn wedged(&self, now: Instant, after: Duration) -> Option<String> {
        if !self.brokers_up {
            return None;
        }
        let longer = |since: Option<Instant>| since.is_some_and(|s| now.duration_since(s) >= after);
        if longer(self.unsteady_since) {
            return Some(format!(
                "the brokers are up but this member has not been steady in its group for {}s",
                after.as_secs()
            ));
        }
        if longer(self.failing_since) {
            return Some(format!(
                "the brokers are up but no status event has been delivered for {}s while deliveries kept failing",
                after.as_secs()
            ));
        }
        if longer(self.dead_letter_failing_since) {
            return Some(format!(
                "the brokers are up but a dead letter has not been written for {}s: its partition's commit waits for it",
                after.as_secs()
            ));
        }
        None
    }
}

/// Whether librdkafka's group statistics say the member is steady: joined, not rebalancing.
pub fn steady(state: &str, join_state: &str) -> bool {
    state == "up" && join_state == "steady"
}

#[cfg(test)]
mod tests {
    use super::*;

    const AFTER: Duration = Duration::from_secs(60);

    fn at(start: Instant, seconds: u64) -> Instant {
        start + Duration::from_secs(seconds)
    }

    #[test]
    fn a_member_out_of_its_group_too_long_while_brokers_are_up_is_wedged() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        liveness.group(t0, true, false);
        liveness.group(at(t0, 30), true, false);
        assert_eq!(liveness.wedged(at(t0, 59), AFTER), None);
        assert!(
            liveness
                .wedged(at(t0, 60), AFTER)
                .is_some_and(|r| r.contains("steady"))
        );
    }

    #[test]
    fn a_rebalance_that_ends_is_not_wedged() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        liveness.group(t0, true, false);
        liveness.group(at(t0, 5), true, true);
        assert_eq!(liveness.wedged(at(t0, 120), AFTER), None);
    }

    #[test]
    fn nothing_is_wedged_while_the_brokers_are_down() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        liveness.group(t0, true, false);
        liveness.delivery_failed(t0);
        liveness.group(at(t0, 10), false, false);
        assert_eq!(liveness.wedged(at(t0, 600), AFTER), None);
    }

    #[test]
    fn the_outage_does_not_count_once_the_brokers_are_back() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        liveness.group(at(t0, 10), false, false);
        liveness.group(at(t0, 100), true, false);
        assert_eq!(liveness.wedged(at(t0, 150), AFTER), None);
        assert!(liveness.wedged(at(t0, 160), AFTER).is_some());
    }

    #[test]
    fn deliveries_failing_too_long_while_brokers_are_up_are_wedged() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        liveness.group(t0, true, true);
        liveness.delivery_failed(t0);
        liveness.delivery_failed(at(t0, 30));
        assert!(
            liveness
                .wedged(at(t0, 60), AFTER)
                .is_some_and(|r| r.contains("delivered"))
        );
    }

    #[test]
    fn one_delivery_clears_the_failures() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        liveness.group(t0, true, true);
        liveness.delivery_failed(t0);
        liveness.delivered();
        assert_eq!(liveness.wedged(at(t0, 600), AFTER), None);
    }

    #[test]
    fn a_dead_letter_failing_too_long_while_brokers_are_up_is_wedged_though_statuses_flow() {
        let t0 = Instant::now();
        let mut liveness = Liveness::default();
        liveness.group(t0, true, true);
        liveness.dead_letter_failed(t0);
        liveness.delivered();
        assert_eq!(liveness.wedged(at(t0, 59), AFTER), None);
        assert!(
            liveness
                .wedged(at(t0, 60), AFTER)
                .is_some_and(|r| r.contains("dead letter"))
        );
        liveness.dead_letter_written();
        assert_eq!(liveness.wedged(at(t0, 600), AFTER), None);
    }

    #[test]
    fn only_up_and_steady_is_steady() {
        assert!(steady("up", "steady"));
        assert!(!steady("up", "wait-join"));
        assert!(!steady("wait-coord", "init"));
    }
}
