//! The test bed's Kafka nodes, as the faults on the cluster see and move them: which broker
//! leads the pipeline's partitions, and `e2e/testbed stop|kill|start|restart` run for them.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, ensure};
use e2e::kafka::{PartitionReplicas, partitions};
use e2e::operator::repo;
use e2e::poll::eventually;

use crate::stage::Stage;

/// Runs `e2e/testbed` with `args` and fails with what it printed.
pub async fn testbed(args: &[&str]) -> anyhow::Result<()> {
    let output = tokio::process::Command::new(repo().join("e2e/testbed"))
        .args(args)
        .output()
        .await
        .with_context(|| format!("running e2e/testbed {}", args.join(" ")))?;
    ensure!(
        output.status.success(),
        "e2e/testbed {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// The order topic's partitions as the cluster reports them now.
pub async fn order_partitions(stage: &Stage) -> anyhow::Result<Vec<PartitionReplicas>> {
    let topic = &stage.wiring.topic;
    partitions(&stage.bed, topic)
        .await
        .with_context(|| format!("the partitions of {topic}"))
}

/// The broker leading the most partitions of the order topic, and those partitions.
pub async fn busiest_leader(stage: &Stage) -> anyhow::Result<(i32, Vec<i32>)> {
    let mut led: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for p in order_partitions(stage).await? {
        led.entry(p.leader).or_default().push(p.partition);
    }
    led.into_iter()
        .filter(|(leader, _)| *leader >= 0)
        .max_by_key(|(_, partitions)| partitions.len())
        .context("no partition of the order topic has a leader")
}

/// Waits until no partition of the order topic is led by `gone` or by nobody.
pub async fn led_without(stage: &Stage, gone: i32, within: Duration) -> anyhow::Result<()> {
    eventually("new leaders for every partition", within, || async {
        let now = order_partitions(stage).await.map_err(|e| e.to_string())?;
        match now.iter().all(|p| p.leader >= 0 && p.leader != gone) {
            true => Ok(()),
            false => Err(format!("{now:?}")),
        }
    })
    .await
    .map_err(anyhow::Error::msg)
}

/// Waits until every replica of the order topic is in sync again (all `nodes` of them).
pub async fn in_sync(stage: &Stage, nodes: usize, within: Duration) -> anyhow::Result<()> {
    eventually("every replica in sync", within, || async {
        let now = order_partitions(stage).await.map_err(|e| e.to_string())?;
        match now.iter().all(|p| p.in_sync.len() == nodes) {
            true => Ok(()),
            false => Err(format!("{now:?}")),
        }
    })
    .await
    .map_err(anyhow::Error::msg)
}
