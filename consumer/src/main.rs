//! `coffee-consumer`: processes coffee orders from Kafka with a resizable worker pool, parallel
//! across orders and in order per order, at least once, with dead letters.

mod app;
mod assignment;
mod config;
mod control;
mod fetch;
mod finished;
mod http;
mod incoming;
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

/// Many small short-lived allocations on several threads (decoding, librdkafka, tasks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    if let Err(error) = config.validate() {
        eprintln!("coffee-consumer: invalid configuration: {error}");
        return ExitCode::from(2);
    }
    let _telemetry = match coffee_telemetry::init(
        "coffee-consumer",
        config.log_format,
        config.otlp_traces_endpoint.as_deref(),
    ) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("coffee-consumer: {error}");
            return ExitCode::from(2);
        }
    };
    match app::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("coffee-consumer: {error:#}");
            ExitCode::FAILURE
        }
    }
}
