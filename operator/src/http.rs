//! Probes and metrics.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::metrics::Metrics;

pub struct Probes {
    pub metrics: Metrics,
    /// Which of the controller's watches have listed their objects once.
    pub listed: Arc<Listed>,
    /// This process holds the leader lease and reconciles.
    pub leading: AtomicBool,
}

/// The watches a leader needs to have listed once before it acts on a complete picture.
#[derive(Debug)]
pub struct Listed {
    waiting: Mutex<BTreeSet<String>>,
}

impl Listed {
    /// Waiting for every watch in `watches`.
    pub fn new<S: Into<String>>(watches: impl IntoIterator<Item = S>) -> Self {
        Self {
            waiting: Mutex::new(watches.into_iter().map(Into::into).collect()),
        }
    }

    /// The watch `name` has listed (its first `InitDone`).
    pub fn mark(&self, name: &str) {
        self.lock().remove(name);
    }

    /// The watches that have not listed yet.
    pub fn waiting(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What `/readyz` says.
#[derive(Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Not leading: ready, so that a rollout does not wait for a lease only one replica can hold.
    Standby,
    /// Leading, with some watches not listed yet.
    Listing(Vec<String>),
    /// Leading, every watch listed.
    Ready,
}

impl Readiness {
    pub fn judge(leading: bool, waiting: Vec<String>) -> Self {
        match (leading, waiting.is_empty()) {
            (false, _) => Self::Standby,
            (true, true) => Self::Ready,
            (true, false) => Self::Listing(waiting),
        }
    }
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

/// A leader is ready once every watch has listed; a standby is ready at once. The body says
/// which it is, and what a leader still waits for.
async fn readyz(State(probes): State<Arc<Probes>>) -> impl IntoResponse {
    let leading = probes.leading.load(Ordering::Relaxed);
    match Readiness::judge(leading, probes.listed.waiting()) {
        Readiness::Standby => (
            StatusCode::OK,
            axum::Json(json!({"status": "ready", "leading": false})),
        ),
        Readiness::Ready => (
            StatusCode::OK,
            axum::Json(json!({"status": "ready", "leading": true})),
        ),
        Readiness::Listing(waiting) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "listing", "leading": true, "waiting_for": waiting})),
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standby_is_ready_whatever_it_has_listed() {
        let waiting = vec!["pipelines".to_owned()];
        assert_eq!(Readiness::judge(false, waiting), Readiness::Standby);
    }

    #[test]
    fn a_leader_is_not_ready_until_every_watch_has_listed() {
        let listed = Listed::new(["deployments", "pipelines"]);
        listed.mark("pipelines");
        assert_eq!(
            Readiness::judge(true, listed.waiting()),
            Readiness::Listing(vec!["deployments".to_owned()])
        );
        listed.mark("deployments");
        assert_eq!(Readiness::judge(true, listed.waiting()), Readiness::Ready);
    }

    #[tokio::test]
    async fn readyz_answers_503_naming_the_watches_a_leader_waits_for() {
        let probes = Arc::new(Probes {
            metrics: Metrics::new().unwrap(),
            listed: Arc::new(Listed::new(["pipelines"])),
            leading: AtomicBool::new(true),
        });
        let response = readyz(State(Arc::clone(&probes))).await.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["waiting_for"], json!(["pipelines"]));
        probes.listed.mark("pipelines");
        let response = readyz(State(probes)).await.into_response();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
