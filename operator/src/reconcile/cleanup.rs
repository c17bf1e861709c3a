//! A deleted pipeline: its Kubernetes objects go with it (owner references); its topics go
//! (order, status, dead-letter and control) only with `topicDeletionPolicy: Delete`. While Kafka cannot delete them the finalizer stays,
//! the status says why, and the deletion is retried with back-off.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::apply::patch_status;
use super::names::topics_of;
use super::ownership::Owner;
use super::status::{self, Judgement};
use super::{Context, Error, announce, credentials};
use crate::crd::{CoffeeOrderPipeline, TopicDeletionPolicy};
use crate::owner_record;

pub async fn cleanup(pipeline: &CoffeeOrderPipeline, ctx: &Context) -> Result<Action, Error> {
    ctx.metrics.forget_pipeline(
        &pipeline.namespace().unwrap_or_default(),
        &pipeline.name_any(),
    );
    ctx.forget(pipeline);
    if pipeline.spec.topic_deletion_policy == TopicDeletionPolicy::Retain {
        return Ok(Action::await_change());
    }
    let names = topics_of(pipeline);
    let topics = names.all();
    let claimed = pipeline
        .status
        .as_ref()
        .and_then(|s| s.claimed_topic.as_deref());
    if claimed != Some(names.orders.as_str()) {
        let note = format!(
            "kept topics {}: this pipeline does not own them (topicDeletionPolicy Delete removes only topics a pipeline created or adopted)",
            topics.join(", ")
        );
        announce(ctx, pipeline, true, "TopicsKept", "DeleteTopics", note).await;
        return Ok(Action::await_change());
    }
    let deleted = delete_owned(pipeline, ctx, &names).await;
    match deleted {
        Ok(false) => {
            let note = format!(
                "kept topics {}: their owner record on {} does not name this pipeline",
                topics.join(", "),
                names.control
            );
            announce(ctx, pipeline, true, "TopicsKept", "DeleteTopics", note).await;
            Ok(Action::await_change())
        }
        Ok(true) => {
            announce(
                ctx,
                pipeline,
                false,
                "TopicsDeleted",
                "DeleteTopics",
                format!("deleted topics {}", topics.join(", ")),
            )
            .await;
            Ok(Action::await_change())
        }
        Err(error) => {
            let note = format!(
                "cannot delete the topics yet; the pipeline stays until they are deleted: {error}"
            );
            announce(
                ctx,
                pipeline,
                true,
                "TopicDeletionFailed",
                "DeleteTopics",
                note.clone(),
            )
            .await;
            let mut status = status::owned(&pipeline.status.clone().unwrap_or_default());
            let judgement = Judgement {
                type_: "Ready",
                ready: false,
                reason: "TopicDeletionFailed".to_owned(),
                message: note,
            };
            let mut conditions = status::conditions(
                &[judgement],
                &status.conditions,
                pipeline.meta().generation,
                Time(k8s_openapi::jiff::Timestamp::now()),
            );
            conditions.extend(status.conditions.into_iter().filter(|c| c.type_ != "Ready"));
            status.conditions = conditions;
            patch_status(pipeline, ctx, &status).await?;
            Err(error)
        }
    }
}

/// Deletes the pipeline's topics if their owner record on the broker names it (the status could
/// be stale: a topic is deleted only on the broker's word too); whether it did.
async fn delete_owned(
    pipeline: &CoffeeOrderPipeline,
    ctx: &Context,
    names: &super::names::TopicNames,
) -> Result<bool, Error> {
    let namespace = pipeline.namespace().unwrap_or_default();
    let kafka = &pipeline.spec.kafka;
    let security = credentials::resolve(&ctx.client, &namespace, kafka).await?;
    let brokers = &kafka.bootstrap_servers;
    let record = owner_record::read(brokers, &security, &names.control).await?;
    if record != Some(Owner::of(pipeline)) {
        return Ok(false);
    }
    ctx.kafka.delete(brokers, &security, &names.all()).await?;
    Ok(true)
}
