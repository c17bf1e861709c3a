//! The consumers scaled out and back in while orders flow: the group rebalances under load at
//! every step. The operator is asked through the spec, as a platform team would, by pinning
//! the pod range: to two pods, to five (out), to two again (in); then the autoscaler gets its
//! range back.

use std::time::Duration;

use super::seconds;
use crate::stage::{CONSUMER, Injected, Stage};

const SCALED_WITHIN: Duration = Duration::from_secs(90);
const IN: usize = 2;
const OUT: usize = 5;

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let at = stage.elapsed();
    let before = stage.running(CONSUMER).len();
    let mut steps = vec![before.to_string()];
    for pods in [IN, OUT, IN] {
        let started = stage.elapsed();
        pin(stage, pods, pods)?;
        stage.wait_for_pods(CONSUMER, pods, SCALED_WITHIN).await?;
        steps.push(format!("{pods} ({})", seconds(stage.elapsed() - started)));
    }
    let (min, max) = stage.shape.pods;
    pin(stage, usize::try_from(min)?, usize::try_from(max)?)?;
    let cleared = stage.elapsed();
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!("consumer pods {}", steps.join(" → "))],
    })
}

fn pin(stage: &Stage, min: usize, max: usize) -> anyhow::Result<()> {
    stage.patch_spec(&format!(
        r#"{{"consumer":{{"replicas":{{"min":{min},"max":{max}}}}}}}"#
    ))
}
