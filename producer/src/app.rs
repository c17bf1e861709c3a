//! Wiring: the publisher, the view followers and the HTTP server, and an orderly shutdown that
//! answers every accepted request and flushes every delivery before the process exits.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::api::{self, AppState};
use crate::catch_up::CatchUp;
use crate::config::Config;
use crate::follower::{Follower, TopicKind};
use crate::metrics::Metrics;
use crate::publish::Publisher;
use crate::view::OrderView;

/// Serves until SIGTERM or SIGINT, then drains and flushes.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let metrics = Metrics::new().context("registering metrics")?;
    let publisher =
        Arc::new(Publisher::new(&config, metrics.clone()).context("creating the Kafka producer")?);
    let view = Arc::new(RwLock::new(OrderView::new(
        usize::try_from(config.view_max_orders).unwrap_or(usize::MAX),
    )));
    let (stop, stopped) = watch::channel(false);

    let mut background = Vec::new();
    background.push(tokio::spawn(
        Arc::clone(&publisher).watch_cluster(stopped.clone()),
    ));
    let mut caught_up = Vec::new();
    let catch_up = CatchUp::start(&config.kafka_client(), &config.kafka_topic)
        .context("creating the reader of the order topic's end offsets")?;
    for (kind, topic) in [
        (TopicKind::Orders, &config.kafka_topic),
        (TopicKind::Statuses, &config.status_topic),
    ] {
        let flag = Arc::new(AtomicBool::new(false));
        caught_up.push(Arc::clone(&flag));
        let follower = Follower {
            kind,
            topic: topic.clone(),
            kafka: config.kafka_client(),
            view: Arc::clone(&view),
            metrics: metrics.clone(),
            caught_up: flag,
            fetch_wait_ms: config.view_fetch_wait_ms,
            read: (kind == TopicKind::Orders).then(|| catch_up.follower_reports()),
        };
        background.push(tokio::spawn(follower.run(stopped.clone())));
    }

    let state = Arc::new(AppState {
        publisher: Arc::clone(&publisher),
        view,
        metrics,
        caught_up,
        shutting_down: AtomicBool::new(false),
        keys_in_flight: Mutex::new(HashSet::new()),
        catch_up,
        idempotency_retention: Duration::from_secs(config.idempotency_retention_secs),
        max_body_bytes: usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX),
        body_read_timeout: Duration::from_secs(config.body_read_timeout_secs),
        list_token: config.orders_list_token.clone(),
    });
    let address = SocketAddr::new(config.bind_address, config.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    info!(%address, topic = %config.kafka_topic, mode = ?config.publish_mode, "coffee-producer serving");

    let shutdown_state = Arc::clone(&state);
    let max_concurrent = usize::try_from(config.max_concurrent_requests).unwrap_or(usize::MAX);
    crate::serve::serve(
        listener,
        api::router(Arc::clone(&state), max_concurrent),
        Duration::from_secs(config.header_read_timeout_secs),
        async move {
            coffee_telemetry::shutdown_signal().await;
            info!("shutting down: no new connections; answering requests in flight");
            shutdown_state.shutting_down.store(true, Ordering::Relaxed);
        },
        Duration::from_secs(config.shutdown_timeout_secs),
    )
    .await;

    let timeout = Duration::from_secs(config.shutdown_timeout_secs);
    let flushing = Arc::clone(&publisher);
    match tokio::task::spawn_blocking(move || flushing.flush(timeout)).await {
        Ok(Ok(())) => info!("every delivery flushed"),
        Ok(Err(error)) => warn!(%error, "flushing deliveries did not finish"),
        Err(error) => warn!(%error, "flushing deliveries failed"),
    }
    let _ = stop.send(true);
    for task in background {
        let _ = task.await;
    }
    Ok(())
}
