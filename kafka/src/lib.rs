//! Kafka plumbing the coffee-pipeline services share, so each piece has one owner:
//! [`security`] — how every client reaches a secured cluster (flags, env, librdkafka
//! settings); [`prefetch`] — how far every reader reads ahead; [`context`] — the client
//! context of readers that wait for the end of a partition.

pub mod context;
pub mod prefetch;
pub mod security;
