//! How much a consumer of the order or status topic reads ahead: shared by the group consumer
//! (`fetch`) and the recovery reader of the status topic (`recovery`), which would otherwise
//! depend on each other.

use rdkafka::ClientConfig;

/// Bounds what a consumer of orders or statuses prefetches. Events compress ~7:1, so a fetch is
/// sized by what it holds once decompressed: at most 1 MiB (64 KiB per partition), about 20,000
/// events. Larger fetches held whole topics in memory (~180 MiB for 500,000 orders). Fetching
/// pauses at 20,000 queued events or 4 MiB, and resumes 10 ms later instead of librdkafka's 1 s,
/// which with small fetches left the workers idle (docs/benchmarks.md).
pub fn bounded_prefetch(client: &mut ClientConfig) -> &mut ClientConfig {
    client
        .set("fetch.max.bytes", "1048576")
        .set("max.partition.fetch.bytes", "65536")
        .set("queued.min.messages", "20000")
        .set("queued.max.messages.kbytes", "4096")
        .set("fetch.queue.backoff.ms", "10")
}
