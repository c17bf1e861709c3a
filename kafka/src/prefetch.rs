//! How far a reader reads ahead. librdkafka prefetches up to 64 MiB per consumer by default and
//! fetches up to 50 MiB a response; every reader here wants a steady trickle instead, so one
//! set of bounds serves them all, differing only in how much each may hold queued.
//!
//! What the bounds bought, measured (docs/benchmarks.md): the consumer held whole topics
//! (~180 MiB for 500,000 orders) with the defaults; the producer's view caught up with
//! 500,000 orders in 9–11 s and 35 MiB instead of 29 s and 46 MiB.

use rdkafka::ClientConfig;

/// What a reader feeds, and so how much it may hold queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appetite {
    /// The consumer's group reader and its recovery reader: brewing workers.
    Workers,
    /// The producer's view of the order and status topics.
    View,
}

impl Appetite {
    fn queued_kib(self) -> u32 {
        match self {
            Appetite::Workers => 4096,
            Appetite::View => 2048,
        }
    }
}

/// Bounds what `client` prefetches. Events compress ~7:1, so a fetch is sized by what it holds
/// once decompressed: at most 1 MiB (64 KiB per partition), about 20,000 events. Fetching
/// pauses at 20,000 queued events or the appetite's bytes, and resumes 10 ms later instead
/// of librdkafka's 1 s, which with small fetches left the workers idle.
pub fn bounded(client: &mut ClientConfig, appetite: Appetite) -> &mut ClientConfig {
    client
        .set("fetch.max.bytes", "1048576")
        .set("max.partition.fetch.bytes", "65536")
        .set("queued.min.messages", "20000")
        .set(
            "queued.max.messages.kbytes",
            appetite.queued_kib().to_string(),
        )
        .set("fetch.queue.backoff.ms", "10")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reader_fetches_small_and_resumes_soon() {
        for appetite in [Appetite::Workers, Appetite::View] {
            let mut client = ClientConfig::new();
            bounded(&mut client, appetite);
            assert_eq!(client.get("fetch.max.bytes"), Some("1048576"));
            assert_eq!(client.get("fetch.queue.backoff.ms"), Some("10"));
        }
    }

    #[test]
    fn workers_may_hold_more_than_the_view() {
        let queued = |appetite| {
            let mut client = ClientConfig::new();
            bounded(&mut client, appetite);
            client
                .get("queued.max.messages.kbytes")
                .and_then(|k| k.parse::<u32>().ok())
        };
        assert!(queued(Appetite::Workers) > queued(Appetite::View));
    }
}
