//! The consumer's Prometheus metrics. Labels are bounded: results, reasons, partition numbers.

use prometheus::core::Collector;
use prometheus::{
    Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Every metric the consumer exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    pub orders_processed: IntCounterVec,
    pub processing_duration: Histogram,
    pub brew_duration: Histogram,
    pub in_flight: IntGauge,
    pub workers: IntGauge,
    pub worker_busy_seconds: prometheus::Counter,
    pub worker_utilisation: Gauge,
    pub committed_offset: IntGaugeVec,
    pub lag: IntGaugeVec,
    pub commits: IntCounterVec,
    pub dead_letters: IntCounterVec,
    pub dead_letter_failures: IntCounterVec,
    pub dead_letters_retrying: IntGauge,
    pub rebalances: IntCounterVec,
    pub cancel_requests: IntCounterVec,
    pub delivery_failures: IntCounter,
    pub outbox_full: IntCounter,
    pub paused: IntGauge,
    pub queued: IntGauge,
}

/// Durations from 100 µs to about 100 s.
fn duration_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(0.000_1, 2.5, 16).unwrap_or_default()
}

fn register<C: Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> Result<C, prometheus::Error> {
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let r = coffee_telemetry::registry()?;
        Ok(Self {
            orders_processed: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "orders_processed_total",
                        "Order events finished, by result (completed, cancelled, failed, duplicate)",
                    ),
                    &["result"],
                )?,
            )?,
            processing_duration: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "order_processing_duration_seconds",
                        "From a worker taking an order to its outcome being handed to Kafka",
                    )
                    .buckets(duration_buckets()),
                )?,
            )?,
            brew_duration: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "order_brew_duration_seconds",
                        "Time spent brewing one order",
                    )
                    .buckets(duration_buckets()),
                )?,
            )?,
            in_flight: register(
                &r,
                IntGauge::new(
                    "consumer_in_flight_messages",
                    "Messages taken from Kafka and not finished",
                )?,
            )?,
            workers: register(
                &r,
                IntGauge::new("consumer_workers", "Workers running in this process")?,
            )?,
            worker_busy_seconds: register(
                &r,
                prometheus::Counter::new(
                    "consumer_worker_busy_seconds_total",
                    "Seconds workers spent on orders; its rate over consumer_workers is the utilisation",
                )?,
            )?,
            worker_utilisation: register(
                &r,
                Gauge::new(
                    "consumer_worker_utilisation",
                    "Share of worker time spent on orders over the last few seconds (0 to 1)",
                )?,
            )?,
            committed_offset: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "consumer_committed_offset",
                        "Last offset this process committed, by partition",
                    ),
                    &["partition"],
                )?,
            )?,
            lag: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "consumer_lag_messages",
                        "Log-end offset minus committed offset as this process sees it, by partition",
                    ),
                    &["partition"],
                )?,
            )?,
            commits: register(
                &r,
                IntCounterVec::new(
                    Opts::new("consumer_commits_total", "Offset commits, by result"),
                    &["result"],
                )?,
            )?,
            dead_letters: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "dead_letters_total",
                        "Messages sent to the dead-letter topic, by reason",
                    ),
                    &["reason"],
                )?,
            )?,
            dead_letter_failures: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "dead_letter_failures_total",
                        "Dead letters Kafka did not take, by error (too_large, other); each is written again",
                    ),
                    &["error"],
                )?,
            )?,
            dead_letters_retrying: register(
                &r,
                IntGauge::new(
                    "dead_letters_retrying",
                    "Dead letters not yet written after a failure; their partitions' commits wait for them",
                )?,
            )?,
            rebalances: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "rebalances_total",
                        "Partition assignment changes, by kind (assign, revoke)",
                    ),
                    &["kind"],
                )?,
            )?,
            cancel_requests: register(
                &r,
                IntCounterVec::new(
                    Opts::new("cancel_requests_total", "Cancel requests read, by outcome"),
                    &["outcome"],
                )?,
            )?,
            outbox_full: register(
                &r,
                IntCounter::new(
                    "consumer_outbox_full_waits_total",
                    "Times a worker waited because librdkafka's producer queue was full",
                )?,
            )?,
            delivery_failures: register(
                &r,
                IntCounter::new(
                    "consumer_delivery_failures_total",
                    "Status or dead-letter messages Kafka did not take",
                )?,
            )?,
            queued: register(
                &r,
                IntGauge::new(
                    "consumer_queued_orders",
                    "Orders ready for a worker and not started",
                )?,
            )?,
            paused: register(
                &r,
                IntGauge::new(
                    "consumer_paused",
                    "1 while fetching is paused because the in-flight budget is full",
                )?,
            )?,
            registry: r,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        coffee_telemetry::metrics_text(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_the_issue_names_are_exported() {
        let metrics = Metrics::new().unwrap();
        metrics
            .orders_processed
            .with_label_values(&["completed"])
            .inc();
        metrics.committed_offset.with_label_values(&["0"]).set(5);
        metrics.lag.with_label_values(&["0"]).set(2);
        metrics
            .dead_letters
            .with_label_values(&["undecodable"])
            .inc();
        metrics.rebalances.with_label_values(&["assign"]).inc();
        metrics.processing_duration.observe(0.01);
        metrics.brew_duration.observe(0.01);
        let text = metrics.render();
        for name in [
            "orders_processed_total{result=\"completed\"} 1",
            "order_processing_duration_seconds_bucket",
            "order_brew_duration_seconds_bucket",
            "consumer_in_flight_messages 0",
            "consumer_workers 0",
            "consumer_worker_utilisation 0",
            "consumer_committed_offset{partition=\"0\"} 5",
            "consumer_lag_messages{partition=\"0\"} 2",
            "dead_letters_total{reason=\"undecodable\"} 1",
            "rebalances_total{kind=\"assign\"} 1",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
    }
}
