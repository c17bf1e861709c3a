//! The broker leading the most partitions of the order topic SIGKILLed under load, as when its
//! machine dies: no controlled shutdown hands its leaderships over. The controller must elect
//! leaders from the other in-sync replicas (two of three still satisfy min.insync.replicas=2),
//! and producers and consumers must find them. Once every partition has a leader again the
//! broker is started again; the fault clears when every replica is back in sync.

use std::time::Duration;

use super::brokers::{busiest_leader, in_sync, led_without, testbed};
use super::seconds;
use crate::stage::{Injected, Stage};

const ELECTED_WITHIN: Duration = Duration::from_secs(60);
const IN_SYNC_WITHIN: Duration = Duration::from_secs(120);

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let refused_before = stage.refused();
    let (victim, led) = busiest_leader(stage).await?;
    let node = format!("kafka-{victim}");
    let at = stage.elapsed();
    testbed(&["kill", &node]).await?;
    led_without(stage, victim, ELECTED_WITHIN).await?;
    let elected = stage.elapsed();
    testbed(&["start", &node]).await?;
    in_sync(stage, 3, IN_SYNC_WITHIN).await?;
    let cleared = stage.elapsed();
    let refused = stage.refused() - refused_before;
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!(
            "SIGKILLed {node}, leader of partitions {led:?}; every partition led again after {}; \
             started again, all replicas in sync after {}; {refused} requests refused meanwhile",
            seconds(elected - at),
            seconds(cleared - at)
        )],
    })
}
