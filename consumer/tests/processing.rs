//! `coffee-consumer` as a real process against the test bed's Kafka: per-order ordering under
//! parallelism, cancel before brewing, dead letters, at-least-once through SIGKILL and
//! rebalances without completing an order twice, a broker outage survived by the same process, live worker resizing, and commits that never
//! run ahead of finished work; status events that continue each order's trace.

#[path = "processing/support.rs"]
mod support;

#[path = "processing/commits.rs"]
mod commits;
#[path = "processing/dead_letters.rs"]
mod dead_letters;
#[path = "processing/failover.rs"]
mod failover;
#[path = "processing/ordering.rs"]
mod ordering;
#[path = "processing/outage.rs"]
mod outage;
#[path = "processing/resize.rs"]
mod resize;
#[path = "processing/secured.rs"]
mod secured;
#[path = "processing/tracing.rs"]
mod tracing;
