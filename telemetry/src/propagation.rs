//! W3C trace context (`traceparent`, `tracestate`) in and out of message headers, so that a
//! consumer's span continues the producer's trace.

use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct Pairs<'a>(&'a mut Vec<(String, String)>);

impl Injector for Pairs<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

struct Lookup<'a>(&'a [(&'a str, &'a str)]);

impl Extractor for Lookup<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| *v)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| *k).collect()
    }
}

/// The trace-context headers of `span`: `traceparent` and, if any, `tracestate`.
pub fn headers_of(span: &tracing::Span) -> Vec<(String, String)> {
    let mut headers = Vec::with_capacity(2);
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut Pairs(&mut headers));
    });
    headers
}

/// Makes `span` a child of the trace named in `headers` (name/value pairs, e.g. from HTTP or
/// Kafka). Without a valid `traceparent` the span starts a new trace.
pub fn continue_trace(span: &tracing::Span, headers: &[(&str, &str)]) {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&Lookup(headers))
    });
    let _ = span.set_parent(parent);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceContextExt;

    fn with_tracing<T>(f: impl FnOnce() -> T) -> T {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt;
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, f)
    }

    #[test]
    fn a_span_writes_a_w3c_traceparent() {
        let headers = with_tracing(|| headers_of(&tracing::info_span!("PlaceOrder")));
        let (name, value) = &headers[0];
        assert_eq!(name, "traceparent");
        let parts: Vec<&str> = value.split('-').collect();
        assert_eq!(parts.len(), 4, "{value}");
        assert_eq!(
            (parts[0], parts[1].len(), parts[2].len()),
            ("00", 32, 16),
            "{value}"
        );
    }

    #[test]
    fn a_continued_span_keeps_the_incoming_trace_id() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let trace_id = with_tracing(|| {
            let span = tracing::info_span!("ProcessOrder");
            continue_trace(&span, &[("traceparent", incoming)]);
            span.context().span().span_context().trace_id().to_string()
        });
        assert_eq!(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn a_malformed_traceparent_starts_a_new_trace() {
        let headers = with_tracing(|| {
            let span = tracing::info_span!("ProcessOrder");
            continue_trace(&span, &[("traceparent", "not-a-trace")]);
            headers_of(&span)
        });
        assert!(headers[0].1.starts_with("00-"), "{headers:?}");
    }
}
