//! How long to wait before another attempt at writing an order's outcome.

use std::time::Duration;

/// Exponential back-off: `first` before the second attempt, doubling, capped at 30 s.
pub fn backoff(first: Duration, failed_attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(failed_attempts.saturating_sub(1).min(16));
    first.saturating_mul(factor).min(Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_retry_waits_the_first_backoff() {
        assert_eq!(
            backoff(Duration::from_millis(200), 1),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn each_failure_doubles_the_wait() {
        assert_eq!(
            backoff(Duration::from_millis(200), 3),
            Duration::from_millis(800)
        );
    }

    #[test]
    fn the_wait_is_capped() {
        assert_eq!(backoff(Duration::from_secs(1), 40), Duration::from_secs(30));
    }
}
