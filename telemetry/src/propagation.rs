//! W3C trace context (`traceparent`, `tracestate`) in and out of message headers, so that a
//! consumer's span continues the producer's trace. Spans carry their context either in the
//! OpenTelemetry layer (when spans are exported) or in [`TraceIds`] (when they are not); both
//! read and write the same headers.

use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Registry;
use tracing_subscriber::registry::LookupSpan;

use crate::trace_ids::TraceIds;

/// Runs `f` on the [`TraceIds`] of `span`, if the span has them (spans are not exported).
fn with_ids<T>(span: &tracing::Span, f: impl FnOnce(&mut TraceIds) -> T) -> Option<T> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let data = registry.span(id)?;
        let mut extensions = data.extensions_mut();
        extensions.get_mut::<TraceIds>().map(f)
    })
    .flatten()
}

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
    if let Some(traceparent) = with_ids(span, |ids| ids.traceparent()) {
        return vec![("traceparent".to_owned(), traceparent)];
    }
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
    let incoming = Lookup(headers).get("traceparent").and_then(TraceIds::parse);
    let continued = with_ids(span, |ids| {
        if let Some(parent) = incoming {
            *ids = TraceIds {
                span_id: ids.span_id,
                ..parent
            };
        }
    });
    if continued.is_some() {
        return;
    }
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

    /// The subscriber of a service that exports no spans.
    fn with_ids_only<T>(f: impl FnOnce() -> T) -> T {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(crate::trace_ids::TraceIdsLayer);
        tracing::subscriber::with_default(subscriber, f)
    }

    #[test]
    fn without_export_a_span_still_writes_a_w3c_traceparent() {
        let headers = with_ids_only(|| headers_of(&tracing::info_span!("PlaceOrder")));
        let traceparent = &headers[0].1;
        assert_eq!(headers[0].0, "traceparent");
        assert!(TraceIds::parse(traceparent).is_some(), "{traceparent}");
        assert!(
            traceparent.ends_with("-00"),
            "a new trace is not sampled: {traceparent}"
        );
    }

    #[test]
    fn without_export_a_child_of_a_continued_span_carries_the_callers_trace() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let headers = with_ids_only(|| {
            let order = tracing::info_span!("PlaceOrder");
            continue_trace(&order, &[("traceparent", incoming)]);
            let publish = order.in_scope(|| tracing::info_span!("PublishToKafka"));
            headers_of(&publish)
        });
        let ids = TraceIds::parse(&headers[0].1).unwrap();
        assert_eq!(ids.trace_id, 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
        assert_ne!(ids.span_id, 0x00f0_67aa_0ba9_02b7);
        assert!(ids.sampled, "the caller's sampled flag is kept");
    }

    #[test]
    fn without_export_a_malformed_traceparent_keeps_the_new_trace() {
        let headers = with_ids_only(|| {
            let span = tracing::info_span!("ProcessOrder");
            let before = headers_of(&span);
            continue_trace(&span, &[("traceparent", "not-a-trace")]);
            (before, headers_of(&span))
        });
        assert_eq!(headers.0, headers.1);
    }
}
