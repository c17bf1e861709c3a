//! The committed offsets of consumer groups, read with Kafka's OffsetFetch request — what the
//! Java admin client's `listConsumerGroupOffsets` does and rust-rdkafka does not offer. It
//! needs only `Describe` on each group and its topic, where following `__consumer_offsets`
//! needs `Read` on every group's commits on the cluster.
//!
//! [`GroupOffsets`] is one cluster's reader ([`reader`]): callers asking at once share one
//! FindCoordinator and one OffsetFetch per coordinator ([`links`]), built and read in
//! [`answers`] (pure).
//! [`connection`] frames requests over TCP or TLS ([`tls`]) after SASL ([`sasl`], [`scram`]).

mod answers;
mod connection;
mod error;
mod links;
mod reader;
mod sasl;
mod scram;
mod tls;

pub use error::FetchError;
pub use reader::GroupOffsets;
