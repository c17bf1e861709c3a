//! When the pipeline got over a fault, from outside: the backlog (orders acknowledged but not
//! yet finished) sampled while the load runs. Before the fault the backlog holds steady at what
//! the brew times and batching keep in flight; a fault grows it; the pipeline has recovered
//! when the backlog is back to its steady level.

use std::time::Duration;

/// The backlog, sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Since the stage started.
    pub at: Duration,
    /// Acknowledged orders without a final status yet.
    pub backlog: u64,
}

/// A backlog at most this many orders above the steady level counts as steady.
const SLACK: u64 = 20;

/// How long after `cleared` (when the fault ended) the backlog first came back to the steady
/// level it kept before `injected`; `None` if it has not (yet).
///
/// The steady level is twice the 90th percentile of the backlog before the fault, plus a
/// little slack for the orders one batch holds.
pub fn recovery(samples: &[Sample], injected: Duration, cleared: Duration) -> Option<Duration> {
    let mut before: Vec<u64> = samples
        .iter()
        .filter(|s| s.at < injected)
        .map(|s| s.backlog)
        .collect();
    before.sort_unstable();
    let p90 = before
        .get((before.len() * 9 / 10).min(before.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0);
    let steady = p90 * 2 + SLACK;
    samples
        .iter()
        .find(|s| s.at >= cleared && s.backlog <= steady)
        .map(|s| s.at - cleared)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn samples(backlogs: &[u64]) -> Vec<Sample> {
        backlogs
            .iter()
            .enumerate()
            .map(|(i, &backlog)| Sample {
                at: Duration::from_secs(i as u64),
                backlog,
            })
            .collect()
    }

    #[test]
    fn recovery_is_when_the_backlog_is_back_to_its_steady_level() {
        let s = samples(&[10, 12, 9, 11, 400, 900, 500, 30, 12]);
        let secs = Duration::from_secs;
        assert_eq!(recovery(&s, secs(4), secs(5)), Some(secs(2)));
    }

    #[test]
    fn a_backlog_that_never_shrinks_has_not_recovered() {
        let s = samples(&[10, 10, 500, 600, 700]);
        let secs = Duration::from_secs;
        assert_eq!(recovery(&s, secs(2), secs(2)), None);
    }

    #[test]
    fn a_fault_the_backlog_never_noticed_recovers_at_once() {
        let s = samples(&[10, 10, 10, 10]);
        let secs = Duration::from_secs;
        assert_eq!(recovery(&s, secs(2), secs(3)), Some(Duration::ZERO));
    }

    proptest! {
        #[test]
        fn recovery_is_never_before_the_fault_cleared(
            backlogs in prop::collection::vec(0u64..2_000, 1..200),
            injected in 0usize..200,
            length in 0usize..50,
        ) {
            let s = samples(&backlogs);
            let injected = Duration::from_secs(injected as u64);
            let cleared = injected + Duration::from_secs(length as u64);
            if let Some(after) = recovery(&s, injected, cleared) {
                let at = cleared + after;
                let found = s.iter().find(|x| x.at == at);
                prop_assert!(found.is_some());
            }
        }
    }
}
