//! `coffee-producer`: HTTP order intake that publishes every coffee order durably to Kafka.

mod api;
mod app;
mod catch_up;
mod config;
mod follower;
mod list_token;
mod metrics;
mod order_request;
mod publish;
mod serve;
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
    let otlp = config.otlp_traces_endpoint.clone();
    coffee_telemetry::run_service(
        "coffee-producer",
        config.log_format,
        otlp.as_deref(),
        app::run(config),
    )
    .await
}
