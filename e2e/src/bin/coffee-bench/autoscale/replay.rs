//! The KEDA + HPA replay acting on the real consumer Deployment, while the operator's
//! autoscaling is in `Observe` (it then owns neither the replicas nor the workers): KEDA's
//! poll reads the group's lag from Kafka, the HPA's sync sets the replicas through the scale
//! subresource, as the HPA does.

use std::time::{Duration, Instant};

use e2e::kafka::GroupReader;
use e2e::keda::{KedaHpa, PartitionReading};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use tokio::sync::watch;
use tracing::warn;

/// Runs the replay on `deployment` until `stop` turns true.
pub async fn drive(
    mut keda: KedaHpa,
    reader: GroupReader,
    deployments: Api<Deployment>,
    deployment: String,
    origin: Instant,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            _ = tick.tick() => {}
        }
        let at = origin.elapsed();
        if keda.poll_due(at) {
            match reader.read().await {
                Ok(partitions) => {
                    let readings: Vec<PartitionReading> = partitions
                        .iter()
                        .map(|p| PartitionReading {
                            log_end: p.high,
                            committed: p.committed,
                        })
                        .collect();
                    keda.poll(at, &readings);
                }
                Err(error) => warn!(%error, "KEDA replay: reading lag"),
            }
        }
        if keda.sync_due(at)
            && let Err(error) = sync(&mut keda, at, &deployments, &deployment).await
        {
            warn!(%error, "KEDA replay: scaling");
        }
    }
}

async fn sync(
    keda: &mut KedaHpa,
    at: Duration,
    deployments: &Api<Deployment>,
    name: &str,
) -> Result<(), kube::Error> {
    let current = deployments
        .get_scale(name)
        .await?
        .spec
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let desired = keda.sync(at, current);
    if desired != current {
        let params = PatchParams {
            field_manager: Some("keda-hpa-replay".to_owned()),
            ..PatchParams::default()
        };
        let patch = json!({ "spec": { "replicas": desired } });
        deployments
            .patch_scale(name, &params, &Patch::Merge(&patch))
            .await?;
    }
    Ok(())
}
