//! A deleted pipeline: its Kubernetes objects go with it (owner references); its topics go
//! only with `topicDeletionPolicy: Delete`. While Kafka cannot delete them the finalizer stays,
//! the status says why, and the deletion is retried with back-off.

use kube::runtime::controller::Action;

use super::names::TopicNames;
use super::{Context, Error, announce};
use crate::crd::{CoffeeOrderPipeline, TopicDeletionPolicy};

pub async fn cleanup(pipeline: &CoffeeOrderPipeline, ctx: &Context) -> Result<Action, Error> {
    if pipeline.spec.topic_deletion_policy == TopicDeletionPolicy::Retain {
        return Ok(Action::await_change());
    }
    let names = TopicNames::of(pipeline);
    let topics = [
        names.orders.as_str(),
        names.statuses.as_str(),
        names.dead_letters.as_str(),
    ];
    match ctx
        .kafka
        .delete(&pipeline.spec.kafka.bootstrap_servers, &topics)
        .await
    {
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
                note,
            )
            .await;
            Err(error.into())
        }
    }
}
