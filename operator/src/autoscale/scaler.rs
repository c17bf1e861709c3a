//! One pipeline's autoscaling loop, a thin shell around the tracker and the policy: every poll
//! interval it reads the offsets from Kafka, decides, acts (in `Enabled`: the worker count to
//! the control topic, the pod count to the status, from which the reconciler applies it) and
//! reports (status, Events, metrics).

use std::sync::Arc;
use std::time::{Duration, Instant};

use coffee_kafka::security::Security;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Client, ResourceExt};
use tracing::{debug, warn};

use super::cluster::{Cluster, ClusterError, Clusters};
use super::metrics::AutoscalerMetrics;
use super::policy::{self, Decision, Memory, Tuning};
use super::report;
use super::shape::Bounds;
use super::status::{StatusWriter, Written};
use super::tracker::{Estimates, Sample, Tracker};
use crate::crd::{AutoscalingMode, CoffeeOrderPipeline, ConsumerSize, ScalingDecision};
use crate::events::Events;
use crate::reconcile::credentials::{self, CredentialsError};
use crate::reconcile::names::topics_of;

/// How long credentials read from Secrets are used before they are read again.
const CREDENTIALS_VALID: Duration = Duration::from_secs(60);

/// What every pipeline's loop shares.
pub struct Shared {
    pub client: Client,
    pub clusters: Clusters,
    pub events: Events,
    pub metrics: AutoscalerMetrics,
    /// The Kafka clusters pipelines may name: the autoscaler dials no other.
    pub allowed_clusters: crate::allowed_clusters::AllowedClusters,
}

/// Why a poll could not decide.
#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Kafka(#[from] ClusterError),
    #[error("the pipeline has no namespace")]
    NoNamespace,
}

impl PollError {
    fn reason(&self) -> &'static str {
        match self {
            PollError::Credentials(_) => "KafkaCredentialsUnavailable",
            PollError::Kafka(ClusterError::Offsets { .. }) => "KafkaOffsetsUnavailable",
            PollError::Kafka(ClusterError::Commits { source, .. }) if source.is_refusal() => {
                "KafkaNotAuthorized"
            }
            PollError::Kafka(ClusterError::Commits { .. }) => "KafkaOffsetsUnavailable",
            PollError::Kafka(ClusterError::CommitsReader { .. }) => "KafkaSettingsInvalid",
            PollError::Kafka(_) => "KafkaUnreachable",
            PollError::NoNamespace => "NoNamespace",
        }
    }
}

/// The state of one pipeline's loop.
pub struct Scaler {
    shared: Arc<Shared>,
    origin: Instant,
    mode: Option<AutoscalingMode>,
    tracker: Tracker,
    memory: Memory,
    /// The size last decided in `Enabled` (restored from the status after a restart).
    decided: Option<ConsumerSize>,
    workers_written: Option<i32>,
    /// Credentials with the spec generation and time they were read: read again for a new
    /// generation and at most once a [`CREDENTIALS_VALID`] otherwise, so a rotated password is
    /// picked up without reading Secrets on every poll.
    security: Option<(Option<i64>, Instant, Security)>,
    /// The cluster's clients, held so that they outlive a poll (and the supervisor's prune).
    cluster: Option<Arc<Cluster>>,
    last_decision: Option<ScalingDecision>,
    last_pod_change: Option<Time>,
    status: StatusWriter,
}

impl Scaler {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            origin: Instant::now(),
            mode: None,
            tracker: Tracker::new(1),
            memory: Memory::default(),
            decided: None,
            workers_written: None,
            security: None,
            cluster: None,
            last_decision: None,
            last_pod_change: None,
            status: StatusWriter::default(),
        }
    }

    /// One round: polls (or, when `Disabled`, undoes what `Enabled` left); returns when to come
    /// back.
    pub async fn tick(&mut self, pipeline: &CoffeeOrderPipeline) -> Duration {
        let spec = &pipeline.spec.autoscaling;
        if self.mode != Some(spec.mode) {
            self.restart(pipeline);
        }
        let outcome = match spec.mode {
            AutoscalingMode::Disabled => self.off(pipeline).await,
            AutoscalingMode::Observe | AutoscalingMode::Enabled => self.poll(pipeline).await,
        };
        if let Err(error) = outcome {
            self.shared.metrics.poll(error.reason());
            warn!(pipeline = %pipeline.name_any(), %error, "autoscaler poll failed");
            let problem = (error.reason(), error.to_string());
            self.status
                .write_problem(&self.shared.client, pipeline, problem)
                .await;
        }
        Duration::from_secs(u64::from(spec.poll_interval_seconds))
    }

    /// Starts over for a new mode, keeping a decision `Enabled` recorded so that an operator
    /// restart or a change of leader does not snap back to the minimum.
    fn restart(&mut self, pipeline: &CoffeeOrderPipeline) {
        let spec = &pipeline.spec.autoscaling;
        self.mode = Some(spec.mode);
        self.tracker = Tracker::new(spec.stall_polls);
        self.memory = Memory::default();
        self.decided = None;
        self.workers_written = None;
        let recorded = pipeline
            .status
            .as_ref()
            .and_then(|s| s.autoscaling.as_ref());
        self.last_decision = recorded.and_then(|a| a.last_decision.clone());
        self.last_pod_change = recorded.and_then(|a| a.last_pod_change_time.clone());
        if let Some(recorded) = recorded.filter(|a| a.mode == AutoscalingMode::Enabled) {
            if spec.mode == AutoscalingMode::Enabled {
                self.decided = Some(recorded.desired);
                self.memory.last_pod_change = self.last_pod_change.as_ref().map(|t| {
                    let age = k8s_openapi::jiff::Timestamp::now().duration_since(t.0);
                    let age = Duration::try_from(age).unwrap_or_default();
                    self.origin.elapsed().saturating_sub(age)
                });
            } else {
                // Enabled set a worker count in the control topic; it must go back.
                self.workers_written = Some(recorded.desired.workers);
            }
        }
    }

    async fn cluster(&mut self, pipeline: &CoffeeOrderPipeline) -> Result<Arc<Cluster>, PollError> {
        let generation = pipeline.metadata.generation;
        let fresh = self
            .security
            .as_ref()
            .is_some_and(|(seen, at, _)| *seen == generation && at.elapsed() < CREDENTIALS_VALID);
        if let (true, Some(cluster)) = (fresh, &self.cluster) {
            return Ok(Arc::clone(cluster));
        }
        let namespace = pipeline.namespace().ok_or(PollError::NoNamespace)?;
        let kafka = &pipeline.spec.kafka;
        let security = credentials::resolve(&self.shared.client, &namespace, kafka).await?;
        let cluster = self
            .shared
            .clusters
            .get(&kafka.bootstrap_servers, &security)?;
        self.security = Some((generation, Instant::now(), security));
        self.cluster = Some(Arc::clone(&cluster));
        Ok(cluster)
    }

    /// `Disabled`: the minimum runs; a worker count `Enabled` wrote goes back to the minimum.
    async fn off(&mut self, pipeline: &CoffeeOrderPipeline) -> Result<(), PollError> {
        let minimum = pipeline.spec.consumer.workers.min;
        if self.workers_written.is_some_and(|w| w != minimum) {
            let names = topics_of(pipeline);
            let cluster = self.cluster(pipeline).await?;
            cluster
                .set_workers(&names.control, &names.group(), minimum)
                .await?;
            self.workers_written = Some(minimum);
        }
        self.status.write_off(&self.shared.client, pipeline).await;
        Ok(())
    }

    async fn poll(&mut self, pipeline: &CoffeeOrderPipeline) -> Result<(), PollError> {
        let Some(cluster) = self.ready_cluster(pipeline).await? else {
            return Ok(());
        };
        let spec = &pipeline.spec;
        let partitions = pipeline
            .status
            .as_ref()
            .and_then(|s| s.partitions)
            .unwrap_or(spec.kafka.partitions);
        let current = self.current(pipeline);
        let at = self.origin.elapsed();
        let (estimates, running) = self
            .observe(&cluster, pipeline, partitions, current, at)
            .await?;
        let bounds = Bounds::of(spec, partitions);
        let tuning = Tuning::of(&spec.autoscaling);
        let decision = policy::decide(at, &estimates, &bounds, &tuning, current, &mut self.memory);
        if spec.autoscaling.mode == AutoscalingMode::Enabled {
            if self.workers_written != Some(decision.to.workers) {
                let names = topics_of(pipeline);
                cluster
                    .set_workers(&names.control, &names.group(), decision.to.workers)
                    .await?;
                self.workers_written = Some(decision.to.workers);
            }
            self.decided = Some(decision.to);
        }
        self.shared.metrics.poll("ok");
        let largest = ConsumerSize {
            pods: bounds.max_pods(),
            workers: bounds.workers.max,
        };
        self.report(pipeline, &estimates, &decision, running, largest)
            .await;
        Ok(())
    }

    /// The cluster's clients once the topics exist; until then `None`, and the status says
    /// what is awaited.
    async fn ready_cluster(
        &mut self,
        pipeline: &CoffeeOrderPipeline,
    ) -> Result<Option<Arc<Cluster>>, PollError> {
        let topics_ready = pipeline.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "TopicReady" && c.status == "True")
        });
        if topics_ready {
            return Ok(Some(self.cluster(pipeline).await?));
        }
        self.shared.metrics.poll("waiting_for_topics");
        let problem = (
            "WaitingForTopics",
            "the topics are not ready yet".to_owned(),
        );
        self.status
            .write_problem(&self.shared.client, pipeline, problem)
            .await;
        Ok(None)
    }

    /// Reads the offsets, asks the group's liveness only when a stall is suspected, and feeds
    /// the tracker; returns its estimates and the consumers that were running.
    async fn observe(
        &mut self,
        cluster: &Cluster,
        pipeline: &CoffeeOrderPipeline,
        partitions: i32,
        current: ConsumerSize,
        at: Duration,
    ) -> Result<(Estimates, ConsumerSize), PollError> {
        let names = topics_of(pipeline);
        let group = names.group();
        let (offsets, arriving) = cluster.offsets(&names.orders, partitions, &group).await?;
        let running = ConsumerSize {
            pods: pipeline
                .status
                .as_ref()
                .and_then(|s| s.consumer.as_ref())
                .map_or(0, |c| c.ready_replicas),
            workers: current.workers,
        };
        let sample = Sample {
            at,
            partitions: offsets,
            arriving,
            running,
        };
        let candidates = self.tracker.stall_candidates(&sample);
        let stalled = if !candidates.is_empty() && cluster.group_alive(&group).await? {
            candidates
        } else {
            Vec::new()
        };
        Ok((self.tracker.record(sample, &stalled), running))
    }

    /// The size the policy starts from: what `Enabled` decided last, or what runs.
    fn current(&self, pipeline: &CoffeeOrderPipeline) -> ConsumerSize {
        let spec = &pipeline.spec;
        let running_pods = pipeline
            .status
            .as_ref()
            .and_then(|s| s.consumer.as_ref())
            .map(|c| c.replicas);
        let minimum = ConsumerSize {
            pods: spec.consumer.replicas.min,
            workers: spec.consumer.workers.min,
        };
        match (spec.autoscaling.mode, self.decided) {
            (AutoscalingMode::Enabled, Some(decided)) => decided,
            (_, _) => ConsumerSize {
                pods: running_pods.filter(|&p| p > 0).unwrap_or(minimum.pods),
                workers: minimum.workers,
            },
        }
    }

    async fn report(
        &mut self,
        pipeline: &CoffeeOrderPipeline,
        estimates: &Estimates,
        decision: &Decision,
        running: ConsumerSize,
        largest: ConsumerSize,
    ) {
        let namespace = pipeline.namespace().unwrap_or_default();
        let name = pipeline.name_any();
        let labels = [namespace.as_str(), name.as_str()];
        self.shared
            .metrics
            .observe(labels, estimates, decision, [running, largest]);
        if decision.changed() {
            let now = Time(k8s_openapi::jiff::Timestamp::now());
            let message = report::message(decision, estimates);
            let direction = report::direction(decision);
            self.shared
                .metrics
                .decided(labels, direction, decision.reason.as_str());
            let observe = pipeline.spec.autoscaling.mode == AutoscalingMode::Observe;
            let reason = match (observe, direction) {
                (true, "down") => "WouldScaleDown",
                (true, _) => "WouldScaleUp",
                (false, "down") => "ScaledDown",
                (false, _) => "ScaledUp",
            };
            debug!(pipeline = %name, %message, "decision");
            self.shared
                .events
                .publish(pipeline, false, reason, "Scale", message.clone())
                .await;
            if decision.to.pods != decision.from.pods {
                self.last_pod_change = Some(now.clone());
            }
            self.last_decision = Some(ScalingDecision {
                time: now,
                from: decision.from,
                to: decision.to,
                reason: decision.reason.as_str().to_owned(),
                message,
            });
        }
        let written = Written {
            estimates,
            decision,
            running,
            last_decision: self.last_decision.as_ref(),
            last_pod_change: self.last_pod_change.as_ref(),
        };
        let stall_changed = self
            .status
            .write_poll(&self.shared.client, pipeline, &written)
            .await;
        if let Some(stalled) = stall_changed {
            self.announce_stall(pipeline, &stalled).await;
        }
    }

    async fn announce_stall(&self, pipeline: &CoffeeOrderPipeline, stalled: &[i32]) {
        let group = topics_of(pipeline).group();
        let polls = pipeline.spec.autoscaling.stall_polls;
        let condition = report::stalled_condition(stalled, polls, &group);
        let (warning, reason) = if stalled.is_empty() {
            (false, "StallCleared")
        } else {
            (true, "PartitionsStalled")
        };
        self.shared
            .events
            .publish(pipeline, warning, reason, "Observe", condition.message)
            .await;
    }
}
