//! One pipeline seen from outside, as a person with `kubectl` and `curl` would see it: the Kafka
//! names the operator wired into its consumers (read from the Deployment, never derived again
//! here), and the workers each consumer pod runs right now.

use anyhow::Context;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

use crate::runtime::PodSnapshot;

/// The Kafka names of a pipeline's consumers, from their Deployment's env.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wiring {
    pub topic: String,
    pub group: String,
    pub status_topic: String,
    pub dead_letter_topic: String,
}

impl Wiring {
    /// Reads the consumer Deployment `name`'s first container's env.
    pub async fn of_consumer(deployments: &Api<Deployment>, name: &str) -> anyhow::Result<Self> {
        let deployment = deployments
            .get(name)
            .await
            .with_context(|| format!("reading Deployment {name}"))?;
        let env = deployment
            .spec
            .and_then(|s| s.template.spec)
            .and_then(|s| s.containers.into_iter().next())
            .and_then(|c| c.env)
            .unwrap_or_default();
        let value = |key: &str| {
            env.iter()
                .find(|e| e.name == key)
                .and_then(|e| e.value.clone())
                .with_context(|| format!("Deployment {name} sets no {key}"))
        };
        Ok(Self {
            topic: value("KAFKA_TOPIC")?,
            group: value("KAFKA_GROUP_ID")?,
            status_topic: value("KAFKA_STATUS_TOPIC")?,
            dead_letter_topic: value("KAFKA_DEAD_LETTER_TOPIC")?,
        })
    }
}

/// Workers per pod as the first ready consumer pod reports them live (`GET /workers`); 0 when
/// none answers.
pub async fn live_workers(http: &reqwest::Client, pods: &[PodSnapshot]) -> i32 {
    let Some(base) = pods.iter().find_map(|p| p.base_url(8080)) else {
        return 0;
    };
    let url = format!("{base}/workers");
    match http.get(url).send().await {
        Ok(response) => response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v["live"].as_i64())
            .and_then(|w| i32::try_from(w).ok())
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// The ready pods of `deployment`.
pub fn ready_pods(pods: Vec<PodSnapshot>, deployment: &str) -> Vec<PodSnapshot> {
    pods.into_iter()
        .filter(|p| p.deployment == deployment && p.ready)
        .collect()
}
