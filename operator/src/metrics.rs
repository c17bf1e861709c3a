//! The operator's Prometheus metrics. The controller's own are never labelled by pipeline
//! name (errors are labelled by kind instead); the autoscaler's per-pipeline figures are, in
//! [`AutoscalerMetrics`], and go away with their pipeline.

use std::time::Duration;

use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::autoscale::metrics::AutoscalerMetrics;

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    pub reconciles: IntCounterVec,
    pub reconcile_duration: Histogram,
    pub topic_actions: IntCounterVec,
    /// 1 while this replica holds the leader Lease: alerts tell "no replica leads" from "no
    /// replica runs".
    pub leader: IntGauge,
    /// 1 while a pipeline's Ready condition is true, 0 while false; gone with the pipeline.
    pub pipeline_ready: IntGaugeVec,
    pub autoscaler: AutoscalerMetrics,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = coffee_telemetry::registry()?;
        let reconciles = IntCounterVec::new(
            Opts::new(
                "coffee_operator_reconciles_total",
                "Reconciles, by result (ok or the error kind)",
            ),
            &["result"],
        )?;
        let reconcile_duration = Histogram::with_opts(
            HistogramOpts::new(
                "coffee_operator_reconcile_duration_seconds",
                "Time of one reconcile",
            )
            .buckets(prometheus::exponential_buckets(0.001, 2.0, 19)?),
        )?;
        let topic_actions = IntCounterVec::new(
            Opts::new(
                "coffee_operator_topic_actions_total",
                "Changes made to Kafka topics, by kind",
            ),
            &["action"],
        )?;
        let leader = IntGauge::new(
            "coffee_operator_leader",
            "1 while this replica holds the leader Lease and reconciles",
        )?;
        let pipeline_ready = IntGaugeVec::new(
            Opts::new(
                "coffee_operator_pipeline_ready",
                "1 while the pipeline's Ready condition is true",
            ),
            &["namespace", "pipeline"],
        )?;
        registry.register(Box::new(reconciles.clone()))?;
        registry.register(Box::new(leader.clone()))?;
        registry.register(Box::new(pipeline_ready.clone()))?;
        registry.register(Box::new(reconcile_duration.clone()))?;
        registry.register(Box::new(topic_actions.clone()))?;
        let autoscaler = AutoscalerMetrics::register(&registry)?;
        Ok(Self {
            registry,
            reconciles,
            reconcile_duration,
            topic_actions,
            leader,
            pipeline_ready,
            autoscaler,
        })
    }

    /// Records one reconcile and its error kind, if it failed.
    pub fn observe_reconcile(&self, took: Duration, error: Option<&str>) {
        self.reconcile_duration.observe(took.as_secs_f64());
        self.reconciles
            .with_label_values(&[error.unwrap_or("ok")])
            .inc();
    }

    /// Records whether a pipeline is Ready.
    pub fn set_pipeline_ready(&self, namespace: &str, pipeline: &str, ready: bool) {
        self.pipeline_ready
            .with_label_values(&[namespace, pipeline])
            .set(i64::from(ready));
    }

    /// Removes the series of a pipeline that is being deleted.
    pub fn forget_pipeline(&self, namespace: &str, pipeline: &str) {
        let _ = self
            .pipeline_ready
            .remove_label_values(&[namespace, pipeline]);
    }

    pub fn render(&self) -> String {
        coffee_telemetry::metrics_text(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciles_are_counted_by_result_not_by_pipeline() {
        let metrics = Metrics::new().unwrap();
        metrics.observe_reconcile(Duration::from_millis(3), None);
        metrics.observe_reconcile(Duration::from_millis(3), Some("KafkaUnreachable"));
        let text = metrics.render();
        assert!(
            text.contains("coffee_operator_reconciles_total{result=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("coffee_operator_reconciles_total{result=\"KafkaUnreachable\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("coffee_operator_reconcile_duration_seconds_count 2"),
            "{text}"
        );
    }

    #[test]
    fn a_standby_reports_that_it_does_not_lead() {
        let text = Metrics::new().unwrap().render();
        assert!(text.contains("coffee_operator_leader 0"), "{text}");
    }

    #[test]
    fn readiness_is_reported_per_pipeline_until_it_is_deleted() {
        let metrics = Metrics::new().unwrap();
        metrics.set_pipeline_ready("shop", "espresso", false);
        let text = metrics.render();
        assert!(
            text.contains(
                r#"coffee_operator_pipeline_ready{namespace="shop",pipeline="espresso"} 0"#
            ),
            "{text}"
        );
        metrics.forget_pipeline("shop", "espresso");
        assert!(!metrics.render().contains("espresso"));
    }
}
