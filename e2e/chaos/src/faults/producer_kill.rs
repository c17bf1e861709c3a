//! A producer pod SIGKILLed with requests in flight. Its clients get no answer; they send the
//! same request again, with the same `Idempotency-Key`, to the other pod. Each request must
//! become exactly one order, whether or not the killed pod published it.

use std::time::Duration;

use anyhow::{Context, ensure};

use super::seconds;
use crate::stage::{Injected, PRODUCER, Stage, kill};

const RESTARTED_WITHIN: Duration = Duration::from_secs(60);

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    use std::sync::atomic::Ordering::Relaxed;
    let victim = stage
        .running(PRODUCER)
        .into_iter()
        .find(|p| p.ready)
        .context("no ready producer pod")?;
    let retried_before = stage.load.counts.retries.load(Relaxed);
    kill(&victim)?;
    let at = stage.elapsed();
    let what = format!("producer pod {} ready again", victim.name);
    e2e::poll::eventually(&what, RESTARTED_WITHIN, || async {
        let again = stage
            .running(PRODUCER)
            .into_iter()
            .find(|p| p.name == victim.name);
        match again {
            Some(pod) if pod.ready && pod.pid != victim.pid => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
    .map_err(anyhow::Error::msg)?;
    let cleared = stage.elapsed();
    let retried = stage.load.counts.retries.load(Relaxed) - retried_before;
    ensure!(
        retried > 0,
        "no client had to retry: the kill of {} hit no request in flight",
        victim.name
    );
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!(
            "killed {}, ready again in {}; {retried} requests sent again",
            victim.name,
            seconds(cleared - at)
        )],
    })
}
