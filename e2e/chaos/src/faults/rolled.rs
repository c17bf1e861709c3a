//! Waiting for rolling updates the operator starts when a Secret a pipeline reads changes: the
//! faults that rotate a Secret check that every pod it concerns was replaced.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::stage::{PRODUCER, Stage};

/// The names of the running pods of `deployments`.
pub fn running_pods(stage: &Stage, deployments: &[&str]) -> BTreeSet<String> {
    deployments
        .iter()
        .flat_map(|d| stage.running(d))
        .map(|p| p.name)
        .collect()
}

/// Waits until every running pod of `deployments` is ready and none of `before`, each
/// deployment runs one at least, and the intake (if among them) its full count again.
pub async fn every_pod_replaced(
    stage: &Stage,
    deployments: &[&str],
    before: &BTreeSet<String>,
    what: &str,
    within: Duration,
) -> anyhow::Result<()> {
    e2e::poll::eventually(what, within, || async {
        let now: Vec<_> = deployments.iter().map(|d| stage.running(d)).collect();
        let fresh = now
            .iter()
            .flatten()
            .all(|p| !before.contains(&p.name) && p.ready);
        let full = deployments.iter().zip(&now).all(|(d, pods)| match *d {
            PRODUCER => pods.len() == stage.shape.producers as usize,
            _ => !pods.is_empty(),
        });
        match fresh && full {
            true => Ok(()),
            false => Err(format!(
                "{:?}",
                now.iter()
                    .flatten()
                    .map(|p| (&p.name, p.ready))
                    .collect::<Vec<_>>()
            )),
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n{}", stage.installed.operator_logs()))
}
