//! KEDA's Kafka scaler feeding a HorizontalPodAutoscaler, replayed (pure) as the reference the
//! operator's autoscaler is measured against, in the benchmark on the real system and in the
//! operator's simulator. Not part of the product.
//!
//! Replayed from `kedacore/keda` `pkg/scalers/kafka_scaler.go` and Kubernetes 1.36
//! `pkg/controller/podautoscaler` (`replica_calculator.go`, `horizontal.go`), with their
//! defaults: lag polled every 30 s; lag per partition = log end − commit (no commit: with
//! `offsetResetPolicy: earliest` the whole log-end offset, with `latest` 1); total capped at
//! partitions × `lagThreshold`; HPA sync every 15 s on an `AverageValue` external metric with
//! target `lagThreshold` and a 10 % tolerance; scale-up at most max(+100 %, +4 pods) per 15 s
//! with no stabilisation window; scale-down to the highest recommendation of the last 300 s,
//! at most −100 % per 15 s. Workers per pod are fixed: neither knows of them.

use std::collections::VecDeque;
use std::time::Duration;

/// Where a group without a commit starts reading, which decides how KEDA counts its lag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
}

/// The knobs, with KEDA's and the HPA's defaults from [`KedaHpa::defaults`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KedaHpaConfig {
    pub polling_interval: Duration,
    pub lag_threshold: u64,
    pub offset_reset: OffsetReset,
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub sync_period: Duration,
    pub tolerance: f64,
    pub scale_down_window: Duration,
    pub scale_up_percent: f64,
    pub scale_up_pods: i32,
    pub policy_period: Duration,
}

/// One partition as KEDA reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionReading {
    pub log_end: i64,
    pub committed: Option<i64>,
}

/// The replay's state. Times are seconds on the caller's clock.
#[derive(Debug, Clone)]
pub struct KedaHpa {
    config: KedaHpaConfig,
    partitions: i32,
    /// The external metric as last polled: total lag, capped.
    metric: Option<i64>,
    last_poll: Option<Duration>,
    last_sync: Option<Duration>,
    recommendations: VecDeque<(Duration, i32)>,
    /// Replica changes inside the current policy period: (when, change).
    events: VecDeque<(Duration, i32)>,
}

impl KedaHpa {
    /// KEDA's and the HPA's defaults for a topic of `partitions` and `lag_threshold`.
    pub fn defaults(partitions: i32, lag_threshold: u64, max_replicas: i32) -> KedaHpaConfig {
        KedaHpaConfig {
            polling_interval: Duration::from_secs(30),
            lag_threshold,
            offset_reset: OffsetReset::Latest,
            min_replicas: 1,
            max_replicas: max_replicas.min(partitions),
            sync_period: Duration::from_secs(15),
            tolerance: 0.1,
            scale_down_window: Duration::from_secs(300),
            scale_up_percent: 100.0,
            scale_up_pods: 4,
            policy_period: Duration::from_secs(15),
        }
    }

    pub fn new(config: KedaHpaConfig, partitions: i32) -> Self {
        Self {
            config,
            partitions,
            metric: None,
            last_poll: None,
            last_sync: None,
            recommendations: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &KedaHpaConfig {
        &self.config
    }

    /// Whether KEDA reads lag at `at`.
    pub fn poll_due(&self, at: Duration) -> bool {
        self.last_poll
            .is_none_or(|t| at.saturating_sub(t) >= self.config.polling_interval)
    }

    /// KEDA's poll: the total lag of `partitions`, capped at partitions × threshold.
    pub fn poll(&mut self, at: Duration, partitions: &[PartitionReading]) {
        self.last_poll = Some(at);
        let total: i64 = partitions
            .iter()
            .map(|p| match p.committed {
                Some(committed) => p.log_end - committed,
                None => match self.config.offset_reset {
                    OffsetReset::Earliest => p.log_end,
                    OffsetReset::Latest => 1,
                },
            })
            .sum();
        let cap = i64::from(self.partitions) * self.config.lag_threshold as i64;
        self.metric = Some(total.min(cap));
    }

    /// Whether the HPA syncs at `at`.
    pub fn sync_due(&self, at: Duration) -> bool {
        self.last_sync
            .is_none_or(|t| at.saturating_sub(t) >= self.config.sync_period)
    }

    /// The HPA's sync: the replicas it sets, given the replicas the Deployment has.
    pub fn sync(&mut self, at: Duration, current: i32) -> i32 {
        self.last_sync = Some(at);
        let Some(metric) = self.metric else {
            return current;
        };
        let c = &self.config;
        let current = current.max(1);
        let target = c.lag_threshold.max(1) as f64;
        let ratio = metric as f64 / (target * f64::from(current));
        let raw = if (1.0 - c.tolerance..=1.0 + c.tolerance).contains(&ratio) {
            current
        } else {
            (metric as f64 / target).ceil() as i32
        };
        // Stabilisation: no window up, the highest recommendation of the window down.
        self.recommendations
            .retain(|&(t, _)| at.saturating_sub(t) <= c.scale_down_window);
        let highest = self
            .recommendations
            .iter()
            .map(|&(_, r)| r)
            .fold(raw, i32::max);
        self.recommendations.push_back((at, raw));
        let stabilised = if raw >= current {
            raw
        } else {
            highest.min(current)
        };
        // Rate limits relative to the replicas at the start of the policy period.
        self.events
            .retain(|&(t, _)| at.saturating_sub(t) < c.policy_period);
        let changed: i32 = self.events.iter().map(|&(_, d)| d).sum();
        let period_start = current - changed;
        let up_limit = ((f64::from(period_start) * (1.0 + c.scale_up_percent / 100.0)).ceil()
            as i32)
            .max(period_start + c.scale_up_pods);
        let limited = stabilised.min(up_limit).max(0);
        let desired = limited.clamp(c.min_replicas, c.max_replicas);
        if desired != current {
            self.events.push_back((at, desired - current));
        }
        desired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn lag(total: i64, partitions: usize) -> Vec<PartitionReading> {
        let each = total / i64::try_from(partitions).unwrap();
        vec![
            PartitionReading {
                log_end: each,
                committed: Some(0),
            };
            partitions
        ]
    }

    #[test]
    fn desired_replicas_are_lag_over_the_threshold() {
        let mut keda = KedaHpa::new(KedaHpa::defaults(12, 100, 12), 12);
        keda.poll(secs(0), &lag(600, 12));
        assert_eq!(keda.sync(secs(0), 2), 6);
    }

    #[test]
    fn scale_up_is_limited_to_double_or_four_pods_per_period() {
        let mut keda = KedaHpa::new(KedaHpa::defaults(24, 100, 24), 24);
        keda.poll(secs(0), &lag(2_400, 24));
        assert_eq!(keda.sync(secs(0), 1), 5);
        assert_eq!(keda.sync(secs(15), 5), 10);
        assert_eq!(keda.sync(secs(30), 10), 20);
    }

    #[test]
    fn within_the_tolerance_nothing_changes_and_one_pod_below_the_cap_stays() {
        // 12 partitions at 100 each: the metric is capped at 1,200, 11 pods are within 10 %.
        let mut keda = KedaHpa::new(KedaHpa::defaults(12, 100, 12), 12);
        keda.poll(secs(0), &lag(1_000_000, 12));
        assert_eq!(keda.sync(secs(0), 11), 11);
    }

    #[test]
    fn scale_down_waits_for_the_highest_recommendation_of_five_minutes() {
        let mut keda = KedaHpa::new(KedaHpa::defaults(12, 100, 12), 12);
        keda.poll(secs(0), &lag(800, 12));
        assert_eq!(keda.sync(secs(0), 8), 8);
        keda.poll(secs(30), &lag(0, 12));
        assert_eq!(keda.sync(secs(30), 8), 8);
        assert_eq!(keda.sync(secs(299), 8), 8);
        assert_eq!(keda.sync(secs(301), 8), 1);
    }

    #[test]
    fn a_group_without_commits_counts_by_the_reset_policy() {
        let reading = [PartitionReading {
            log_end: 5_000,
            committed: None,
        }];
        let mut latest = KedaHpa::new(KedaHpa::defaults(1, 10, 1), 1);
        latest.poll(secs(0), &reading);
        assert_eq!(latest.metric, Some(1));
        let mut config = KedaHpa::defaults(1, 10_000, 1);
        config.offset_reset = OffsetReset::Earliest;
        let mut earliest = KedaHpa::new(config, 1);
        earliest.poll(secs(0), &reading);
        assert_eq!(earliest.metric, Some(5_000));
    }

    #[test]
    fn polls_and_syncs_follow_their_periods() {
        let mut keda = KedaHpa::new(KedaHpa::defaults(1, 10, 1), 1);
        assert!(keda.poll_due(secs(0)));
        keda.poll(secs(0), &lag(0, 1));
        assert!(!keda.poll_due(secs(29)));
        assert!(keda.poll_due(secs(30)));
        keda.sync(secs(0), 1);
        assert!(!keda.sync_due(secs(14)));
        assert!(keda.sync_due(secs(15)));
    }
}
