//! Bringing Kafka and Kubernetes to what a pipeline asks for, then reporting what is.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::claim;
use super::names::{Workload, topics_of};
use super::on_kafka::{self, Checked};
use super::secret_versions::{self, SecretVersions};
use super::status::{self, Judgement, TopicOutcome};
use super::workloads::{self, Workloads};
use super::{Context, Error, FIELD_MANAGER, announce};
use crate::autoscale::replicas;
use crate::crd::{CoffeeOrderPipeline, CoffeeOrderPipelineStatus};

/// How often a healthy pipeline is looked at again (topic config drift is not watched).
const RESYNC: Duration = Duration::from_secs(60);
/// How soon a pipeline that is not ready yet is looked at again. Its Deployments' status
/// changes trigger a reconcile anyway (they are watched), and failures retry with back-off, so
/// this only bounds how long something unwatched goes unnoticed; at 5 s, 200 pipelines whose
/// consumers were not running cost 40 reconciles a second.
pub(super) const NOT_READY_RESYNC: Duration = Duration::from_secs(30);

pub async fn apply(pipeline: &CoffeeOrderPipeline, ctx: &Context) -> Result<Action, Error> {
    // Before any Secret is read or any broker dialled.
    if let Err(message) = ctx
        .allowed_clusters
        .check(&pipeline.spec.kafka.bootstrap_servers)
    {
        return claim::refused(pipeline, ctx, "KafkaClusterNotAllowed", &message).await;
    }
    let previous = pipeline.status.clone().unwrap_or_default();
    let orders = topics_of(pipeline).orders;
    let checked = check_topics(pipeline, ctx).await?;
    if let TopicOutcome::Conflict { message } = &checked.outcome {
        return claim::refused(pipeline, ctx, "TopicConflict", message).await;
    }
    // Not read back from the cached pipeline alone, which may predate the status write that
    // recorded the claim (and applying without it would drop it).
    let claimed_topic = match checked.claimed {
        true => Some(orders.clone()),
        false => previous.claimed_topic.clone(),
    };
    let owns = claimed_topic.as_deref() == Some(orders.as_str());
    let (topic_outcome, partitions, kafka_error) =
        (checked.outcome, checked.partitions, checked.error);
    let consumer_replicas = replicas::consumer_replicas(
        &pipeline.spec,
        pipeline.status.as_ref(),
        partitions.unwrap_or(pipeline.spec.kafka.partitions),
    );
    let secrets = ctx.secret_versions(pipeline);
    let desired = workloads::build(
        pipeline,
        &ctx.workload_defaults,
        &secrets,
        consumer_replicas,
    )
    .map_err(|source| Error::Build {
        what: "workloads",
        source,
    })?;
    // A topic not (yet) the pipeline's gets no consumers: they would join its owner's group.
    let (producer, consumer) = match owns {
        true => {
            let (producer, consumer) = apply_workloads(pipeline, ctx, desired).await?;
            (Some(producer), Some(consumer))
        }
        false => (None, None),
    };
    let producer_status = status::workload_status(producer.as_ref());
    let consumer_status = status::workload_status(consumer.as_ref());
    let mut judgements: Vec<Judgement> = vec![
        status::topic_condition(&topic_outcome, partitions),
        status::workload_condition(
            "ProducerReady",
            pipeline.spec.producer.replicas,
            &producer_status,
        ),
        status::workload_condition(
            "ConsumerReady",
            consumer
                .as_ref()
                .and_then(|c| c.spec.as_ref()?.replicas)
                .unwrap_or(1),
            &consumer_status,
        ),
    ];
    judgements.insert(0, status::ready_condition(&judgements));
    let ready = judgements[0].ready;
    ctx.metrics.set_pipeline_ready(
        &pipeline.namespace().unwrap_or_default(),
        &pipeline.name_any(),
        ready,
    );
    let new_status = CoffeeOrderPipelineStatus {
        observed_generation: pipeline.meta().generation,
        conditions: status::conditions(
            &judgements,
            &previous.conditions,
            pipeline.meta().generation,
            Time(k8s_openapi::jiff::Timestamp::now()),
        ),
        // Recorded only once claimed: a recorded topic is one a pipeline may take back as its
        // own (see `ownership::decide`).
        topic: if owns {
            Some(orders)
        } else {
            previous.topic.clone()
        },
        claimed_topic,
        partitions: partitions.or(previous.partitions),
        producer: Some(producer_status),
        consumer: Some(consumer_status),
        ..CoffeeOrderPipelineStatus::default()
    };
    if previous
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str())
        != Some(if ready { "True" } else { "False" })
    {
        let note = judgements[0].message.clone();
        announce(
            ctx,
            pipeline,
            false,
            if ready { "Ready" } else { "NotReady" },
            "Reconcile",
            note,
        )
        .await;
    }
    patch_status(pipeline, ctx, &new_status).await?;
    if let Some(error) = kafka_error {
        return Err(error);
    }
    Ok(Action::requeue(if ready {
        RESYNC
    } else {
        NOT_READY_RESYNC
    }))
}

/// The topics as last found, if recently (a check stands for its claim: one is recorded only
/// after its claim held), else checked on Kafka now.
async fn check_topics(pipeline: &CoffeeOrderPipeline, ctx: &Context) -> Result<Checked, Error> {
    if let Some(partitions) = ctx.recent_topics(pipeline) {
        return Ok(Checked {
            outcome: TopicOutcome::Ready,
            partitions: Some(partitions),
            error: None,
            claimed: true,
        });
    }
    refresh_secret_versions(pipeline, ctx).await?;
    let checked = on_kafka::reconcile_topics(pipeline, ctx).await;
    if let (TopicOutcome::Ready, Some(partitions), None) =
        (&checked.outcome, checked.partitions, &checked.error)
    {
        ctx.topics_checked(pipeline, partitions);
    }
    Ok(checked)
}

/// Reads the versions of the Secrets the pipeline's pods read. On failure the last ones read
/// stay; with none read yet (a new leader) the reconcile fails and is retried, since applying
/// the pod templates without them would roll every pod twice.
async fn refresh_secret_versions(
    pipeline: &CoffeeOrderPipeline,
    ctx: &Context,
) -> Result<(), Error> {
    let mut names = secret_versions::read_by(&pipeline.spec, Workload::Producer);
    names.extend(secret_versions::read_by(&pipeline.spec, Workload::Consumer));
    names.sort();
    names.dedup();
    let namespace = pipeline.namespace().unwrap_or_default();
    match SecretVersions::read(&ctx.client, &namespace, &names).await {
        Ok(versions) => ctx.secret_versions_read(pipeline, versions),
        Err(error) if ctx.has_secret_versions(pipeline) => {
            tracing::warn!(pipeline = %pipeline.name_any(), %error, "reading the versions of the pipeline's Secrets; keeping the last ones");
        }
        Err(error) => return Err(error.into()),
    }
    Ok(())
}

/// Server-side applies every workload object, owned by the pipeline; returns both Deployments
/// as the API server has them (with their status).
async fn apply_workloads(
    pipeline: &CoffeeOrderPipeline,
    ctx: &Context,
    desired: Workloads,
) -> Result<(Deployment, Deployment), Error> {
    let namespace = pipeline.namespace().ok_or(Error::NoNamespace)?;
    let owner = pipeline
        .controller_owner_ref(&())
        .ok_or(Error::NoNamespace)?;
    let client = &ctx.client;
    apply_owned(client, &namespace, &owner, desired.producer_account).await?;
    apply_owned(client, &namespace, &owner, desired.consumer_account).await?;
    apply_owned(client, &namespace, &owner, desired.producer_service).await?;
    apply_owned(client, &namespace, &owner, desired.producer_budget).await?;
    apply_owned(client, &namespace, &owner, desired.consumer_budget).await?;
    let producer = apply_owned(client, &namespace, &owner, desired.producer).await?;
    let consumer = apply_owned(client, &namespace, &owner, desired.consumer).await?;
    Ok((producer, consumer))
}

async fn apply_owned<K>(
    client: &kube::Client,
    namespace: &str,
    owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
    mut object: K,
) -> Result<K, Error>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    object.meta_mut().owner_references = Some(vec![owner.clone()]);
    object.meta_mut().namespace = Some(namespace.to_owned());
    let name = object.name_any();
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    Ok(api.patch(&name, &params, &Patch::Apply(&object)).await?)
}

/// Applies the reconciler's part of the status (see [`crate::crd::CoffeeOrderPipelineStatus`]
/// for who owns what): `status` must hold only the reconciler's fields.
pub(super) async fn patch_status(
    pipeline: &CoffeeOrderPipeline,
    ctx: &Context,
    status: &CoffeeOrderPipelineStatus,
) -> Result<(), Error> {
    let namespace = pipeline.namespace().ok_or(Error::NoNamespace)?;
    let api: Api<CoffeeOrderPipeline> = Api::namespaced(ctx.client.clone(), &namespace);
    let body = json!({
        "apiVersion": "coffee-pipeline.io/v1alpha1",
        "kind": "CoffeeOrderPipeline",
        "status": status,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(&pipeline.name_any(), &params, &Patch::Apply(&body))
        .await?;
    Ok(())
}
