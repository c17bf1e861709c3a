//! The broker hangs for 90 s — longer than the consumers' 60 s delivery timeout — the moment
//! poison messages have arrived (frozen, not shut down: a clean shutdown takes long enough for
//! the consumers to write their dead letters first), so that the status events of real orders,
//! and those dead letters the consumers had not yet written, are in flight and time out. Which
//! dead letters are still in flight is a race the broker's freeze usually but not always wins;
//! the run counts them, and the consumer's own tests time a dead letter out on purpose. They must be retried, not dropped and not left to freeze
//! the partitions: once the broker is back every poison message is dead-lettered and every
//! order after it completes (the stage checks the orders), and the consumers' memory stays
//! bounded meanwhile.

use std::time::Duration;

use anyhow::{Context, ensure};

use super::{poison, seconds};
use crate::stage::{CONSUMER, Injected, Stage};

/// Longer than the consumers' `message.timeout.ms` (60 s).
const OUTAGE: Duration = Duration::from_secs(90);
/// Dead letters are retried with back-off after the outage; the partitions' other work too.
const DEAD_LETTERED_WITHIN: Duration = Duration::from_secs(180);
/// How often the consumers' memory is read during the outage.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// Growth of a consumer's resident memory during the outage that counts as unbounded: the
/// outage holds at most what the consumers had fetched when it began.
const MAX_GROWTH_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let at = stage.elapsed();
    let sent = poison::write(stage).await?;
    let broker = stage.broker.as_ref();
    broker
        .context("the stage has no broker of its own")?
        .freeze()?;
    let stopped = stage.elapsed();
    let before = consumer_metric(stage, MEMORY).await?;
    let mut peak = before.clone();
    while stage.elapsed() < stopped + OUTAGE {
        tokio::time::sleep(SAMPLE_EVERY).await;
        for (pod, bytes) in consumer_metric(stage, MEMORY).await.unwrap_or_default() {
            let entry = peak.entry(pod).or_insert(bytes);
            *entry = entry.max(bytes);
        }
    }
    let broker = stage.broker.as_ref();
    broker
        .context("the stage has no broker of its own")?
        .thaw()?;
    let resumed = stage.elapsed();
    let letters = poison::dead_lettered(stage, sent, DEAD_LETTERED_WITHIN).await?;
    let cleared = stage.elapsed();
    let failed = count(consumer_metric(stage, FAILED_DEAD_LETTERS).await?);
    let timed_out = count(consumer_metric(stage, FAILED_DELIVERIES).await?);
    ensure!(
        timed_out > 0,
        "no write timed out: nothing was in flight when the broker hung, so the run proves nothing"
    );
    let mut growths = Vec::new();
    for (pod, start) in &before {
        let growth = peak.get(pod).copied().unwrap_or(*start) - start;
        ensure!(
            growth <= MAX_GROWTH_BYTES,
            "consumer pod {pod} grew by {:.0} MiB during the outage",
            growth / 1_048_576.0
        );
        growths.push(format!("{pod} +{:.1} MiB", growth / 1_048_576.0));
    }
    Ok(Injected {
        at,
        cleared,
        notes: vec![
            format!(
                "{sent} poison messages written, broker frozen {} later for {}",
                seconds(stopped - at),
                seconds(OUTAGE)
            ),
            format!(
                "all dead-lettered {} after the broker was back ({timed_out} writes timed out and were written again, {failed} of them dead letters; {} letters for {sent} messages: the rest are copies, of letters that timed out on the consumer's side but reached the log, and of poison redelivered after the group rebalanced); consumer memory during the outage: {}",
                seconds(cleared - resumed),
                letters,
                growths.join(", ")
            ),
        ],
    })
}

const MEMORY: &str = "process_resident_memory_bytes";
const FAILED_DEAD_LETTERS: &str = "dead_letter_failures_total";
const FAILED_DELIVERIES: &str = "consumer_delivery_failures_total";

/// The sum of a counter over the pods.
fn count(values: std::collections::BTreeMap<String, f64>) -> u64 {
    values.values().map(|v| *v as u64).sum()
}

/// Each running consumer pod's `metric` (summed over its labels), from its own `/metrics`.
async fn consumer_metric(
    stage: &Stage,
    metric: &str,
) -> anyhow::Result<std::collections::BTreeMap<String, f64>> {
    let mut values = std::collections::BTreeMap::new();
    for pod in stage.running(CONSUMER) {
        let port = pod
            .ports
            .iter()
            .find(|p| p.container_port == 8080)
            .with_context(|| format!("consumer pod {} has no port 8080", pod.name))?
            .local_port;
        let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("metrics of consumer pod {}", pod.name))?
            .text()
            .await?;
        let sum = text
            .lines()
            .filter(|line| {
                line.strip_prefix(metric)
                    .is_some_and(|rest| rest.starts_with([' ', '{']))
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        values.insert(pod.name, sum);
    }
    Ok(values)
}
