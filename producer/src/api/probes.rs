//! Probes, metrics and the menu.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use coffee_events::menu::MENU;
use serde_json::json;

use super::AppState;

/// Alive: the process answers. Says nothing about Kafka, so a broker outage never restarts it.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready: Kafka answers and the order view has caught up.
pub async fn readyz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let reasons = state.not_ready_reasons();
    if reasons.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "reasons": reasons })),
        )
    }
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

pub async fn menu() -> impl IntoResponse {
    Json(json!({ "items": MENU }))
}
