//! `coffee-consumer`: processes coffee orders from Kafka with a resizable worker pool, parallel
//! across orders and in order per order, at least once, with dead letters.

mod app;
mod assignment;
mod brew;
mod claim;
mod config;
mod control;
mod deliveries;
mod fetch;
mod finished;
mod http;
mod incoming;
mod liveness;
mod metrics;
mod offsets;
mod outbox;
mod plan;
mod pool;
mod recovery;
mod retry;
mod schedule;
mod state;
mod work;

use std::process::ExitCode;

use clap::Parser;

use config::Config;

/// Jobs are allocated on the fetch thread and freed on the workers, and librdkafka's threads
/// allocate beside them: with glibc's allocator the consumer spent 10–30 % more CPU per order at
/// brew scale 0, for ~5 MiB less peak memory (alternating runs, docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    if let Err(error) = config.validate() {
        eprintln!("coffee-consumer: invalid configuration: {error}");
        return ExitCode::from(2);
    }
    let otlp = config.otlp_traces_endpoint.clone();
    coffee_telemetry::run_service(
        "coffee-consumer",
        config.log_format,
        otlp.as_deref(),
        app::run(config),
    )
    .await
}
