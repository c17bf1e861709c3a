//! Runs one autoscaling loop per pipeline while this replica leads: loops start for new
//! pipelines, see every change of theirs, and stop (with their metrics) when a pipeline is
//! deleted. Separate from the reconciler, so that reading lag every few seconds neither
//! re-applies every object nor mixes Kafka read failures into the reconcile back-off.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::reflector::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

use super::scaler::{Scaler, Shared};
use crate::crd::{CoffeeOrderPipeline, WorkloadStatus};

/// How often the set of pipelines is compared with the running loops.
const SYNC: Duration = Duration::from_secs(1);

struct Running {
    pipeline: watch::Sender<Arc<CoffeeOrderPipeline>>,
    task: JoinHandle<()>,
}

/// Supervises the loops until `stop` turns true.
pub async fn run(
    shared: Arc<Shared>,
    store: Store<CoffeeOrderPipeline>,
    mut stop: watch::Receiver<bool>,
) {
    if !wait_until_ready(&store, &mut stop).await {
        return;
    }
    info!("autoscaler started");
    let mut running: HashMap<(String, String), Running> = HashMap::new();
    let mut tick = tokio::time::interval(SYNC);
    loop {
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => break,
            _ = tick.tick() => sync(&shared, &store, &mut running),
        }
    }
    for (_, loop_) in running.drain() {
        loop_.task.abort();
    }
    info!("autoscaler stopped");
}

/// Waits until the store has listed the pipelines; `false` if stopped first. kube's store
/// readiness is a oneshot shared by every waiter and wakes only the last one registered (the
/// controller's runner, here), so the wait is re-checked every second instead of trusted.
async fn wait_until_ready(
    store: &Store<CoffeeOrderPipeline>,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    loop {
        match tokio::time::timeout(SYNC, store.wait_until_ready()).await {
            Ok(ready) => return ready.is_ok(),
            Err(_) if *stop.borrow_and_update() => return false,
            Err(_) => {}
        }
    }
}

fn sync(
    shared: &Arc<Shared>,
    store: &Store<CoffeeOrderPipeline>,
    running: &mut HashMap<(String, String), Running>,
) {
    let mut alive = Vec::new();
    for pipeline in store.state() {
        let allowed = shared
            .allowed_clusters
            .check(&pipeline.spec.kafka.bootstrap_servers);
        if pipeline.metadata.deletion_timestamp.is_some()
            || !crate::reconcile::ownership::claims_its_topic(&pipeline)
            || allowed.is_err()
        {
            continue;
        }
        let key = (
            pipeline.namespace().unwrap_or_default(),
            pipeline.name_any(),
        );
        alive.push(key.clone());
        match running.get(&key) {
            Some(loop_) => {
                loop_.pipeline.send_if_modified(|seen| {
                    let changed =
                        seen.metadata.resource_version != pipeline.metadata.resource_version;
                    if changed {
                        *seen = Arc::clone(&pipeline);
                    }
                    changed
                });
            }
            None => {
                let (sender, receiver) = watch::channel(Arc::clone(&pipeline));
                let task = tokio::spawn(run_one(Arc::clone(shared), receiver));
                running.insert(
                    key,
                    Running {
                        pipeline: sender,
                        task,
                    },
                );
            }
        }
    }
    running.retain(|key, loop_| {
        let keep = alive.contains(key);
        if !keep {
            loop_.task.abort();
            shared.metrics.forget([key.0.as_str(), key.1.as_str()]);
        }
        keep
    });
    shared.clusters.prune();
}

/// What wakes a pipeline's loop before its next poll: its spec, and its consumers' readiness
/// (which the `consumers` column shows).
fn wakes(pipeline: &CoffeeOrderPipeline) -> (Option<i64>, Option<WorkloadStatus>) {
    (
        pipeline.metadata.generation,
        pipeline.status.as_ref().and_then(|s| s.consumer.clone()),
    )
}

/// One pipeline's loop: a round every poll interval, and at once when its spec or its
/// consumers' readiness change.
async fn run_one(shared: Arc<Shared>, mut pipeline: watch::Receiver<Arc<CoffeeOrderPipeline>>) {
    let mut scaler = Scaler::new(shared);
    // Spread the first polls of many pipelines over a second instead of all at once.
    let spread = pipeline.borrow().metadata.uid.as_deref().map_or(0, |uid| {
        uid.bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
            % 1000
    });
    tokio::time::sleep(Duration::from_millis(spread)).await;
    loop {
        let current = pipeline.borrow_and_update().clone();
        let seen = wakes(&current);
        let wait = scaler.tick(&current).await;
        let next = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                changed = pipeline.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if wakes(&pipeline.borrow()) != seen {
                        break;
                    }
                }
                () = tokio::time::sleep_until(next) => break,
            }
        }
    }
}
