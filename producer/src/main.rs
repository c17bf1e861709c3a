//! `coffee-producer`: HTTP order intake that publishes every coffee order durably to Kafka.

mod api;
mod app;
mod config;
mod follower;
mod metrics;
mod order_request;
mod publish;
mod view;

use std::process::ExitCode;

use clap::Parser;

use config::Config;

/// Every request allocates many small, short-lived buffers on several threads (HTTP, JSON,
/// librdkafka); glibc's allocator spent a tenth of the CPU on them under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    if let Err(error) = config.validate() {
        eprintln!("coffee-producer: invalid configuration: {error}");
        return ExitCode::from(2);
    }
    let _telemetry = match coffee_telemetry::init(
        "coffee-producer",
        config.log_format,
        config.otlp_traces_endpoint.as_deref(),
    ) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("coffee-producer: {error}");
            return ExitCode::from(2);
        }
    };
    match app::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("coffee-producer: {error:#}");
            ExitCode::FAILURE
        }
    }
}
