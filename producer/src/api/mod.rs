//! The HTTP API: routes, shared state, request metrics, and JSON answers for everything that is
//! not a route (404, 405, panics).

pub mod error;
mod idempotency;
mod list_query;
mod orders;
mod probes;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::{BoxError, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::debug;

use crate::metrics::Metrics;
use crate::publish::Publisher;
use crate::view::OrderView;
use error::ApiError;

/// What every handler can reach.
#[derive(Debug)]
pub struct AppState {
    pub publisher: Arc<Publisher>,
    pub view: Arc<RwLock<OrderView>>,
    pub metrics: Metrics,
    /// One flag per view follower (orders, statuses); ready once all are caught up.
    pub caught_up: Vec<Arc<AtomicBool>>,
    /// Set at shutdown, so readiness turns false before the listener closes.
    pub shutting_down: AtomicBool,
    /// Idempotency keys of requests being published right now on this replica.
    pub keys_in_flight: Mutex<HashSet<String>>,
    /// Brings the view up to now before a keyed request may conclude its key is new.
    pub catch_up: crate::catch_up::CatchUp,
    pub idempotency_retention: Duration,
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive.
    pub body_read_timeout: Duration,
    /// The token `GET /orders` requires; listing is off without one.
    pub list_token: Option<crate::list_token::ListToken>,
}

impl AppState {
    /// The order view for reading. A panic elsewhere while holding the lock leaves the view as
    /// consistent as any single event application, so a poisoned lock is still used.
    pub fn view(&self) -> RwLockReadGuard<'_, OrderView> {
        self.view.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The order view for applying an event.
    pub fn view_mut(&self) -> RwLockWriteGuard<'_, OrderView> {
        self.view.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Why this replica should not get traffic, if it should not.
    pub fn not_ready_reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.shutting_down.load(Ordering::Relaxed) {
            reasons.push("shutting down".to_owned());
        }
        if let Some(reason) = self.publisher.unavailable_reason() {
            reasons.push(format!("Kafka: {reason}"));
        }
        if !self
            .caught_up
            .iter()
            .all(|flag| flag.load(Ordering::Relaxed))
        {
            reasons.push("the order view has not caught up with Kafka yet".to_owned());
        }
        reasons
    }
}

/// The whole API with its middleware. At most `max_concurrent` order requests are served at
/// once; more are answered `503 overloaded` at once (with `Retry-After`) rather than queued, so a
/// flood cannot grow memory or latency without bound. Probes and metrics stay outside the limit,
/// so that an overloaded replica is still seen alive.
pub fn router(state: Arc<AppState>, max_concurrent: usize) -> Router {
    let shed = state.metrics.http_requests_shed.clone();
    let orders = Router::new()
        .route("/order", post(orders::create))
        .route("/order/{id}", get(orders::get))
        .route("/order/{id}/cancel", post(orders::cancel))
        .route("/orders", get(orders::list))
        .route("/menu", get(probes::menu))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |_: BoxError| {
                    shed.inc();
                    async {
                        ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "overloaded",
                            "too many requests at once; nothing was published",
                        )
                        .retry_after(1)
                    }
                }))
                .load_shed()
                .concurrency_limit(max_concurrent),
        );
    Router::new()
        .merge(orders)
        .route("/healthz", get(probes::healthz))
        .route("/health", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not support that method",
            )
        })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), track))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed to answer; nothing was published",
            )
            .into_response()
        }))
        .with_state(state)
}

/// The `method` label: the methods HTTP defines, everything else `other`. Taken raw, five
/// requests with invented methods added 95 series to `/metrics`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Latency by route template (never a raw id), method and status, plus a debug line per request.
async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    // MatchedPath is a shared string: cloning it does not copy the route per request.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let path = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = method_label(request.method());
    let started = Instant::now();
    state.metrics.http_requests_in_flight.inc();
    let response = next.run(request).await;
    state.metrics.http_requests_in_flight.dec();
    let elapsed = started.elapsed();
    let status = response.status();
    state
        .metrics
        .http_request_duration
        .with_label_values(&[path, method, status.as_str()])
        .observe(elapsed.as_secs_f64());
    debug!(
        method,
        path,
        status = status.as_u16(),
        elapsed_us = elapsed.as_micros(),
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invented_method_is_labelled_other() {
        let invented = Method::from_bytes(b"ZZZ1").unwrap();
        assert_eq!(method_label(&invented), "other");
        assert_eq!(method_label(&Method::POST), "POST");
    }
}
