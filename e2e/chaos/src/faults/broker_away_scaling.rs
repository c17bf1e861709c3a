//! A broker stopped for 60 s while the autoscaler scales out: the broker leading the most
//! partitions is stopped (SIGTERM), then the load triples. The autoscaler must keep reading
//! the lag from the two brokers left — group coordinators and partition leaders move — and
//! size the consumers up while the broker is away. Then the broker starts again and the load
//! returns to its rate; the fault clears when every replica is in sync again.

use std::time::Duration;

use anyhow::ensure;

use super::brokers::{busiest_leader, in_sync, testbed};
use super::{desired, seconds};
use crate::stage::{Injected, Stage};

/// The outage, as the issue sets it.
const AWAY: Duration = Duration::from_secs(60);
const IN_SYNC_WITHIN: Duration = Duration::from_secs(120);

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let refused_before = stage.refused();
    let before = desired(&stage.pipeline().await?);
    let (victim, led) = busiest_leader(stage).await?;
    let node = format!("kafka-{victim}");
    let at = stage.elapsed();
    testbed(&["stop", &node]).await?;
    let stopped = stage.elapsed();
    stage.load.set_rate(stage.shape.rate * 3.0);
    let mut grown = None;
    while stage.elapsed() < stopped + AWAY {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = desired(&stage.pipeline().await?);
        if grown.is_none() && now.0 * now.1 > before.0 * before.1 {
            grown = Some((now, stage.elapsed()));
        }
    }
    testbed(&["start", &node]).await?;
    stage.load.set_rate(stage.shape.rate);
    in_sync(stage, 3, IN_SYNC_WITHIN).await?;
    let cleared = stage.elapsed();
    let Some(((pods, workers), when)) = grown else {
        let status = stage.pipeline().await?["status"].clone();
        anyhow::bail!(
            "no scale-out from {}×{} in the {} s {node} was away at three times the load; \
             status: {status}",
            before.0,
            before.1,
            AWAY.as_secs()
        );
    };
    let refused = stage.refused() - refused_before;
    ensure!(
        pods <= i64::from(stage.shape.pods.1),
        "{pods} pods above the maximum"
    );
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!(
            "stopped {node} (leader of partitions {led:?}) in {}, load tripled; scaled out \
             from {}×{} to {pods}×{workers} {} after the stop; started again, in sync after {}; \
             {refused} requests refused meanwhile",
            seconds(stopped - at),
            before.0,
            before.1,
            seconds(when - at),
            seconds(cleared - at)
        )],
    })
}
