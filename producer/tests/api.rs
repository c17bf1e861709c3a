//! `coffee-producer` as a real process against the test bed's Kafka: every route and error
//! class, idempotency, ordering of one order's events, exactly-once acknowledged orders,
//! broker outages, shutdown, the producer pool, and two replicas answering alike.

#[path = "api/support.rs"]
mod support;

#[path = "api/delivery.rs"]
mod delivery;
#[path = "api/errors.rs"]
mod errors;
#[path = "api/hardening.rs"]
mod hardening;
#[path = "api/outage.rs"]
mod outage;
#[path = "api/pool.rs"]
mod pool;
#[path = "api/replicas.rs"]
mod replicas;
#[path = "api/routes.rs"]
mod routes;
#[path = "api/secured.rs"]
mod secured;
#[path = "api/trust_store.rs"]
mod trust_store;
