//! Probes and metrics over HTTP.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::fetch::context::FetchContext;
use crate::pool::PoolStats;
use crate::state::Shared;

/// What the endpoints read.
pub struct Probes {
    pub shared: Arc<Shared>,
    pub fetch: Arc<FetchContext>,
    pub pool: Arc<PoolStats>,
    pub target: tokio::sync::watch::Receiver<u32>,
}

pub fn router(probes: Arc<Probes>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/health", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/workers", get(workers))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": {"code": "not_found", "message": "no such endpoint"}})),
            )
        })
        .with_state(probes)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// Ready once the group was joined, while a broker answers, and until shutdown begins.
async fn readyz(State(probes): State<Arc<Probes>>) -> Response {
    let fetch = &probes.fetch;
    let reason = if fetch.closing.load(Ordering::Relaxed) {
        Some("shutting down")
    } else if fetch.brokers_down.load(Ordering::Relaxed) {
        Some("no Kafka broker answers")
    } else if !fetch.joined.load(Ordering::Relaxed) {
        Some("not yet a member of the consumer group")
    } else {
        None
    };
    match reason {
        None => axum::Json(json!({"status": "ready"})).into_response(),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "not_ready", "reason": reason})),
        )
            .into_response(),
    }
}

async fn metrics(State(probes): State<Arc<Probes>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        probes.shared.metrics.render(),
    )
}

/// The pool's target and live size, for people and tests watching a resize.
async fn workers(State(probes): State<Arc<Probes>>) -> impl IntoResponse {
    axum::Json(json!({
        "target": *probes.target.borrow(),
        "live": probes.pool.live.load(Ordering::Relaxed),
    }))
}
