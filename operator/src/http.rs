//! Probes and metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::metrics::Metrics;

pub struct Probes {
    pub metrics: Metrics,
    /// The controller's watches have listed their objects once.
    pub ready: AtomicBool,
    /// This process holds the leader lease and reconciles.
    pub leading: AtomicBool,
}

pub fn router(probes: Arc<Probes>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(probes)
}

/// Ready once started; a standby (not leading) replica is ready too, so that a rollout does not
/// wait for a lease only one replica can hold. The body says which it is.
async fn readyz(State(probes): State<Arc<Probes>>) -> impl IntoResponse {
    let leading = probes.leading.load(Ordering::Relaxed);
    if probes.ready.load(Ordering::Relaxed) {
        (
            StatusCode::OK,
            axum::Json(json!({"status": "ready", "leading": leading})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "starting", "leading": leading})),
        )
    }
}

async fn metrics(State(probes): State<Arc<Probes>>) -> impl IntoResponse {
    let leading = probes.leading.load(Ordering::Relaxed);
    probes.metrics.leader.set(i64::from(leading));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        probes.metrics.render(),
    )
}
