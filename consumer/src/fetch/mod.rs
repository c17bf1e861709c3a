//! The fetch thread: reads the order topic as a member of the consumer group, hands orders to
//! the scheduler in batches, dead-letters what it cannot read, commits finished offsets, and
//! pauses fetching while the in-flight budget is full. It owns the group consumer, so the
//! rebalance callbacks (see [`context`]) run here too and may block it briefly.

pub mod context;
mod progress;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers};
use tokio::runtime::Handle;
use tracing::{info, warn};

use crate::config::Config;
use crate::incoming::{Incoming, classify};
use crate::outbox::DeadLetter;
use crate::schedule::CancelOutcome;
use crate::state::{Job, Source};
use crate::work::Context;
use coffee_kafka::prefetch::{self, Appetite};
use context::{Callbacks, FetchContext};

/// How the fetch loop batches, bounds and commits.
#[derive(Debug, Clone)]
pub struct Settings {
    pub batch_max_messages: usize,
    pub batch_max_wait: Duration,
    pub max_in_flight: usize,
    pub commit_interval: Duration,
    pub shutdown_timeout: Duration,
}

/// The group consumer for `topic`: cooperative-sticky, offsets committed only by us.
pub fn consumer(
    config: &Config,
    context: Arc<FetchContext>,
) -> Result<BaseConsumer<Callbacks>, KafkaError> {
    let mut client = config.kafka_client();
    client
        .set("group.id", config.group_id())
        .set("session.timeout.ms", config.session_timeout_ms.to_string())
        .set("client.id", "coffee-consumer")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .set("statistics.interval.ms", "5000");
    let consumer: BaseConsumer<Callbacks> = prefetch::bounded(&mut client, Appetite::Workers)
        .create_with_context(Callbacks(context))?;
    consumer.subscribe(&[&config.kafka_topic])?;
    Ok(consumer)
}

/// A message of the current batch, decoded.
struct Fetched {
    partition: i32,
    offset: i64,
    incoming: Incoming,
    trace: Vec<(String, String)>,
    /// The raw message, kept only for dead letters.
    raw: Option<Raw>,
}

struct Raw {
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
}

fn fetched(message: &BorrowedMessage<'_>) -> Fetched {
    let incoming = classify(message.payload());
    let mut trace = Vec::new();
    let mut all_headers = Vec::new();
    let unreadable = matches!(incoming, Incoming::Unreadable { .. });
    if let Some(headers) = message.headers() {
        for header in headers.iter() {
            let value = header.value.unwrap_or_default();
            if unreadable {
                all_headers.push((header.key.to_owned(), value.to_vec()));
            } else if header.key == coffee_events::headers::TRACEPARENT
                || header.key == coffee_events::headers::TRACESTATE
            {
                trace.push((
                    header.key.to_owned(),
                    String::from_utf8_lossy(value).into_owned(),
                ));
            }
        }
    }
    Fetched {
        partition: message.partition(),
        offset: message.offset(),
        raw: unreadable.then(|| Raw {
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers: all_headers,
        }),
        incoming,
        trace,
    }
}

/// Runs until `stop` is set, then stops fetching, lets in-flight work finish within the
/// shutdown timeout, commits, and leaves the group.
pub fn run(
    consumer: BaseConsumer<Callbacks>,
    work: Arc<Context>,
    settings: Settings,
    runtime: Handle,
    stop: Arc<AtomicBool>,
) {
    let mut paused = false;
    let mut last_commit = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let batch = collect(&consumer, &settings);
        if !batch.is_empty() {
            dispatch(batch, &consumer, &work, &runtime);
        }
        if last_commit.elapsed() >= settings.commit_interval {
            consumer.context().commit(&consumer, None);
            last_commit = Instant::now();
        }
        paused = apply_backpressure(&consumer, &work, &settings, paused);
    }
    shut_down(consumer, &work, &settings);
}

/// Up to `batch_max_messages` messages: the first waits up to 100 ms, the rest are taken while
/// they are ready and the batch is younger than `batch_max_wait`.
fn collect(consumer: &BaseConsumer<Callbacks>, settings: &Settings) -> Vec<Fetched> {
    let mut batch = Vec::new();
    let started = Instant::now();
    let mut wait = Duration::from_millis(100);
    while batch.len() < settings.batch_max_messages {
        match consumer.poll(wait) {
            None => break,
            Some(Ok(message)) => batch.push(fetched(&message)),
            Some(Err(error)) => warn!(%error, "fetching orders"),
        }
        if started.elapsed() >= settings.batch_max_wait {
            break;
        }
        wait = Duration::ZERO;
    }
    batch
}

fn dispatch(
    batch: Vec<Fetched>,
    consumer: &BaseConsumer<Callbacks>,
    work: &Context,
    runtime: &Handle,
) {
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let metrics = &work.shared.metrics;
    let mut submitted = 0usize;
    let mut unreadable = Vec::new();
    let mut done = Vec::new();
    let mut progress = consumer.context().progress();
    let taken: Vec<(Source, Fetched)> = batch
        .into_iter()
        .filter_map(|m| Some((progress.assignment.take(m.partition, m.offset, now_ms)?, m)))
        .collect();
    {
        let mut state = work.shared.lock();
        for (source, message) in taken {
            match message.incoming {
                Incoming::Order { id, order } => {
                    if state.finished.contains(&id) {
                        done.push(source);
                        metrics
                            .orders_processed
                            .with_label_values(&["duplicate"])
                            .inc();
                        continue;
                    }
                    state.scheduler.submit(Job {
                        source,
                        order_id: id,
                        order,
                        trace: message.trace,
                        cancelled: false,
                    });
                    submitted += 1;
                }
                Incoming::Cancel { id } => {
                    let outcome = match state.scheduler.cancel(id) {
                        CancelOutcome::BeforeBrewing => "before_brewing",
                        CancelOutcome::TooLate => "too_late",
                        CancelOutcome::NotPending => "not_pending",
                    };
                    done.push(source);
                    metrics.cancel_requests.with_label_values(&[outcome]).inc();
                }
                Incoming::Unreadable { reason, detail } => {
                    unreadable.push((source, reason, detail, message.raw));
                }
            }
        }
    }
    for source in done {
        progress.assignment.finish(source);
    }
    drop(progress);
    for _ in 0..submitted.min(1024) {
        work.shared.work.notify_one();
    }
    let topic = &consumer.context().topic;
    for (source, reason, detail, raw) in unreadable {
        let Some(raw) = raw else { continue };
        warn!(partition = source.partition, offset = source.offset, reason, %detail, "dead-lettering an unreadable message");
        let letter = DeadLetter {
            key: raw.key,
            payload: raw.payload,
            original_headers: raw.headers,
            reason,
            detail,
            topic: topic.clone(),
            source,
            failed_attempts: 0,
            payload_omitted: false,
        };
        if runtime.block_on(work.outbox.dead_letter(Box::new(letter))) {
            metrics.dead_letters.with_label_values(&[reason]).inc();
        }
    }
}

/// How long the fetch thread waits for room before pausing the partitions. Pausing makes
/// librdkafka discard what it prefetched, to fetch it again on resume, so it is kept for
/// workers that are slow for a while rather than for a moment.
const PAUSE_AFTER: Duration = Duration::from_millis(500);

/// While the budget is full, first waits for room without polling (librdkafka's own bounded
/// prefetch holds what arrives meanwhile); if that takes longer than [`PAUSE_AFTER`], pauses
/// every assigned partition, so that polling (and rebalance callbacks) can go on, until the
/// budget is half empty.
fn apply_backpressure(
    consumer: &BaseConsumer<Callbacks>,
    work: &Context,
    settings: &Settings,
    paused: bool,
) -> bool {
    let max = settings.max_in_flight;
    let mut progress = consumer.context().progress();
    progress.drain();
    let mut in_flight = progress.assignment.in_flight();
    let pause = if paused {
        in_flight > max / 2
    } else if in_flight >= max {
        in_flight = progress.wait_until_below(max - max / 4, PAUSE_AFTER);
        in_flight >= max - max / 4
    } else {
        false
    };
    drop(progress);
    let queued = work.shared.lock().scheduler.ready_len();
    let metrics = &work.shared.metrics;
    metrics
        .queued
        .set(i64::try_from(queued).unwrap_or(i64::MAX));
    metrics
        .in_flight
        .set(i64::try_from(in_flight).unwrap_or(i64::MAX));
    if pause != paused {
        let assignment = consumer.assignment().unwrap_or_default();
        let result = if pause {
            consumer.pause(&assignment)
        } else {
            consumer.resume(&assignment)
        };
        if let Err(error) = result {
            warn!(%error, pause, "changing the paused state of the partitions failed");
            return paused;
        }
        work.shared.metrics.paused.set(i64::from(pause));
    }
    pause
}

fn shut_down(consumer: BaseConsumer<Callbacks>, work: &Context, settings: &Settings) {
    info!("shutting down: no more fetching; letting work in flight finish");
    if let Ok(assignment) = consumer.assignment() {
        let _ = consumer.pause(&assignment);
    }
    let deadline = Instant::now() + settings.shutdown_timeout;
    let in_flight = |consumer: &BaseConsumer<Callbacks>| {
        let mut progress = consumer.context().progress();
        progress.drain();
        progress.assignment.in_flight()
    };
    while in_flight(&consumer) > 0 && Instant::now() < deadline {
        // Serves callbacks; paused partitions deliver no messages.
        let _ = consumer.poll(Duration::from_millis(20));
    }
    let left = in_flight(&consumer);
    if left > 0 {
        warn!(
            messages = left,
            "shutdown timeout reached; unfinished messages are left for the next owner"
        );
    }
    if let Err(error) = work.outbox.flush(Duration::from_secs(5)) {
        warn!(%error, "flushing status events did not finish");
    }
    consumer.context().commit(&consumer, None);
    consumer.context().closing.store(true, Ordering::Relaxed);
    info!("committed finished work; leaving the group");
    drop(consumer);
}
