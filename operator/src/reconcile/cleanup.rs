//! A deleted pipeline: its Kubernetes objects go with it (owner references); its topics go
//! (order, status, dead-letter and control) only with `topicDeletionPolicy: Delete`. While Kafka cannot delete them the finalizer stays,
//! the status says why, and the deletion is retried with back-off.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::apply::patch_status;
use super::names::topics_of;
use super::status::{self, Judgement};
use super::{Context, Error, announce, credentials};
use crate::crd::{CoffeeOrderPipeline, TopicDeletionPolicy};

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
    let namespace = pipeline.namespace().unwrap_or_default();
    let security = credentials::resolve(&ctx.client, &namespace, &pipeline.spec.kafka).await;
    let deleted = match security {
        Ok(security) => ctx
            .kafka
            .delete(&pipeline.spec.kafka.bootstrap_servers, &security, &topics)
            .await
            .map_err(Error::from),
        Err(error) => Err(Error::from(error)),
    };
    match deleted {
        Ok(()) => {
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
