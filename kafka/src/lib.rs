//! Kafka plumbing the coffee-pipeline services share, so each piece has one owner:
//! [`security`] — how every client reaches a secured cluster (flags, env, librdkafka
//! settings); [`prefetch`] — how far every reader reads ahead; [`context`] — the client
//! context of readers that wait for the end of a partition; [`names`] — a pipeline's topics
//! and consumer group; [`headers`] — the headers every event carries; [`compression`] — the codecs the CRD offers and the producer takes; [`partition`] — which
//! partition a key belongs to.

pub mod compression;
pub mod context;
pub mod headers;
pub mod names;
pub mod partition;
pub mod passing;
pub mod prefetch;
pub mod security;
