//! The producer's Prometheus metrics, in a registry of its own. Labels are bounded: route
//! templates (never raw ids), methods, status codes, error codes.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Every metric the producer exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_request_duration: HistogramVec,
    pub http_requests_in_flight: IntGauge,
    pub http_requests_shed: IntCounter,
    pub kafka_publish_duration: Histogram,
    pub kafka_publish_errors: IntCounterVec,
    pub kafka_producer_queued: IntGaugeVec,
    pub kafka_producer_partitions: IntGauge,
    pub orders_accepted: IntCounter,
    pub orders_rejected: IntCounterVec,
    pub view_orders: IntGauge,
    pub view_events: IntCounterVec,
}

/// Latency buckets from 250 µs to 10 s.
fn latency_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(0.000_25, 2.0, 16).unwrap_or_default()
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = coffee_telemetry::registry()?;
        let http_request_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route template, method and status",
            )
            .buckets(latency_buckets()),
            &["path", "method", "status"],
        )?;
        let http_requests_in_flight =
            IntGauge::new("http_requests_in_flight", "HTTP requests being served")?;
        let http_requests_shed = IntCounter::new(
            "http_requests_shed_total",
            "Order requests answered 503 overloaded at once: --max-concurrent-requests were being served",
        )?;
        let kafka_publish_duration = Histogram::with_opts(
            HistogramOpts::new(
                "kafka_publish_duration_seconds",
                "Time from handing an event to librdkafka until the broker acknowledged it",
            )
            .buckets(latency_buckets()),
        )?;
        let kafka_publish_errors = IntCounterVec::new(
            Opts::new(
                "kafka_publish_errors_total",
                "Events Kafka did not take, by reason",
            ),
            &["reason"],
        )?;
        let kafka_producer_queued = IntGaugeVec::new(
            Opts::new(
                "kafka_producer_queued_messages",
                "Events handed to each producer of the pool and not yet acknowledged, sampled every second",
            ),
            &["producer"],
        )?;
        let kafka_producer_partitions = IntGauge::new(
            "kafka_producer_partitions",
            "Partitions of the order topic every producer of the pool knows; orders are spread over these",
        )?;
        let orders_accepted = IntCounter::new(
            "orders_accepted_total",
            "Orders acknowledged by the broker and answered with 202",
        )?;
        let orders_rejected = IntCounterVec::new(
            Opts::new(
                "orders_rejected_total",
                "Order requests refused, by error code",
            ),
            &["reason"],
        )?;
        let view_orders = IntGauge::new(
            "order_view_orders",
            "Orders held in this replica's in-memory view",
        )?;
        let view_events = IntCounterVec::new(
            Opts::new(
                "order_view_events_total",
                "Events read into the view, by topic kind and result",
            ),
            &["topic", "result"],
        )?;
        registry.register(Box::new(http_request_duration.clone()))?;
        registry.register(Box::new(http_requests_in_flight.clone()))?;
        registry.register(Box::new(http_requests_shed.clone()))?;
        registry.register(Box::new(kafka_publish_duration.clone()))?;
        registry.register(Box::new(kafka_publish_errors.clone()))?;
        registry.register(Box::new(kafka_producer_queued.clone()))?;
        registry.register(Box::new(kafka_producer_partitions.clone()))?;
        registry.register(Box::new(orders_accepted.clone()))?;
        registry.register(Box::new(orders_rejected.clone()))?;
        registry.register(Box::new(view_orders.clone()))?;
        registry.register(Box::new(view_events.clone()))?;
        Ok(Self {
            registry,
            http_request_duration,
            http_requests_in_flight,
            http_requests_shed,
            kafka_publish_duration,
            kafka_publish_errors,
            kafka_producer_queued,
            kafka_producer_partitions,
            orders_accepted,
            orders_rejected,
            view_orders,
            view_events,
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
    fn the_metrics_the_performance_plan_names_are_exported() {
        let metrics = Metrics::new().unwrap();
        metrics
            .http_request_duration
            .with_label_values(&["/order", "POST", "202"])
            .observe(0.001);
        metrics.kafka_publish_duration.observe(0.002);
        metrics
            .orders_rejected
            .with_label_values(&["too_long"])
            .inc();
        let text = metrics.render();
        for name in [
            "http_request_duration_seconds_bucket{method=\"POST\",path=\"/order\",status=\"202\"",
            "kafka_publish_duration_seconds_bucket",
            "orders_accepted_total 0",
            "orders_rejected_total{reason=\"too_long\"} 1",
            "http_requests_in_flight 0",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
    }
}
