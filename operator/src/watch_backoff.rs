//! How long the controller's watches wait after an error. kube-runtime merges every trigger
//! watch (the pipelines and the four kinds of owned objects) into one stream behind one
//! back-off, and each watch reports its error only when the stream is polled again — so after
//! a kube-apiserver restart, when every watch fails once in turn (connection refused, `403`
//! while the new server's RBAC cache fills, `410 Expired` for resource versions older than its
//! watch cache), the waits add up. With client-go's 800 ms doubling to 30 s the operator
//! reconciled nothing for over 90 s after a restart (the chaos suite); capped at 5 s, a few
//! seconds.

use std::time::Duration;

use kube::runtime::utils::{Backoff, ResetTimerBackoff};

const FIRST: Duration = Duration::from_millis(250);
const MOST: Duration = Duration::from_secs(5);
/// Quiet time after which the next error starts from [`FIRST`] again.
const RESET_AFTER: Duration = Duration::from_secs(30);

/// Doubling waits from `first` up to `most`.
#[derive(Debug, Clone)]
pub struct Doubling {
    first: Duration,
    next: Duration,
    most: Duration,
}

impl Doubling {
    pub fn new(first: Duration, most: Duration) -> Self {
        Self {
            first,
            next: first,
            most,
        }
    }
}

impl Iterator for Doubling {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let wait = self.next;
        self.next = (self.next * 2).min(self.most);
        Some(wait)
    }
}

impl Backoff for Doubling {
    fn reset(&mut self) {
        self.next = self.first;
    }
}

/// The back-off of the controller's trigger watches.
pub fn for_watches() -> ResetTimerBackoff<Doubling> {
    ResetTimerBackoff::new(Doubling::new(FIRST, MOST), RESET_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let waits: Vec<Duration> = Doubling::new(FIRST, MOST).take(7).collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 4000, 5000, 5000]);
    }

    #[test]
    fn a_reset_starts_from_the_first_wait_again() {
        let mut backoff = Doubling::new(FIRST, MOST);
        backoff.by_ref().take(4).for_each(drop);
        backoff.reset();
        assert_eq!(backoff.next(), Some(FIRST));
    }

    #[test]
    fn five_watches_failing_in_turn_wait_under_fifteen_seconds_in_all() {
        let total: Duration = for_watches().take(5).sum();
        assert!(total < Duration::from_secs(15), "{total:?}");
    }
}
