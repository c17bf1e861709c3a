//! `coffee-consumer`: Processes coffee orders from Kafka with a resizable, per-order-ordered worker pool.
//!
//! Only the command-line surface exists so far; order processing arrives with issue #5.

use std::process::ExitCode;

use clap::Parser;

/// Processes coffee orders from Kafka with a resizable, per-order-ordered worker pool.
#[derive(Debug, Parser)]
#[command(name = "coffee-consumer", version, about)]
struct Args {}

fn main() -> ExitCode {
    let Args {} = Args::parse();
    eprintln!("coffee-consumer: not implemented yet (order processing arrives with issue #5)");
    ExitCode::from(2)
}
