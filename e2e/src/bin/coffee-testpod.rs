//! `coffee-testpod`: a tiny HTTP service that the runtime tests run as a Deployment.
//!
//! It listens on `PORT`, answers the probes, shows its environment (so a test can see that a
//! ConfigMap value arrived) and exports a metric (so a test can find it through Prometheus).

use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Router, extract::State};
use clap::Parser;
use prometheus::{Encoder, IntCounter, Registry, TextEncoder};

/// A stand-in workload for the local pod runtime's tests.
#[derive(Debug, Parser)]
#[command(name = "coffee-testpod", version, about)]
struct Args {
    /// Port to listen on, on 127.0.0.1.
    #[arg(long, env = "PORT")]
    port: u16,
}

#[derive(Clone)]
struct Metrics {
    registry: Registry,
    requests: IntCounter,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let Args { port } = Args::parse();
    let registry = Registry::new();
    let requests = IntCounter::new(
        "testpod_requests_total",
        "HTTP requests served by this test pod",
    )?;
    registry.register(Box::new(requests.clone()))?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route("/env/{name}", get(env_var))
        .route("/metrics", get(metrics))
        .with_state(Metrics { registry, requests });
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))?;
    eprintln!("coffee-testpod listening on {address}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("installing a SIGTERM handler");
            term.recv().await;
            eprintln!("coffee-testpod: SIGTERM, shutting down");
        })
        .await
        .context("serving HTTP")
}

async fn env_var(
    State(metrics): State<Metrics>,
    Path(name): Path<String>,
) -> Result<String, StatusCode> {
    metrics.requests.inc();
    std::env::var(&name).map_err(|_| StatusCode::NOT_FOUND)
}

async fn metrics(State(metrics): State<Metrics>) -> Result<String, StatusCode> {
    metrics.requests.inc();
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&metrics.registry.gather(), &mut buffer)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    String::from_utf8(buffer).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}
