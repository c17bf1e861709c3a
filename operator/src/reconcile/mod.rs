//! The reconciler: a `CoffeeOrderPipeline` in, its topics, workloads and status out. Thin
//! shells around the pure planners ([`topic`], [`workloads`], [`status`]).

mod apply;
mod claim;
mod cleanup;
pub mod credentials;
pub mod names;
mod on_kafka;
pub mod ownership;
pub mod secret_versions;
pub mod status;
pub mod topic;
pub mod workloads;
#[cfg(test)]
mod workloads_tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, finalizer};
use kube::{Api, Client, Resource, ResourceExt};
use tracing::warn;

use crate::crd::CoffeeOrderPipeline;
use crate::events::Events;
use crate::kafka::{KafkaAdmin, KafkaAdminError};
use crate::metrics::Metrics;
use secret_versions::SecretVersions;

/// The field manager of every server-side apply, so the operator owns exactly its fields.
pub const FIELD_MANAGER: &str = "coffee-operator";
/// Keeps a pipeline until its topics are dealt with according to its deletion policy.
pub const FINALIZER: &str = "coffee-pipeline.io/topics";

/// What every reconcile needs.
pub struct Context {
    pub client: Client,
    pub kafka: KafkaAdmin,
    pub events: Events,
    pub metrics: Metrics,
    /// What pipelines' pods get where their spec is silent.
    pub workload_defaults: workloads::WorkloadDefaults,
    /// The Kafka clusters pipelines may name.
    pub allowed_clusters: crate::allowed_clusters::AllowedClusters,
    /// Consecutive failed reconciles per pipeline (`namespace/name`), for the back-off.
    pub failures: Mutex<HashMap<String, u32>>,
    /// When each pipeline's topics were last found as desired, for which generation, with how
    /// many partitions. Reconciles caused by status changes of the pipeline or its Deployments
    /// reuse a recent check instead of asking Kafka again.
    topics_checked: Mutex<HashMap<String, TopicCheck>>,
    /// The versions of the Secrets each pipeline's pods read, as last read (refreshed with the
    /// topic check): kept when a read fails, so that an API hiccup does not roll the pods.
    secret_versions: Mutex<HashMap<String, SecretVersions>>,
}

/// A successful topic check: the pipeline's generation, when, and the order topic's partitions.
#[derive(Debug, Clone, Copy)]
struct TopicCheck {
    generation: Option<i64>,
    at: Instant,
    partitions: i32,
}

/// How long a successful topic check stands in for a new one (also bounds how long topic
/// configuration drift goes unnoticed).
const TOPIC_CHECK_VALID: Duration = Duration::from_secs(55);

impl Context {
    pub fn new(
        client: Client,
        events: Events,
        metrics: Metrics,
        workload_defaults: workloads::WorkloadDefaults,
        allowed_clusters: crate::allowed_clusters::AllowedClusters,
    ) -> Self {
        Self {
            client,
            kafka: KafkaAdmin::default(),
            events,
            metrics,
            workload_defaults,
            allowed_clusters,
            failures: Mutex::new(HashMap::new()),
            topics_checked: Mutex::new(HashMap::new()),
            secret_versions: Mutex::new(HashMap::new()),
        }
    }

    /// The partitions of the order topic, if the topics were found as desired for this
    /// generation recently.
    pub fn recent_topics(&self, pipeline: &CoffeeOrderPipeline) -> Option<i32> {
        let checked = self
            .topics_checked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let check = checked.get(&key(pipeline))?;
        (check.generation == pipeline.meta().generation && check.at.elapsed() < TOPIC_CHECK_VALID)
            .then_some(check.partitions)
    }

    pub fn topics_checked(&self, pipeline: &CoffeeOrderPipeline, partitions: i32) {
        self.topics_checked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                key(pipeline),
                TopicCheck {
                    generation: pipeline.meta().generation,
                    at: Instant::now(),
                    partitions,
                },
            );
    }

    /// The versions of the Secrets `pipeline`'s pods read, as last read.
    pub fn secret_versions(&self, pipeline: &CoffeeOrderPipeline) -> SecretVersions {
        lock(&self.secret_versions)
            .get(&key(pipeline))
            .cloned()
            .unwrap_or_default()
    }

    /// Whether the versions of `pipeline`'s Secrets were read since this process started.
    pub fn has_secret_versions(&self, pipeline: &CoffeeOrderPipeline) -> bool {
        lock(&self.secret_versions).contains_key(&key(pipeline))
    }

    pub fn secret_versions_read(&self, pipeline: &CoffeeOrderPipeline, versions: SecretVersions) {
        lock(&self.secret_versions).insert(key(pipeline), versions);
    }

    /// Drops what is kept about a deleted pipeline.
    pub fn forget(&self, pipeline: &CoffeeOrderPipeline) {
        let key = key(pipeline);
        lock(&self.secret_versions).remove(&key);
        lock(&self.topics_checked).remove(&key);
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn key(pipeline: &CoffeeOrderPipeline) -> String {
    format!(
        "{}/{}",
        pipeline.namespace().unwrap_or_default(),
        pipeline.name_any()
    )
}

/// What a reconcile depends on, hashed: a change of it triggers one. The spec (generation),
/// a deletion, the finalizers (the finalizer helper's own update), and the pod count the
/// autoscaler decided. Status the reconciler or the autoscaler writes otherwise (lag, rates,
/// conditions, replica counts) triggers nothing.
pub fn trigger(pipeline: &CoffeeOrderPipeline) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    pipeline.metadata.generation.hash(&mut hasher);
    pipeline
        .metadata
        .deletion_timestamp
        .is_some()
        .hash(&mut hasher);
    pipeline.metadata.finalizers.hash(&mut hasher);
    pipeline
        .status
        .as_ref()
        .and_then(|s| s.autoscaling.as_ref())
        .map(|a| (a.mode, a.desired.pods))
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// The wait before retrying after `failures` consecutive failures: 2 s, doubling, at most 5 min.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(
        2u64.saturating_mul(1 << failures.saturating_sub(1).min(8))
            .min(300),
    )
}

/// Why a reconcile failed; it is retried with back-off and the status says why.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kafka(#[from] KafkaAdminError),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("building {what}: {source}")]
    Build {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Credentials(#[from] credentials::CredentialsError),
    #[error(transparent)]
    OwnerRecord(#[from] crate::owner_record::OwnerRecordError),
    #[error("the pipeline has no namespace")]
    NoNamespace,
    #[error("finalizer: {0}")]
    Finalizer(String),
}

impl Error {
    /// A bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Kafka(error) => error.kind(),
            Error::Kube(_) => "KubeApi",
            Error::Build { .. } => "Build",
            Error::Credentials(_) => "KafkaCredentialsUnavailable",
            Error::OwnerRecord(_) => "OwnerRecordUnavailable",
            Error::NoNamespace => "NoNamespace",
            Error::Finalizer(_) => "Finalizer",
        }
    }
}

/// Reconciles one pipeline: apply while it exists, clean up (per deletion policy) when deleted.
pub async fn reconcile(
    pipeline: Arc<CoffeeOrderPipeline>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let namespace = pipeline.namespace().ok_or(Error::NoNamespace)?;
    let key = key(&pipeline);
    let api: Api<CoffeeOrderPipeline> = Api::namespaced(ctx.client.clone(), &namespace);
    let outcome = finalizer(&api, FINALIZER, pipeline, |event| async {
        match event {
            finalizer::Event::Apply(pipeline) => apply::apply(&pipeline, &ctx).await,
            finalizer::Event::Cleanup(pipeline) => cleanup::cleanup(&pipeline, &ctx).await,
        }
    })
    .await
    .map_err(|error| match error {
        finalizer::Error::ApplyFailed(error) | finalizer::Error::CleanupFailed(error) => error,
        other => Error::Finalizer(other.to_string()),
    });
    ctx.metrics
        .observe_reconcile(started.elapsed(), outcome.as_ref().err().map(Error::kind));
    if outcome.is_ok() {
        ctx.failures().remove(&key);
    }
    outcome
}

/// Retries failed reconciles with exponential back-off per pipeline.
pub fn error_policy(
    pipeline: Arc<CoffeeOrderPipeline>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let failures = {
        let mut all = ctx.failures();
        let count = all.entry(key(&pipeline)).or_insert(0);
        *count += 1;
        *count
    };
    let wait = backoff(failures);
    warn!(pipeline = %pipeline.name_any(), kind = error.kind(), failures, retry_in = ?wait, %error, "reconcile failed");
    Action::requeue(wait)
}

/// Publishes an Event about `pipeline` (each its own object; see [`crate::events`]).
pub async fn announce(
    ctx: &Context,
    pipeline: &CoffeeOrderPipeline,
    warning: bool,
    reason: &str,
    action: &str,
    note: String,
) {
    ctx.events
        .publish(pipeline, warning, reason, action, note)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline() -> CoffeeOrderPipeline {
        serde_yaml::from_str(
            "apiVersion: coffee-pipeline.io/v1alpha1\nkind: CoffeeOrderPipeline\nmetadata: {name: bar, generation: 1}\nspec:\n  kafka: {bootstrapServers: 'k:9092', partitions: 6}\n",
        )
        .unwrap()
    }

    fn with_autoscaling(status: crate::crd::AutoscalingStatus) -> CoffeeOrderPipeline {
        let mut pipeline = pipeline();
        pipeline.status = Some(crate::crd::CoffeeOrderPipelineStatus {
            autoscaling: Some(status),
            ..Default::default()
        });
        pipeline
    }

    #[test]
    fn lag_and_rates_written_to_the_status_trigger_no_reconcile() {
        let before = with_autoscaling(Default::default());
        let mut after = with_autoscaling(crate::crd::AutoscalingStatus {
            lag: 1_000,
            arrival_rate: Some(50.0),
            ..Default::default()
        });
        after.status.as_mut().unwrap().lag = Some(1_000);
        assert_eq!(trigger(&before), trigger(&after));
    }

    #[test]
    fn a_new_pod_count_decision_triggers_a_reconcile() {
        let before = with_autoscaling(Default::default());
        let mut decided = crate::crd::AutoscalingStatus::default();
        decided.desired.pods = 3;
        assert_ne!(trigger(&before), trigger(&with_autoscaling(decided)));
    }

    #[test]
    fn a_spec_change_a_deletion_and_a_finalizer_trigger_a_reconcile() {
        let before = pipeline();
        let mut newer = before.clone();
        newer.metadata.generation = Some(2);
        let mut deleted = before.clone();
        deleted.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::now(),
            ));
        let mut finalized = before.clone();
        finalized.metadata.finalizers = Some(vec![FINALIZER.to_owned()]);
        for changed in [newer, deleted, finalized] {
            assert_ne!(trigger(&before), trigger(&changed));
        }
    }

    #[test]
    fn backoff_doubles_from_two_seconds_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(30), Duration::from_secs(300));
    }
}
