//! The reconciler: a `CoffeeOrderPipeline` in, its topics, workloads and status out. Thin
//! shells around the pure planners ([`topic`], [`workloads`], [`status`]).

mod apply;
mod cleanup;
mod credentials;
pub mod names;
pub mod status;
pub mod topic;
pub mod workloads;
#[cfg(test)]
mod workloads_tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::finalizer::{self, finalizer};
use kube::{Api, Client, Resource, ResourceExt};
use tracing::{info, warn};

use crate::crd::CoffeeOrderPipeline;
use crate::kafka::{KafkaAdmin, KafkaAdminError};
use crate::metrics::Metrics;

/// The field manager of every server-side apply, so the operator owns exactly its fields.
pub const FIELD_MANAGER: &str = "coffee-operator";
/// Keeps a pipeline until its topics are dealt with according to its deletion policy.
pub const FINALIZER: &str = "coffee-pipeline.io/topics";

/// What every reconcile needs.
pub struct Context {
    pub client: Client,
    pub kafka: KafkaAdmin,
    pub recorder: Recorder,
    pub metrics: Metrics,
    /// Consecutive failed reconciles per pipeline (`namespace/name`), for the back-off.
    pub failures: Mutex<HashMap<String, u32>>,
    /// When each pipeline's topics were last found as desired, for which generation, with how
    /// many partitions. Reconciles caused by status changes of the pipeline or its Deployments
    /// reuse a recent check instead of asking Kafka again.
    topics_checked: Mutex<HashMap<String, TopicCheck>>,
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
    pub fn new(client: Client, recorder: Recorder, metrics: Metrics) -> Self {
        Self {
            client,
            kafka: KafkaAdmin::default(),
            recorder,
            metrics,
            failures: Mutex::new(HashMap::new()),
            topics_checked: Mutex::new(HashMap::new()),
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

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn key(pipeline: &CoffeeOrderPipeline) -> String {
    format!(
        "{}/{}",
        pipeline.namespace().unwrap_or_default(),
        pipeline.name_any()
    )
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

/// Publishes an Event about `pipeline`; failing to do so is logged, never fatal.
pub async fn announce(
    ctx: &Context,
    pipeline: &CoffeeOrderPipeline,
    warning: bool,
    reason: &str,
    action: &str,
    note: String,
) {
    info!(pipeline = %pipeline.name_any(), reason, %note, "event");
    let event = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.to_owned(),
        note: Some(note),
        action: action.to_owned(),
        secondary: None,
    };
    if let Err(error) = ctx
        .recorder
        .publish(&event, &pipeline.object_ref(&()))
        .await
    {
        warn!(%error, "publishing an event failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_two_seconds_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(30), Duration::from_secs(300));
    }
}
