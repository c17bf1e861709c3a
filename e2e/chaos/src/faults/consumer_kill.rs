//! A consumer pod SIGKILLed mid-batch (at this rate every pod always has orders brewing and
//! offsets uncommitted), then, as soon as the runtime has restarted it, another one — the
//! partitions move twice while their orders are half done.

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
        let what = format!("consumer pod {} running again", victim.name);
        e2e::poll::eventually(&what, RESTARTED_WITHIN, || async {
            let again = stage
                .running(CONSUMER)
                .into_iter()
                .find(|p| p.name == victim.name);
            match again {
                Some(pod) if pod.ready && pod.pid != old_pid => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await
        .map_err(anyhow::Error::msg)?;
        injected.notes.push(format!(
            "killed {} (pid {}), running again in {}",
            victim.name,
            old_pid.unwrap_or_default(),
            seconds(stage.elapsed() - killed)
        ));
    }
    injected.cleared = stage.elapsed();
    Ok(injected)
}
