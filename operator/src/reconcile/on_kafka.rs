//! What a reconcile does on Kafka: claim the order topic (see [`super::claim`]), then create,
//! grow and configure the pipeline's four topics as [`super::topic`] plans, telling each step
//! in an Event.

use kube::ResourceExt;

use super::names::topics_of;
use super::ownership::Claim;
use super::status::TopicOutcome;
use super::topic::{self, TopicAction};
use super::{Context, Error, announce, claim, credentials};
use crate::crd::CoffeeOrderPipeline;
use crate::kafka::KafkaAdminError;

/// What became of the topics in one reconcile.
pub(super) struct Checked {
    pub outcome: TopicOutcome,
    /// The order topic's partitions, when known.
    pub partitions: Option<i32>,
    /// The error to retry on (the outcome already says it).
    pub error: Option<Error>,
    /// Whether the order topic is the pipeline's: owned already, adopted, or created by this
    /// reconcile's own CreateTopics (which only one creator can win). Only then do its
    /// workloads run and does the autoscaler act.
    pub claimed: bool,
}

impl Checked {
    fn failed(ctx_reason: &str, message: String, error: Error, claimed: bool) -> Self {
        Self {
            outcome: TopicOutcome::Failed {
                reason: ctx_reason.to_owned(),
                message,
            },
            partitions: None,
            error: Some(error),
            claimed,
        }
    }
}

/// Claims the order topic, then creates, grows and configures the four topics.
pub(super) async fn reconcile_topics(pipeline: &CoffeeOrderPipeline, ctx: &Context) -> Checked {
    let kafka = &pipeline.spec.kafka;
    let namespace = pipeline.namespace().unwrap_or_default();
    let security = match credentials::resolve(&ctx.client, &namespace, kafka).await {
        Ok(security) => security,
        Err(error) => return failed(ctx, pipeline, error.into(), false).await,
    };
    let names = topics_of(pipeline);
    let claim = match claim::claim(pipeline, ctx, &security, &names.orders).await {
        Ok(Claim::Conflict { message }) => {
            return Checked {
                outcome: TopicOutcome::Conflict { message },
                partitions: None,
                error: None,
                claimed: false,
            };
        }
        Ok(claim) => claim,
        Err(error) => return failed(ctx, pipeline, error, false).await,
    };
    // Created by this reconcile counts only once its CreateTopics has won.
    let mut claimed = claim != Claim::Create;
    let mut outcome = TopicOutcome::Ready;
    let mut order_partitions = None;
    let brokers = &kafka.bootstrap_servers;
    for (index, desired) in topic::desired(pipeline).iter().enumerate() {
        let observed = match ctx.kafka.observe(brokers, &security, &desired.name).await {
            Ok(observed) => observed,
            Err(error) => return failed(ctx, pipeline, error.into(), claimed).await,
        };
        if index == 0 && claim == Claim::Create && observed.is_some() {
            let raced = KafkaAdminError::AlreadyExists {
                topic: desired.name.clone(),
            };
            return failed(ctx, pipeline, raced.into(), false).await;
        }
        let mut partitions = observed.as_ref().map(|o| o.partitions);
        for action in topic::plan(desired, observed.as_ref()) {
            if let TopicAction::RefuseDecrease { name, from, to } = &action {
                if matches!(outcome, TopicOutcome::Ready) {
                    outcome = TopicOutcome::DecreaseRefused {
                        topic: name.clone(),
                        from: *from,
                        to: *to,
                    };
                }
                let note = format!(
                    "topic {name} has {from} partitions; refusing to decrease to {to}: Kafka cannot remove partitions"
                );
                let reason = "PartitionDecreaseNotSupported";
                announce(ctx, pipeline, true, reason, "UpdateTopic", note).await;
                continue;
            }
            match ctx.kafka.apply(brokers, &security, &action).await {
                Ok(()) => {}
                // Someone created the order topic since this reconcile saw none: not ours.
                // Decided again on the retry, against whatever owns it by then.
                Err(error @ KafkaAdminError::AlreadyExists { .. }) if index == 0 && !claimed => {
                    return failed(ctx, pipeline, error.into(), false).await;
                }
                // One of our derived topics, made by another reconcile of ours meanwhile.
                Err(KafkaAdminError::AlreadyExists { .. }) => {}
                Err(error) => return failed(ctx, pipeline, error.into(), claimed).await,
            }
            let (reason, note) = match &action {
                TopicAction::Create(t) => {
                    partitions = Some(t.partitions);
                    let note = format!("created topic {} with {} partitions", t.name, t.partitions);
                    ("TopicCreated", note)
                }
                TopicAction::AddPartitions { name, from, to } => {
                    partitions = Some(*to);
                    let note = format!("topic {name}: {from} → {to} partitions");
                    ("PartitionsAdded", note)
                }
                TopicAction::SetConfig { name, config } => {
                    ("TopicConfigured", format!("topic {name}: set {config:?}"))
                }
                TopicAction::RefuseDecrease { .. } => continue,
            };
            ctx.metrics.topic_actions.with_label_values(&[reason]).inc();
            announce(ctx, pipeline, false, reason, "UpdateTopic", note).await;
        }
        if index == 0 {
            order_partitions = partitions;
            claimed = true;
        }
    }
    if let Err(error) = claim::record(pipeline, ctx, &security, &names, &claim).await {
        return failed(ctx, pipeline, error, claimed).await;
    }
    Checked {
        outcome,
        partitions: order_partitions,
        error: None,
        claimed,
    }
}

/// Tells a failure in an Event and as the outcome, keeping whether the claim held.
async fn failed(
    ctx: &Context,
    pipeline: &CoffeeOrderPipeline,
    error: Error,
    claimed: bool,
) -> Checked {
    let message = error.to_string();
    announce(
        ctx,
        pipeline,
        true,
        error.kind(),
        "UpdateTopic",
        message.clone(),
    )
    .await;
    Checked::failed(error.kind(), message, error, claimed)
}
