//! The pipeline's SCRAM password rotated while orders flow: set anew on the brokers, then in
//! the pipeline's Secret. Connections already authenticated keep working; the operator sees
//! the Secret's new version and rolls the intake and the consumers onto the new password, and
//! its own clients follow. Every request must still become exactly one order.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context;

use super::seconds;
use crate::stage::{CONSUMER, Injected, PRODUCER, Stage};

/// The operator reads Secret versions about once a minute, then two rolling updates run.
const ROLLED_WITHIN: Duration = Duration::from_secs(240);

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let names = |deployment| -> BTreeSet<String> {
        stage
            .running(deployment)
            .into_iter()
            .map(|p| p.name)
            .collect()
    };
    let before: BTreeSet<String> = names(PRODUCER).union(&names(CONSUMER)).cloned().collect();
    let at = stage.elapsed();
    let bed = stage.bed.clone();
    let tenant = stage
        .tenant
        .as_mut()
        .context("the stage runs as no tenant")?;
    tenant.rotate(&bed).await?;
    let user = tenant.user.clone();
    let what = "every intake and consumer pod replaced by one with the new password";
    e2e::poll::eventually(what, ROLLED_WITHIN, || async {
        let now: Vec<_> = [PRODUCER, CONSUMER]
            .into_iter()
            .flat_map(|d| stage.running(d))
            .collect();
        let fresh = now.iter().all(|p| !before.contains(&p.name) && p.ready);
        let producers = stage.running(PRODUCER).len();
        match fresh && producers == stage.shape.producers as usize && now.len() > producers {
            true => Ok(()),
            false => Err(format!(
                "{:?}",
                now.iter().map(|p| (&p.name, p.ready)).collect::<Vec<_>>()
            )),
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n{}", stage.installed.operator_logs()))?;
    let cleared = stage.elapsed();
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!(
            "SCRAM password of {user} rotated on the brokers, then in its Secret; {} pods \
             replaced in {}",
            before.len(),
            seconds(cleared - at)
        )],
    })
}
