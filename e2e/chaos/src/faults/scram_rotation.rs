//! The pipeline's SCRAM password rotated while orders flow: set anew on the brokers, then in
//! the pipeline's Secret. Connections already authenticated keep working; the operator sees
//! the Secret's new version and rolls the intake and the consumers onto the new password, and
//! its own clients follow. Every request must still become exactly one order.

use std::time::Duration;

use anyhow::Context;

use super::rolled::{every_pod_replaced, running_pods};
use super::seconds;
use crate::stage::{CONSUMER, Injected, PRODUCER, Stage};

/// The operator reads Secret versions about once a minute, then two rolling updates run.
const ROLLED_WITHIN: Duration = Duration::from_secs(240);

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let before = running_pods(stage, &[PRODUCER, CONSUMER]);
    let at = stage.elapsed();
    let bed = stage.bed.clone();
    let tenant = stage
        .tenant
        .as_mut()
        .context("the stage runs as no tenant")?;
    tenant.rotate(&bed).await?;
    let user = tenant.user.clone();
    let what = "every intake and consumer pod replaced by one with the new password";
    every_pod_replaced(stage, &[PRODUCER, CONSUMER], &before, what, ROLLED_WITHIN).await?;
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
