//! `coffee-http-ceiling`: the machine's HTTP ceiling for the intake benchmark. It parses the same
//! order JSON as `coffee-producer` and answers a fixed body, without Kafka or anything else.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use clap::Parser;
use serde::Deserialize;

/// A trivial order endpoint, for measuring HTTP overhead alone.
#[derive(Debug, Parser)]
#[command(name = "coffee-http-ceiling", version, about)]
struct Args {
    /// Port to listen on, on 127.0.0.1.
    #[arg(long, env = "SERVER_PORT", default_value_t = 8080)]
    port: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderRequest {
    customer_name: String,
    coffee_type: String,
}

async fn order(Json(request): Json<OrderRequest>) -> (StatusCode, &'static str) {
    let valid = !request.customer_name.is_empty() && !request.coffee_type.is_empty();
    if valid {
        (StatusCode::ACCEPTED, r#"{"status":"pending"}"#)
    } else {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"error":{"code":"empty"}}"#,
        )
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Args { port } = Args::parse();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))?;
    axum::serve(listener, Router::new().route("/order", post(order)))
        .await
        .context("serving HTTP")
}
