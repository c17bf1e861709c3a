//! The broker stopped for 20 s under load, then started again. Meanwhile the producers cannot
//! publish: they answer `503` and turn unready; the consumers cannot fetch or commit. Nothing
//! acknowledged before may be lost, and nothing refused may appear later.

use std::time::Duration;

use anyhow::Context;

use super::seconds;
use crate::stage::{Injected, Stage};

/// The outage, as the issue sets it.
const OUTAGE: Duration = Duration::from_secs(20);

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let refused_before = stage.refused();
    let at = stage.elapsed();
    let broker = stage
        .broker
        .as_mut()
        .context("the stage has no broker of its own")?;
    broker.pause().await;
    let stopped = stage.elapsed();
    tokio::time::sleep(OUTAGE).await;
    let broker = stage
        .broker
        .as_mut()
        .context("the stage has no broker of its own")?;
    broker.resume().await?;
    let cleared = stage.elapsed();
    let refused = stage.refused() - refused_before;
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!(
            "stopping took {}, down {}, serving again after {}; {refused} requests refused meanwhile",
            seconds(stopped - at),
            seconds(OUTAGE),
            seconds(cleared - at)
        )],
    })
}
