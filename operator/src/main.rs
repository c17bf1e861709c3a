//! `coffee-operator`: reconciles `CoffeeOrderPipeline` objects into Kafka topics and the
//! producer and consumer workloads.

mod crd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Kubernetes operator that reconciles CoffeeOrderPipeline objects and scales consumers from lag.
#[derive(Debug, Parser)]
#[command(name = "coffee-operator", version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the CustomResourceDefinition as YAML (what `crds/` holds).
    Crd,
}

fn main() -> ExitCode {
    match Args::parse().command {
        Some(Command::Crd) => match crd::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("coffee-operator: rendering the CRD: {error}");
                ExitCode::FAILURE
            }
        },
        None => {
            eprintln!("coffee-operator: reconciliation is not implemented yet");
            ExitCode::from(2)
        }
    }
}
