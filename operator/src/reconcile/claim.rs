//! Claiming a pipeline's order topic: whether it may create, adopt or use it (decided by
//! [`super::ownership`] from what Kafka shows), recording the claim on the broker, and what a
//! pipeline whose topic is another's shows instead of running.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::apply::{NOT_READY_RESYNC, patch_status};
use super::names::{TopicNames, topics_of};
use super::ownership::{self, Claim, Owner};
use super::status::{self, Judgement};
use super::{Context, Error, announce};
use crate::crd::CoffeeOrderPipeline;
use crate::owner_record;

/// Whether the order topic `topic` is the pipeline's to create, adopt or use: read from Kafka
/// only while the status does not already record it as claimed.
pub(super) async fn claim(
    pipeline: &CoffeeOrderPipeline,
    ctx: &Context,
    security: &coffee_kafka::security::Security,
    topic: &str,
) -> Result<Claim, Error> {
    let claimed = ownership::decide(pipeline, topic, true, None);
    if claimed == Claim::Owned {
        return Ok(claimed);
    }
    let brokers = &pipeline.spec.kafka.bootstrap_servers;
    let exists = ctx.kafka.observe(brokers, security, topic).await?.is_some();
    let record = match exists {
        true => owner_record::read(brokers, security, &topics_of(pipeline).control).await?,
        false => None,
    };
    Ok(ownership::decide(pipeline, topic, exists, record.as_ref()))
}

/// The pipeline may not run here (its order topic is another's, or its Kafka cluster is not
/// allowed): its status says why with `reason`, and no workload runs (its consumers would join
/// another team's group, or dial a cluster they may not).
pub(super) async fn refused(
    pipeline: &CoffeeOrderPipeline,
    ctx: &Context,
    reason: &str,
    message: &str,
) -> Result<Action, Error> {
    let previous = pipeline.status.clone().unwrap_or_default();
    let ready = previous.conditions.iter().find(|c| c.type_ == "Ready");
    // Told once, when it starts (the pipeline is looked at again every 30 s).
    if ready.is_none_or(|c| c.reason != reason || c.message != message) {
        announce(ctx, pipeline, true, reason, "Reconcile", message.to_owned()).await;
    }
    let judgement = |type_| Judgement {
        type_,
        ready: false,
        reason: reason.to_owned(),
        message: message.to_owned(),
    };
    let mut status = status::owned(&previous);
    status.observed_generation = pipeline.meta().generation;
    status.conditions = status::conditions(
        &[judgement("Ready"), judgement("TopicReady")],
        &previous.conditions,
        pipeline.meta().generation,
        Time(k8s_openapi::jiff::Timestamp::now()),
    );
    ctx.metrics.set_pipeline_ready(
        &pipeline.namespace().unwrap_or_default(),
        &pipeline.name_any(),
        false,
    );
    patch_status(pipeline, ctx, &status).await?;
    Ok(Action::requeue(NOT_READY_RESYNC))
}

/// Records a new claim (a creation or an adoption) on the broker, with an Event for an
/// adoption; nothing for a topic already owned.
pub(super) async fn record(
    pipeline: &CoffeeOrderPipeline,
    ctx: &Context,
    security: &coffee_kafka::security::Security,
    names: &TopicNames,
    claim: &Claim,
) -> Result<(), Error> {
    if !matches!(claim, Claim::Create | Claim::Adopt { .. }) {
        return Ok(());
    }
    let brokers = &pipeline.spec.kafka.bootstrap_servers;
    owner_record::write(brokers, security, &names.control, &Owner::of(pipeline)).await?;
    if let Claim::Adopt { why } = claim {
        let note = format!("adopted existing topic {} ({why})", names.orders);
        announce(ctx, pipeline, false, "TopicAdopted", "ClaimTopic", note).await;
    }
    Ok(())
}
