//! `coffee-producer`: HTTP order intake that publishes every coffee order durably to Kafka.
//!
//! Only the command-line surface exists so far; the order API arrives with issue #4.

use std::process::ExitCode;

use clap::Parser;

/// HTTP order intake that publishes every coffee order durably to Kafka.
#[derive(Debug, Parser)]
#[command(name = "coffee-producer", version, about)]
struct Args {}

fn main() -> ExitCode {
    let Args {} = Args::parse();
    eprintln!("coffee-producer: not implemented yet (the order API arrives with issue #4)");
    ExitCode::from(2)
}
