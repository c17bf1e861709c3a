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
