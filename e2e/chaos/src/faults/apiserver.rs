//! kube-apiserver restarted under load (`e2e/testbed restart kube-apiserver`: SIGTERM, then
//! SIGKILL if it lingers, then started again). Orders must keep flowing — the data path needs
//! no API server — and afterwards the operator must act on the API again: a spec change made
//! after the restart is observed.

use std::time::Duration;

use super::brokers::testbed;
use super::seconds;
use crate::stage::{Injected, Stage};

const OBSERVED_WITHIN: Duration = Duration::from_secs(90);

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let at = stage.elapsed();
    testbed(&["restart", "kube-apiserver"]).await?;
    let cleared = stage.elapsed();
    stage.patch_spec(r#"{"consumer":{"workers":{"max":6}}}"#)?;
    let generation = stage.pipeline().await?["metadata"]["generation"].clone();
    e2e::poll::eventually(
        "the operator observing the new spec",
        OBSERVED_WITHIN,
        || async {
            let pipeline = stage.pipeline().await.map_err(|e| e.to_string())?;
            match pipeline["status"]["observedGeneration"] == generation {
                true => Ok(()),
                false => Err(pipeline["status"].to_string()),
            }
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n{}", stage.installed.operator_logs()))?;
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!(
            "API server back after {}; a spec change made then was observed {} later",
            seconds(cleared - at),
            seconds(stage.elapsed() - cleared)
        )],
    })
}
