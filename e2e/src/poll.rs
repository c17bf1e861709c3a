//! Waiting for a condition with a deadline, for tests against real servers: no fixed sleeps, and
//! a failure that says what was awaited and what was last seen.

use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, sleep};

/// A condition that did not hold in time.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {timeout:?} waiting for {what}; last seen: {last}")]
pub struct TimedOut {
    pub what: String,
    pub timeout: Duration,
    pub last: String,
}

/// Calls `check` every 100 ms until it returns `Ok`, or gives up after `timeout` with the last
/// `Err` it returned (a description of what was seen instead).
pub async fn eventually<T, F, Fut>(
    what: &str,
    timeout: Duration,
    mut check: F,
) -> Result<T, TimedOut>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return Ok(value),
            Err(last) if Instant::now() >= deadline => {
                return Err(TimedOut {
                    what: what.to_owned(),
                    timeout,
                    last,
                });
            }
            Err(_) => sleep(Duration::from_millis(100)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_first_success() {
        let mut calls = 0;
        let value = eventually("three calls", Duration::from_secs(5), || {
            calls += 1;
            let seen = calls;
            async move {
                if seen >= 3 {
                    Ok(seen)
                } else {
                    Err(format!("call {seen}"))
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
    }

    #[tokio::test]
    async fn timeout_reports_what_and_the_last_observation() {
        let error = eventually("never", Duration::from_millis(150), || async {
            Err::<(), _>("still no".to_owned())
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("never") && error.contains("still no"),
            "{error}"
        );
    }
}
