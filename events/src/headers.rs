//! Kafka header names and values. Headers let a reader route or reject a message (and continue
//! its trace) without parsing the body.

/// The event's type, e.g. [`ORDER_CREATED`].
pub const EVENT_TYPE: &str = "event-type";
/// The body's schema version, as decimal text.
pub const SCHEMA_VERSION: &str = "schema-version";
/// W3C trace context of the request that caused the event.
pub const TRACEPARENT: &str = "traceparent";
/// W3C trace state accompanying [`TRACEPARENT`], when there is any.
pub const TRACESTATE: &str = "tracestate";

/// Header values of [`EVENT_TYPE`].
pub const ORDER_CREATED: &str = "order_created";
pub const ORDER_CANCEL_REQUESTED: &str = "order_cancel_requested";
pub const ORDER_STATUS: &str = "order_status";

/// Headers of a dead letter: why it could not be processed and where it was read from, so it
/// can be inspected and replayed. The original headers are kept alongside.
pub const DEAD_LETTER_REASON: &str = "dead-letter-reason";
/// Human-readable detail of [`DEAD_LETTER_REASON`] (e.g. the decoder's message).
pub const DEAD_LETTER_DETAIL: &str = "dead-letter-detail";
pub const ORIGINAL_TOPIC: &str = "original-topic";
pub const ORIGINAL_PARTITION: &str = "original-partition";
pub const ORIGINAL_OFFSET: &str = "original-offset";
/// `true` on a dead letter whose payload, key and original headers were left out because the
/// dead-letter topic refused the whole letter as too large; the detail says where the original is.
pub const DEAD_LETTER_PAYLOAD_OMITTED: &str = "dead-letter-payload-omitted";
