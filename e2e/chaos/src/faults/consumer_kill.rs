//! A consumer pod SIGKILLed mid-batch (at this rate every pod always has orders brewing and
//! offsets uncommitted), then, as soon as the runtime has run it again (or the autoscaler has
//! scaled it away), another one — the partitions move twice while their orders are half done.

use std::time::Duration;

use anyhow::Context;

use super::seconds;
use crate::stage::{CONSUMER, Injected, Stage, kill};

/// How long the runtime may take to run a killed pod again (its restart back-off included).
const RESTARTED_WITHIN: Duration = Duration::from_secs(60);

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let mut injected = Injected {
        at: stage.elapsed(),
        ..Injected::default()
    };
    for round in 0..2 {
        let pods = stage.running(CONSUMER);
        let victim = pods
            .get(round % pods.len().max(1))
            .cloned()
            .context("no consumer pod runs")?;
        kill(&victim)?;
        let killed = stage.elapsed();
        let old_pid = victim.pid;
        // The runtime runs it again, as a kubelet would; or the autoscaler, seeing the lag
        // rise, has meanwhile resized the Deployment and the pod is gone.
        let what = format!(
            "consumer pod {} running again (or scaled away)",
            victim.name
        );
        let again = e2e::poll::eventually(&what, RESTARTED_WITHIN, || async {
            let pods = stage.running(CONSUMER);
            match pods.iter().find(|p| p.name == victim.name) {
                Some(pod) if pod.ready && pod.pid != old_pid => Ok("running again"),
                None if !pods.is_empty() && pods.iter().all(|p| p.ready) => Ok("scaled away"),
                other => Err(format!("{other:?}")),
            }
        })
        .await
        .map_err(anyhow::Error::msg)?;
        injected.notes.push(format!(
            "killed {} (pid {}), {again} in {}",
            victim.name,
            old_pid.unwrap_or_default(),
            seconds(stage.elapsed() - killed)
        ));
    }
    injected.cleared = stage.elapsed();
    Ok(injected)
}
