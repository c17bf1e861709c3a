//! Spans continue the trace an order arrived with.

use std::time::Duration;

use coffee_events::headers;
use e2e::kafka::read_all;
use e2e::testbed::TestBed;
use rdkafka::Message;
use rdkafka::message::Headers;

use crate::support::{ConsumerProcess, OrderWriter, Topics, order, wait_until_final};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PRODUCER_SPAN_ID: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn status_events_continue_the_trace_of_their_order() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "tracing", 1).await.unwrap();
    let writer = OrderWriter::new(&bed, &topics).unwrap();
    let (id, details) = order("Ada", "Espresso");
    let traceparent = format!("00-{TRACE_ID}-{PRODUCER_SPAN_ID}-01");
    writer
        .create_traced(id, &details, &traceparent)
        .await
        .unwrap();
    let consumer = ConsumerProcess::start(&bed, &topics, &["--brew-time-scale", "0.01"])
        .await
        .unwrap();
    wait_until_final(&bed, &topics, &[id], Duration::from_secs(60), &consumer)
        .await
        .unwrap();

    let statuses = read_all(&bed, &topics.statuses, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(statuses.len(), 2, "processing and completed");
    for status in &statuses {
        let parent = status
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == headers::TRACEPARENT))
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        let parts: Vec<&str> = parent.split('-').collect();
        assert_eq!(parts.len(), 4, "traceparent {parent:?}");
        assert_eq!(parts[1], TRACE_ID, "the order's trace goes on");
        assert_ne!(
            parts[2], PRODUCER_SPAN_ID,
            "the consumer's span is the parent"
        );
        assert_eq!(parts[3], "01", "a sampled trace stays sampled");
    }
}
