//! `coffee-operator`: reconciles `CoffeeOrderPipeline` objects into Kafka topics and the
//! producer and consumer workloads.

mod allowed_clusters;
mod app;
mod autoscale;
mod config;
mod crd;
mod events;
mod http;
mod kafka;
mod metrics;
mod owner_record;
mod reconcile;
mod watches;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Kubernetes operator that reconciles CoffeeOrderPipeline objects and scales consumers from lag.
#[derive(Debug, Parser)]
#[command(
    name = "coffee-operator",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: config::RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the CustomResourceDefinition as YAML (what `crds/` holds).
    Crd,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Crd) = args.command {
        return match crd::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("coffee-operator: rendering the CRD: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let otlp = args.run.otlp_traces_endpoint.clone();
    coffee_telemetry::run_service(
        "coffee-operator",
        args.run.log_format,
        otlp.as_deref(),
        app::run(args.run),
    )
    .await
}
