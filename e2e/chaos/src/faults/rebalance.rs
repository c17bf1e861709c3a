//! The consumers scaled out and back in while orders flow: the group rebalances twice under
//! load. The operator is asked through the spec, as a platform team would: the minimum pods
//! raised to three, then lowered again, after which the autoscaler scales in once its
//! stabilisation window has passed.

use std::time::Duration;

use super::seconds;
use crate::stage::{CONSUMER, Injected, Stage};

/// The stage's spec asks for 1 to 4 consumer pods; out is three.
const OUT: usize = 3;
const SCALED_WITHIN: Duration = Duration::from_secs(90);

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let at = stage.elapsed();
    let before = stage.running(CONSUMER).len();
    stage.patch_spec(r#"{"consumer":{"replicas":{"min":3}}}"#)?;
    stage
        .wait_for_ready(CONSUMER, |n| n >= OUT, SCALED_WITHIN)
        .await?;
    let out = stage.elapsed();
    stage.patch_spec(r#"{"consumer":{"replicas":{"min":1}}}"#)?;
    let after = stage
        .wait_for_ready(CONSUMER, |n| (1..OUT).contains(&n), SCALED_WITHIN)
        .await?;
    let cleared = stage.elapsed();
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!(
            "{before} → {OUT} consumer pods in {}, → {after} in {}",
            seconds(out - at),
            seconds(cleared - out)
        )],
    })
}
