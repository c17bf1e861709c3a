//! The headers every event carries on its way to Kafka: its type, the schema version it was
//! written with, and the trace context of the request or the work that wrote it. The order
//! intake and order processing both write events; this is the one place that builds them.

use coffee_events::headers::{EVENT_TYPE, SCHEMA_VERSION};
use rdkafka::message::{Header, OwnedHeaders};

/// The headers of an event of `event_type`, with the `trace` context (`traceparent`,
/// `tracestate`) as name–value pairs.
pub fn event_headers(event_type: &str, trace: &[(String, String)]) -> OwnedHeaders {
    let version = coffee_events::SCHEMA_VERSION.to_string();
    let mut headers = OwnedHeaders::new_with_capacity(2 + trace.len())
        .insert(text(EVENT_TYPE, event_type))
        .insert(text(SCHEMA_VERSION, &version));
    for (name, value) in trace {
        headers = headers.insert(text(name, value));
    }
    headers
}

/// A header with a text value.
pub fn text<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::Headers;

    #[test]
    fn an_event_says_its_type_and_version_then_its_trace() {
        let trace = [("traceparent".to_owned(), "00-abc-def-01".to_owned())];
        let headers = event_headers("order_created", &trace);
        let pairs: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|h| (h.key, h.value.unwrap_or_default()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("event-type", b"order_created".as_slice()),
                ("schema-version", b"1".as_slice()),
                ("traceparent", b"00-abc-def-01".as_slice()),
            ]
        );
    }
}
