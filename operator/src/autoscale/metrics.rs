//! The autoscaler's metrics. These are labelled by namespace and pipeline: their number is
//! bounded by the pipelines that exist (the series of a deleted pipeline are removed), never
//! by orders or time.

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use super::policy::{Decision, Reason};
use super::report::DIRECTIONS;
use super::tracker::Estimates;
use crate::crd::ConsumerSize;

const PIPELINE: &[&str] = &["namespace", "pipeline"];
const SIZE: &[&str] = &["namespace", "pipeline", "state"];
/// Every value of the `state` label of the size gauges.
const SIZE_STATES: [&str; 3] = ["current", "desired", "max"];

#[derive(Debug, Clone)]
pub struct AutoscalerMetrics {
    lag: IntGaugeVec,
    worst_lag: IntGaugeVec,
    arrivals: GaugeVec,
    processed: GaugeVec,
    worker_rate: GaugeVec,
    pods: IntGaugeVec,
    workers: IntGaugeVec,
    drain: GaugeVec,
    stalled: IntGaugeVec,
    decisions: IntCounterVec,
    polls: IntCounterVec,
}

impl AutoscalerMetrics {
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let gauge = |name: &str, help: &str| IntGaugeVec::new(Opts::new(name, help), PIPELINE);
        let float = |name: &str, help: &str| GaugeVec::new(Opts::new(name, help), PIPELINE);
        let size = |name: &str, help: &str| IntGaugeVec::new(Opts::new(name, help), SIZE);
        let metrics = Self {
            lag: gauge(
                "coffee_autoscaler_lag_messages",
                "Consumer-group lag of the order topic",
            )?,
            worst_lag: gauge(
                "coffee_autoscaler_worst_partition_lag_messages",
                "Lag of the partition with the most lag",
            )?,
            arrivals: float(
                "coffee_autoscaler_arrivals_per_second",
                "Orders arriving per second (growth of the log-end offsets)",
            )?,
            processed: float(
                "coffee_autoscaler_processed_per_second",
                "Orders processed per second (growth of the committed offsets)",
            )?,
            worker_rate: float(
                "coffee_autoscaler_worker_rate_per_second",
                "Orders one worker processes per second, learned while the workers were busy",
            )?,
            pods: size(
                "coffee_autoscaler_consumer_pods",
                "Consumer pods: current (ready), desired, and the most the spec and partitions allow (max)",
            )?,
            workers: size(
                "coffee_autoscaler_consumer_workers",
                "Workers per consumer pod: current, desired, and the spec's maximum (max)",
            )?,
            drain: float(
                "coffee_autoscaler_time_to_drain_seconds",
                "Seconds until the lag is gone at the desired capacity (+Inf: it does not drain)",
            )?,
            stalled: gauge(
                "coffee_autoscaler_stalled_partitions",
                "Partitions with lag and no progress while the group is alive",
            )?,
            decisions: IntCounterVec::new(
                Opts::new(
                    "coffee_autoscaler_decisions_total",
                    "Changes of the desired consumer size, by direction and reason",
                ),
                &["namespace", "pipeline", "direction", "reason"],
            )?,
            polls: IntCounterVec::new(
                Opts::new(
                    "coffee_autoscaler_polls_total",
                    "Lag polls of all pipelines, by result",
                ),
                &["result"],
            )?,
        };
        for collector in [
            Box::new(metrics.lag.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(metrics.worst_lag.clone()),
            Box::new(metrics.arrivals.clone()),
            Box::new(metrics.processed.clone()),
            Box::new(metrics.worker_rate.clone()),
            Box::new(metrics.pods.clone()),
            Box::new(metrics.workers.clone()),
            Box::new(metrics.drain.clone()),
            Box::new(metrics.stalled.clone()),
            Box::new(metrics.decisions.clone()),
            Box::new(metrics.polls.clone()),
        ] {
            registry.register(collector)?;
        }
        Ok(metrics)
    }

    /// Counts one poll's result: `ok`, or what kept it from deciding.
    pub fn poll(&self, result: &str) {
        self.polls.with_label_values(&[result]).inc();
    }

    /// Records one poll of a pipeline; `sizes` are the running size and the largest the spec
    /// and the partitions allow (what alerts compare the desired size with).
    pub fn observe(
        &self,
        pipeline: [&str; 2],
        estimates: &Estimates,
        decision: &Decision,
        sizes: [ConsumerSize; 2],
    ) {
        let [running, largest] = sizes;
        self.lag
            .with_label_values(&pipeline)
            .set(estimates.total_lag);
        self.worst_lag
            .with_label_values(&pipeline)
            .set(estimates.worst.map_or(0, |(_, lag)| lag));
        for (gauge, value) in [
            (&self.arrivals, estimates.arrival_rate),
            (&self.processed, estimates.processing_rate),
            (&self.worker_rate, estimates.per_worker_rate),
        ] {
            if let Some(value) = value {
                gauge.with_label_values(&pipeline).set(value);
            }
        }
        self.drain
            .with_label_values(&pipeline)
            .set(decision.drain_seconds.unwrap_or(f64::INFINITY));
        self.stalled
            .with_label_values(&pipeline)
            .set(i64::try_from(estimates.stalled.len()).unwrap_or(i64::MAX));
        for (state, size) in [
            ("current", running),
            ("desired", decision.to),
            ("max", largest),
        ] {
            let labels = [pipeline[0], pipeline[1], state];
            self.pods
                .with_label_values(&labels)
                .set(i64::from(size.pods));
            self.workers
                .with_label_values(&labels)
                .set(i64::from(size.workers));
        }
    }

    /// Counts a change of the desired size.
    pub fn decided(&self, pipeline: [&str; 2], direction: &str, reason: &str) {
        self.decisions
            .with_label_values(&[pipeline[0], pipeline[1], direction, reason])
            .inc();
    }

    /// Removes every series of a pipeline that is gone.
    pub fn forget(&self, pipeline: [&str; 2]) {
        for vec in [&self.lag, &self.worst_lag, &self.stalled] {
            let _ = vec.remove_label_values(&pipeline);
        }
        for vec in [
            &self.arrivals,
            &self.processed,
            &self.worker_rate,
            &self.drain,
        ] {
            let _ = vec.remove_label_values(&pipeline);
        }
        for state in SIZE_STATES {
            let labels = [pipeline[0], pipeline[1], state];
            let _ = self.pods.remove_label_values(&labels);
            let _ = self.workers.remove_label_values(&labels);
        }
        for direction in DIRECTIONS {
            for reason in Reason::ALL {
                let labels = [pipeline[0], pipeline[1], direction, reason.as_str()];
                let _ = self.decisions.remove_label_values(&labels);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision() -> Decision {
        Decision {
            from: ConsumerSize {
                pods: 1,
                workers: 10,
            },
            to: ConsumerSize {
                pods: 2,
                workers: 20,
            },
            reason: Reason::CapacityShort,
            pods_held: false,
            need: Some(300.0),
            capacity_from: Some(100.0),
            capacity_to: Some(400.0),
            drain_seconds: None,
        }
    }

    fn estimates() -> Estimates {
        Estimates {
            total_lag: 1_234,
            lag: 1_234,
            worst: Some((3, 900)),
            arrival_rate: Some(250.0),
            ..Estimates::default()
        }
    }

    #[test]
    fn a_poll_shows_lag_rates_sizes_and_decisions_of_its_pipeline() {
        let registry = Registry::new();
        let metrics = AutoscalerMetrics::register(&registry).unwrap();
        let running = ConsumerSize {
            pods: 1,
            workers: 10,
        };
        let largest = ConsumerSize {
            pods: 6,
            workers: 40,
        };
        metrics.observe(
            ["shop", "downtown"],
            &estimates(),
            &decision(),
            [running, largest],
        );
        metrics.decided(["shop", "downtown"], "up", "CapacityShort");
        let text = coffee_telemetry::metrics_text(&registry);
        for line in [
            r#"coffee_autoscaler_lag_messages{namespace="shop",pipeline="downtown"} 1234"#,
            r#"coffee_autoscaler_worst_partition_lag_messages{namespace="shop",pipeline="downtown"} 900"#,
            r#"coffee_autoscaler_arrivals_per_second{namespace="shop",pipeline="downtown"} 250"#,
            r#"coffee_autoscaler_consumer_pods{namespace="shop",pipeline="downtown",state="desired"} 2"#,
            r#"coffee_autoscaler_consumer_workers{namespace="shop",pipeline="downtown",state="current"} 10"#,
            r#"coffee_autoscaler_consumer_pods{namespace="shop",pipeline="downtown",state="max"} 6"#,
            // Written `inf`, which Prometheus reads as +Inf.
            r#"coffee_autoscaler_time_to_drain_seconds{namespace="shop",pipeline="downtown"} inf"#,
            r#"coffee_autoscaler_decisions_total{direction="up",namespace="shop",pipeline="downtown",reason="CapacityShort"} 1"#,
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn a_deleted_pipeline_leaves_no_series() {
        let registry = Registry::new();
        let metrics = AutoscalerMetrics::register(&registry).unwrap();
        let sizes = [ConsumerSize::default(); 2];
        metrics.observe(["shop", "gone"], &estimates(), &decision(), sizes);
        metrics.decided(["shop", "gone"], "up", "CapacityShort");
        metrics.forget(["shop", "gone"]);
        let text = coffee_telemetry::metrics_text(&registry);
        assert!(!text.contains("gone"), "{text}");
    }
}
