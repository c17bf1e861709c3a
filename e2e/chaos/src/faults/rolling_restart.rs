//! A rolling restart of the three brokers under load, the way a cluster is upgraded: each in
//! turn stopped with SIGTERM (a controlled shutdown hands its leaderships over), started
//! again, and waited for until every replica is in sync before the next
//! (`e2e/testbed restart kafka`). Every leadership moves at least once.

use super::brokers::testbed;
use super::seconds;
use crate::stage::{Injected, Stage};

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let refused_before = stage.refused();
    let at = stage.elapsed();
    testbed(&["restart", "kafka"]).await?;
    let cleared = stage.elapsed();
    let refused = stage.refused() - refused_before;
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!(
            "three brokers restarted one by one in {}; {refused} requests refused meanwhile",
            seconds(cleared - at)
        )],
    })
}
