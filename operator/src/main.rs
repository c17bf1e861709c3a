//! `coffee-operator`: Kubernetes operator that reconciles CoffeeOrderPipeline objects and scales consumers from lag.
//!
//! Only the command-line surface exists so far; reconciliation arrives with issue #6.

use std::process::ExitCode;

use clap::Parser;

/// Kubernetes operator that reconciles CoffeeOrderPipeline objects and scales consumers from lag.
#[derive(Debug, Parser)]
#[command(name = "coffee-operator", version, about)]
struct Args {}

fn main() -> ExitCode {
    let Args {} = Args::parse();
    eprintln!("coffee-operator: not implemented yet (reconciliation arrives with issue #6)");
    ExitCode::from(2)
}
