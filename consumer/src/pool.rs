//! The worker pool: W async workers sharing the scheduler, resized live by changing a target.
//! A worker above the target finishes the order it is brewing, gives back the ones it took but
//! has not begun, and stops, so shrinking neither drops work nor waits for a worker's whole
//! batch; growing spawns workers at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tracing::info;

use crate::brew::BrewTimer;
use crate::outbox::Retry;
use crate::retry::backoff;
use crate::state::Job;
use crate::work::Context;

/// Counts shared by the workers for the workers gauge and the utilisation sampler.
#[derive(Debug, Default)]
pub struct PoolStats {
    pub live: AtomicUsize,
    busy_micros: AtomicU64,
}

/// Keeps as many workers running as `target` says until it drops to zero and they all stopped.
pub async fn supervise(ctx: Arc<Context>, stats: Arc<PoolStats>, mut target: watch::Receiver<u32>) {
    let mut spawned = 0usize;
    let mut workers = tokio::task::JoinSet::new();
    loop {
        let wanted = usize::try_from(*target.borrow_and_update()).unwrap_or(usize::MAX);
        if wanted != spawned {
            info!(from = spawned, to = wanted, "resizing the worker pool");
        }
        while spawned < wanted {
            workers.spawn(work(
                spawned,
                Arc::clone(&ctx),
                Arc::clone(&stats),
                target.clone(),
            ));
            spawned += 1;
        }
        spawned = spawned.min(wanted);
        if wanted == 0 {
            while workers.join_next().await.is_some() {}
            return;
        }
        tokio::select! {
            changed = target.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            Some(_) = workers.join_next() => {}
        }
    }
}

/// One worker: takes ready orders until its id is at or above the target.
async fn work(
    id: usize,
    ctx: Arc<Context>,
    stats: Arc<PoolStats>,
    mut target: watch::Receiver<u32>,
) {
    let mut timer = BrewTimer::default();
    stats.live.fetch_add(1, Ordering::Relaxed);
    ctx.shared.metrics.workers.inc();
    loop {
        let wanted = usize::try_from(*target.borrow_and_update()).unwrap_or(usize::MAX);
        if wanted <= id {
            break;
        }
        let jobs = take_jobs(&ctx, wanted);
        if jobs.is_empty() {
            // Registered before looking again, so a job submitted in between is not missed.
            let notified = ctx.shared.work.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if ctx.shared.lock().scheduler.ready_len() == 0 {
                tokio::select! {
                    () = notified => {}
                    _ = target.changed() => {}
                }
            }
            continue;
        }
        let began = Instant::now();
        let mut jobs = jobs.into_iter();
        while let Some((started, already_finished)) = jobs.next() {
            ctx.process(started, already_finished, &mut timer).await;
            if usize::try_from(*target.borrow()).unwrap_or(usize::MAX) <= id {
                give_back(&ctx, jobs.by_ref().map(|(started, _)| started));
                break;
            }
        }
        let busy = began.elapsed();
        stats.busy_micros.fetch_add(
            u64::try_from(busy.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        ctx.shared
            .metrics
            .worker_busy_seconds
            .inc_by(busy.as_secs_f64());
    }
    stats.live.fetch_sub(1, Ordering::Relaxed);
    ctx.shared.metrics.workers.dec();
}

/// A worker's share of the ready jobs: one when few are waiting (so that every worker gets
/// one), more when many are (one lock and no wake-up per job), at most [`MAX_TAKE`].
fn take_jobs(ctx: &Context, workers: usize) -> Vec<(crate::schedule::Started<Job>, bool)> {
    let mut state = ctx.shared.lock();
    let share = state.scheduler.ready_len() / workers.max(1);
    state.start_jobs(share.clamp(1, MAX_TAKE))
}

/// Returns jobs taken but not begun to the scheduler, and wakes a worker for them.
fn give_back(ctx: &Context, jobs: impl Iterator<Item = crate::schedule::Started<Job>>) {
    let mut given = false;
    {
        let mut state = ctx.shared.lock();
        for started in jobs {
            state.scheduler.give_back(started);
            given = true;
        }
    }
    if given {
        ctx.shared.work.notify_one();
    }
}

/// Most jobs a worker takes at once; they run one after another.
const MAX_TAKE: usize = 32;

/// Writes outcomes and dead letters Kafka did not take again, each after a back-off.
pub async fn retry(
    ctx: Arc<Context>,
    first_backoff: Duration,
    mut failed: mpsc::UnboundedReceiver<Retry>,
) {
    while let Some(retry) = failed.recv().await {
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            match retry {
                Retry::Outcome(outcome) => {
                    tokio::time::sleep(backoff(first_backoff, outcome.failed_attempts)).await;
                    ctx.outbox.conclude(outcome).await;
                }
                Retry::DeadLetter(letter) => {
                    tokio::time::sleep(backoff(first_backoff, letter.failed_attempts)).await;
                    ctx.outbox.dead_letter(letter).await;
                }
            }
        });
    }
}

/// Publishes the share of worker time spent on orders, every `period`.
pub async fn sample_utilisation(ctx: Arc<Context>, stats: Arc<PoolStats>, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    let mut last = (Instant::now(), stats.busy_micros.load(Ordering::Relaxed));
    loop {
        ticks.tick().await;
        let now = (Instant::now(), stats.busy_micros.load(Ordering::Relaxed));
        let workers = stats.live.load(Ordering::Relaxed);
        let capacity = now.0.duration_since(last.0).as_secs_f64() * workers as f64 * 1e6;
        let utilisation = if capacity > 0.0 {
            (now.1.saturating_sub(last.1) as f64 / capacity).min(1.0)
        } else {
            0.0
        };
        ctx.shared.metrics.worker_utilisation.set(utilisation);
        last = now;
    }
}
