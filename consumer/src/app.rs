//! Wiring: shared state, the outbox, the worker pool, the control-topic follower, the fetch
//! thread and the HTTP probes; and an orderly shutdown on SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::control;
use crate::fetch::{self, context::FetchContext};
use crate::http::{self, Probes};
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::pool::{self, PoolStats};
use crate::state::{Shared, State};
use crate::work::Context;

/// Processes orders until SIGTERM or SIGINT, then finishes or hands back what is in flight.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let metrics = Metrics::new().context("registering metrics")?;
    let finished_capacity = usize::try_from(config.finished_memory).unwrap_or(usize::MAX);
    let (shared, reports) = Shared::new(State::new(finished_capacity), metrics);
    let shared = Arc::new(shared);
    let (retries, failed) = mpsc::unbounded_channel();
    let outbox = Outbox::new(
        &config.kafka_client(),
        config.status_topic.clone(),
        config.dead_letter_topic(),
        Arc::clone(&shared),
        retries,
        Duration::from_millis(config.kafka_delivery_timeout_ms.into()),
    )
    .context("creating the Kafka producer for status events")?;
    let work = Arc::new(Context {
        shared: Arc::clone(&shared),
        outbox,
        order_topic: config.kafka_topic.clone(),
        brew_unit: config.brew_unit(),
    });

    let (target, target_rx) = watch::channel(config.workers);
    let stats = Arc::new(PoolStats::default());
    let pool = tokio::spawn(pool::supervise(
        Arc::clone(&work),
        Arc::clone(&stats),
        target_rx.clone(),
    ));
    let background = [
        tokio::spawn(pool::retry(
            Arc::clone(&work),
            Duration::from_millis(config.retry_backoff_ms),
            failed,
        )),
        tokio::spawn(pool::sample_utilisation(
            Arc::clone(&work),
            Arc::clone(&stats),
            Duration::from_secs(5),
        )),
        tokio::spawn(
            control::Follower {
                kafka: config.kafka_client(),
                topic: config.control_topic(),
                group: config.group_id(),
                max_workers: config.max_workers,
                target: target.clone(),
            }
            .run(),
        ),
    ];

    let fetch_context = Arc::new(FetchContext::new(
        Arc::clone(&shared),
        reports,
        config.kafka_client(),
        config.kafka_topic.clone(),
        config.status_topic.clone(),
    ));
    let consumer = fetch::consumer(&config, Arc::clone(&fetch_context)).with_context(|| {
        format!(
            "joining consumer group {:?} on {:?}",
            config.group_id(),
            config.kafka_topic
        )
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let settings = fetch::Settings {
        batch_max_messages: usize::try_from(config.batch_max_messages).unwrap_or(usize::MAX),
        batch_max_wait: Duration::from_millis(config.batch_max_wait_ms),
        max_in_flight: usize::try_from(config.max_in_flight).unwrap_or(usize::MAX),
        commit_interval: Duration::from_millis(config.commit_interval_ms),
        shutdown_timeout: Duration::from_secs(config.shutdown_timeout_secs),
    };
    let fetcher = {
        let (work, stop, runtime) = (
            Arc::clone(&work),
            Arc::clone(&stop),
            tokio::runtime::Handle::current(),
        );
        std::thread::Builder::new()
            .name("fetch".into())
            .spawn(move || fetch::run(consumer, work, settings, runtime, stop))
            .context("starting the fetch thread")?
    };

    let address = SocketAddr::new(config.bind_address, config.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    let probes = Arc::new(Probes {
        shared,
        fetch: Arc::clone(&fetch_context),
        pool: stats,
        target: target_rx,
    });
    info!(%address, topic = %config.kafka_topic, group = %config.group_id(), workers = config.workers, "coffee-consumer running");
    let (wedged, wedged_rx) = watch::channel(None);
    let mut wedged_signal = wedged_rx.clone();
    let watchdog = tokio::spawn(watch_liveness(
        Arc::clone(&work.shared),
        Duration::from_secs(config.wedged_after_secs),
        wedged,
    ));
    let server = tokio::spawn(async move {
        axum::serve(listener, http::router(probes))
            .with_graceful_shutdown(async move {
                tokio::select! {
                    () = coffee_telemetry::shutdown_signal() => {}
                    _ = wedged_signal.wait_for(Option::is_some) => {}
                }
            })
            .await
    });
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => warn!(%error, "the HTTP server stopped"),
        Err(error) => warn!(%error, "the HTTP server task failed"),
    }

    fetch_context.closing.store(true, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    match tokio::task::spawn_blocking(move || fetcher.join()).await {
        Ok(Ok(())) => {}
        _ => warn!("the fetch thread ended abnormally"),
    }
    target.send_replace(0);
    let _ = pool.await;
    for task in background {
        task.abort();
    }
    watchdog.abort();
    if let Some(reason) = wedged_rx.borrow().clone() {
        anyhow::bail!("stopped to be restarted: {reason}");
    }
    info!("stopped");
    Ok(())
}

/// Checks every few seconds whether the Kafka clients are wedged (see [`crate::liveness`]); if
/// they are, says why once, which begins an orderly shutdown and a non-zero exit, after which
/// the pod's container is restarted.
async fn watch_liveness(
    shared: Arc<Shared>,
    after: Duration,
    wedged: watch::Sender<Option<String>>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let reason = shared.liveness().wedged(std::time::Instant::now(), after);
        if let Some(reason) = reason {
            error!(%reason, "the Kafka clients are wedged; restarting");
            wedged.send_replace(Some(reason));
            return;
        }
    }
}
