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
use super::ownership::Claim;
use super::secret_versions::{self, SecretVersions};
use super::status::{self, Judgement, TopicOutcome};
use super::topic::{self, TopicAction};
use super::workloads::{self, Workloads};
use super::{Context, Error, FIELD_MANAGER, announce, credentials};
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
    let mut claimed_topic = previous.claimed_topic.clone();
    // Claimed once the topics were found as desired: a check is recorded only after its claim
    // held. Not read back from the cached pipeline alone, which may predate the status write
    // that recorded the claim (and applying without it would drop it).
    let (topic_outcome, partitions, kafka_error) = match ctx.recent_topics(pipeline) {
        Some(partitions) => {
            claimed_topic = Some(topics_of(pipeline).orders);
            (TopicOutcome::Ready, Some(partitions), None)
        }
        None => {
            refresh_secret_versions(pipeline, ctx).await;
            let checked = reconcile_topics(pipeline, ctx).await;
            if let (TopicOutcome::Ready, Some(partitions), None) = &checked {
                ctx.topics_checked(pipeline, *partitions);
                claimed_topic = Some(topics_of(pipeline).orders);
            }
            checked
        }
    };
    if let TopicOutcome::Conflict { message } = &topic_outcome {
        return claim::refused(pipeline, ctx, "TopicConflict", message).await;
    }
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
    let (producer, consumer) = apply_workloads(pipeline, ctx, desired).await?;

    let producer_status = status::workload_status(Some(&producer));
    let consumer_status = status::workload_status(Some(&consumer));
    let mut judgements: Vec<Judgement> = vec![
        status::topic_condition(&topic_outcome, partitions),
        status::workload_condition(
            "ProducerReady",
            pipeline.spec.producer.replicas,
            &producer_status,
        ),
        status::workload_condition(
            "ConsumerReady",
            consumer.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
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
        topic: Some(topics_of(pipeline).orders),
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

/// Reads the versions of the Secrets the pipeline's pods read; on failure the last ones read
/// stay (the next topic check tries again).
async fn refresh_secret_versions(pipeline: &CoffeeOrderPipeline, ctx: &Context) {
    let mut names = secret_versions::read_by(&pipeline.spec, Workload::Producer);
    names.extend(secret_versions::read_by(&pipeline.spec, Workload::Consumer));
    names.sort();
    names.dedup();
    let namespace = pipeline.namespace().unwrap_or_default();
    match SecretVersions::read(&ctx.client, &namespace, &names).await {
        Ok(versions) => ctx.secret_versions_read(pipeline, versions),
        Err(error) => {
            tracing::warn!(pipeline = %pipeline.name_any(), %error, "reading the versions of the pipeline's Secrets")
        }
    }
}

/// Creates, grows and configures the three topics; returns the outcome for `TopicReady`, the
/// order topic's partitions, and the error to retry on.
async fn reconcile_topics(
    pipeline: &CoffeeOrderPipeline,
    ctx: &Context,
) -> (TopicOutcome, Option<i32>, Option<Error>) {
    let brokers = &pipeline.spec.kafka.bootstrap_servers;
    let namespace = pipeline.namespace().unwrap_or_default();
    let security = match credentials::resolve(&ctx.client, &namespace, &pipeline.spec.kafka).await {
        Ok(security) => security,
        Err(error) => {
            let message = error.to_string();
            announce(
                ctx,
                pipeline,
                true,
                "KafkaCredentialsUnavailable",
                "UpdateTopic",
                message.clone(),
            )
            .await;
            let outcome = TopicOutcome::Failed {
                reason: "KafkaCredentialsUnavailable".to_owned(),
                message,
            };
            return (outcome, None, Some(error.into()));
        }
    };
    let names = topics_of(pipeline);
    let claim = match claim::claim(pipeline, ctx, &security, &names.orders).await {
        Ok(claim) => claim,
        Err(Error::Kafka(error)) => return failed(ctx, pipeline, error).await,
        Err(error) => {
            let message = error.to_string();
            announce(
                ctx,
                pipeline,
                true,
                error.kind(),
                "ClaimTopic",
                message.clone(),
            )
            .await;
            let outcome = TopicOutcome::Failed {
                reason: error.kind().to_owned(),
                message,
            };
            return (outcome, None, Some(error));
        }
    };
    if let Claim::Conflict { message } = claim {
        return (TopicOutcome::Conflict { message }, None, None);
    }
    let mut outcome = TopicOutcome::Ready;
    let mut order_partitions = None;
    for (index, desired) in topic::desired(pipeline).iter().enumerate() {
        let observed = match ctx.kafka.observe(brokers, &security, &desired.name).await {
            Ok(observed) => observed,
            Err(error) => return failed(ctx, pipeline, error).await,
        };
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
                announce(
                    ctx,
                    pipeline,
                    true,
                    "PartitionDecreaseNotSupported",
                    "UpdateTopic",
                    note,
                )
                .await;
                continue;
            }
            if let Err(error) = ctx.kafka.apply(brokers, &security, &action).await {
                return failed(ctx, pipeline, error).await;
            }
            let (reason, note) = match &action {
                TopicAction::Create(t) => {
                    partitions = Some(t.partitions);
                    (
                        "TopicCreated",
                        format!("created topic {} with {} partitions", t.name, t.partitions),
                    )
                }
                TopicAction::AddPartitions { name, from, to } => {
                    partitions = Some(*to);
                    (
                        "PartitionsAdded",
                        format!("topic {name}: {from} → {to} partitions"),
                    )
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
        }
    }
    if let Err(error) = claim::record(pipeline, ctx, &security, &names, &claim).await {
        let message = error.to_string();
        announce(
            ctx,
            pipeline,
            true,
            error.kind(),
            "ClaimTopic",
            message.clone(),
        )
        .await;
        let outcome = TopicOutcome::Failed {
            reason: error.kind().to_owned(),
            message,
        };
        return (outcome, None, Some(error));
    }
    (outcome, order_partitions, None)
}

async fn failed(
    ctx: &Context,
    pipeline: &CoffeeOrderPipeline,
    error: crate::kafka::KafkaAdminError,
) -> (TopicOutcome, Option<i32>, Option<Error>) {
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
    let outcome = TopicOutcome::Failed {
        reason: error.kind().to_owned(),
        message,
    };
    (outcome, None, Some(error.into()))
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
