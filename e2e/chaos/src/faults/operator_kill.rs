//! The leading operator SIGKILLed in the middle of a scaling decision: the load triples (or,
//! where a slow machine has already driven the pipeline to its maximum, stops), and the moment the leader's decision shows in the pipeline's status — before the reconciler has
//! necessarily sized the Deployment — the leader's process is killed. The standby must take
//! the Lease and carry the decision through: the consumer Deployment and the live worker
//! count end up as the status says.

use std::time::Duration;

use anyhow::Context;
use e2e::pipeline::{live_workers, ready_pods};
use serde_json::Value;

use super::seconds;
use crate::stage::{CONSUMER, Injected, Stage, kill};

const DECIDED_WITHIN: Duration = Duration::from_secs(90);
const TAKEN_OVER_WITHIN: Duration = Duration::from_secs(60);

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let leader = stage.installed.lease_holder()?;
    let before = desired(&stage.pipeline().await?);
    let at_maximum = before == format!("{}×{}", stage.shape.pods.1, stage.shape.workers.1);
    stage.load.set_rate(if at_maximum {
        0.0
    } else {
        stage.shape.rate * 3.0
    });
    let decided = e2e::poll::eventually("a scaling decision", DECIDED_WITHIN, || async {
        let now = desired(&stage.pipeline().await.map_err(|e| e.to_string())?);
        if now != before {
            Ok(now)
        } else {
            Err(now.to_string())
        }
    })
    .await
    .map_err(anyhow::Error::msg)?;
    let pod = stage
        .installed
        .operator_pods()
        .into_iter()
        .find(|p| p.name == leader)
        .with_context(|| format!("the leader {leader} runs no process"))?;
    kill(&pod)?;
    let at = stage.elapsed();
    // The standby takes the Lease, or the killed pod, run again by the runtime as a kubelet
    // would, wins it back under the same name: either is a new process leading.
    let successor = e2e::poll::eventually("a new leader", TAKEN_OVER_WITHIN, || async {
        let holder = stage.installed.lease_holder().map_err(|e| e.to_string())?;
        let leading = stage
            .installed
            .operator_pods()
            .into_iter()
            .find(|p| p.name == holder);
        match leading {
            Some(p) if p.ready && p.pid != pod.pid => Ok(holder),
            other => Err(format!("holder {holder}: {other:?}")),
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n{}", stage.installed.operator_logs()))?;
    let successor = match successor == leader {
        true => format!("{leader} (run again)"),
        false => successor,
    };
    let took_over = stage.elapsed();
    let carried = e2e::poll::eventually("the decision carried out", TAKEN_OVER_WITHIN, || async {
        let want = desired(&stage.pipeline().await.map_err(|e| e.to_string())?);
        let have = actual(stage).await;
        if have == want {
            Ok(have)
        } else {
            Err(format!("want {want}, have {have}"))
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n{}", stage.installed.operator_logs()))?;
    let cleared = stage.elapsed();
    stage.load.set_rate(stage.shape.rate);
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!(
            "load {} at {before}; killed leader {leader} as it decided {decided}; \
             {successor} led after {}; consumers at {carried} after {}",
            if at_maximum { "stopped" } else { "tripled" },
            seconds(took_over - at),
            seconds(cleared - at)
        )],
    })
}

/// `status.autoscaling.desired` as `{pods}×{workers}`.
fn desired(pipeline: &Value) -> String {
    let (pods, workers) = super::desired(pipeline);
    format!("{pods}×{workers}")
}

/// The consumer Deployment's replicas and the workers its pods run, as `{pods}×{workers}`.
async fn actual(stage: &Stage) -> String {
    let replicas = stage
        .installed
        .pipelines
        .deployments
        .get(CONSUMER)
        .await
        .ok()
        .and_then(|d| d.spec)
        .and_then(|s| s.replicas)
        .unwrap_or_default();
    let pods = ready_pods(stage.installed.pipelines.runtime.pods(), CONSUMER);
    let workers = live_workers(&reqwest::Client::new(), &pods).await;
    format!("{replicas}×{workers}")
}
