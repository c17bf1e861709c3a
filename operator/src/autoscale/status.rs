//! The autoscaler's part of the pipeline status (`consumers`, `lag`, `autoscaling`, and the
//! conditions `Scaling` and `Stalled`), applied with its own field manager so that it never
//! touches the reconciler's fields. A part equal to the last one applied is written again only
//! after [`REFRESH`], so idle pipelines cost the API server nothing per poll.

use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tracing::warn;

use super::policy::Decision;
use super::report;
use super::tracker::Estimates;
use crate::crd::{
    AutoscalingStatus, CoffeeOrderPipeline, CoffeeOrderPipelineStatus, ConsumerSize, PartitionLag,
    ScalingDecision,
};
use crate::reconcile::names::topics_of;
use crate::reconcile::status::{Judgement, conditions};

/// The autoscaler's server-side apply field manager.
pub const FIELD_MANAGER: &str = "coffee-operator-autoscaler";
/// How long an unchanged part goes without being written again (it refreshes `observedTime`).
const REFRESH: Duration = Duration::from_secs(60);

/// What a poll has to report.
pub struct Written<'a> {
    pub estimates: &'a Estimates,
    pub decision: &'a Decision,
    pub running: ConsumerSize,
    pub last_decision: Option<&'a ScalingDecision>,
    pub last_pod_change: Option<&'a Time>,
}

/// The autoscaler's part, before conditions are stamped with times.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    consumers: String,
    lag: Option<i64>,
    autoscaling: Option<AutoscalingStatus>,
    judgements: Vec<Judgement>,
}

/// Writes the part and remembers what it wrote last.
#[derive(Default)]
pub struct StatusWriter {
    last: Option<(Part, Instant)>,
}

impl StatusWriter {
    /// Writes what a poll found; returns the stalled partitions when they changed.
    pub async fn write_poll(
        &mut self,
        client: &Client,
        pipeline: &CoffeeOrderPipeline,
        written: &Written<'_>,
    ) -> Option<Vec<i32>> {
        let spec = &pipeline.spec.autoscaling;
        let estimates = written.estimates;
        let decision = written.decision;
        let rate = |r: Option<f64>| r.map(|r| (r * 10.0).round() / 10.0);
        let autoscaling = AutoscalingStatus {
            mode: spec.mode,
            observed_time: Some(Time(k8s_openapi::jiff::Timestamp::now())),
            lag: estimates.total_lag,
            worst_partition: estimates
                .worst
                .map(|(partition, lag)| PartitionLag { partition, lag }),
            arrival_rate: rate(estimates.arrival_rate),
            processing_rate: rate(estimates.processing_rate),
            per_worker_rate: rate(estimates.per_worker_rate),
            current: written.running,
            desired: decision.to,
            time_to_drain_seconds: decision.drain_seconds.map(|s| s.ceil() as i64),
            stalled_partitions: estimates.stalled.clone(),
            last_decision: written.last_decision.cloned(),
            last_pod_change_time: written.last_pod_change.cloned(),
        };
        let group = topics_of(pipeline).group();
        let part = Part {
            consumers: written.running.to_string(),
            lag: Some(estimates.total_lag),
            autoscaling: Some(autoscaling),
            judgements: vec![
                report::scaling_condition(spec.mode, Some(decision), written.running, None),
                report::stalled_condition(&estimates.stalled, spec.stall_polls, &group),
            ],
        };
        let before = self.stalled();
        self.write(client, pipeline, part).await;
        let after = self.stalled();
        (before != after).then_some(after)
    }

    /// Writes that autoscaling is off: the consumers run their minimum.
    pub async fn write_off(&mut self, client: &Client, pipeline: &CoffeeOrderPipeline) {
        let ready = pipeline
            .status
            .as_ref()
            .and_then(|s| s.consumer.as_ref())
            .map_or(0, |c| c.ready_replicas);
        let running = ConsumerSize {
            pods: ready,
            workers: pipeline.spec.consumer.workers.min,
        };
        let part = Part {
            consumers: running.to_string(),
            lag: None,
            autoscaling: None,
            judgements: vec![report::scaling_condition(
                pipeline.spec.autoscaling.mode,
                None,
                running,
                None,
            )],
        };
        self.write(client, pipeline, part).await;
    }

    /// Writes why the autoscaler cannot decide now, keeping the figures last written.
    pub async fn write_problem(
        &mut self,
        client: &Client,
        pipeline: &CoffeeOrderPipeline,
        (reason, message): (&str, String),
    ) {
        // Before the first poll of this process, keep what an earlier one recorded: applying
        // without a field this manager owns would delete it, and with it the decision.
        let mut part = self.last.as_ref().map_or_else(
            || recorded(pipeline.status.as_ref()),
            |(part, _)| part.clone(),
        );
        let mode = pipeline.spec.autoscaling.mode;
        let scaling =
            report::scaling_condition(mode, None, ConsumerSize::default(), Some((reason, message)));
        part.judgements.retain(|j| j.type_ != "Scaling");
        part.judgements.insert(0, scaling);
        self.write(client, pipeline, part).await;
    }

    fn stalled(&self) -> Vec<i32> {
        self.last
            .as_ref()
            .and_then(|(part, _)| part.autoscaling.as_ref())
            .map(|a| a.stalled_partitions.clone())
            .unwrap_or_default()
    }

    async fn write(&mut self, client: &Client, pipeline: &CoffeeOrderPipeline, part: Part) {
        let unchanged = self.last.as_ref().is_some_and(|(last, at)| {
            at.elapsed() < REFRESH && without_time(last) == without_time(&part)
        });
        if unchanged {
            return;
        }
        let previous = pipeline
            .status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default();
        let status = CoffeeOrderPipelineStatus {
            consumers: (!part.consumers.is_empty()).then(|| part.consumers.clone()),
            lag: part.lag,
            autoscaling: part.autoscaling.clone(),
            conditions: conditions(
                &part.judgements,
                previous,
                pipeline.metadata.generation,
                Time(k8s_openapi::jiff::Timestamp::now()),
            ),
            ..CoffeeOrderPipelineStatus::default()
        };
        let body = json!({
            "apiVersion": "coffee-pipeline.io/v1alpha1",
            "kind": "CoffeeOrderPipeline",
            "status": status,
        });
        let api: Api<CoffeeOrderPipeline> =
            Api::namespaced(client.clone(), &pipeline.namespace().unwrap_or_default());
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match api
            .patch_status(&pipeline.name_any(), &params, &Patch::Apply(&body))
            .await
        {
            Ok(_) => self.last = Some((part, Instant::now())),
            Err(error) => {
                warn!(pipeline = %pipeline.name_any(), %error, "writing the autoscaling status")
            }
        }
    }
}

/// The autoscaler's part as the status holds it.
fn recorded(status: Option<&CoffeeOrderPipelineStatus>) -> Part {
    let judgement = |type_: &'static str| {
        status?
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .map(|c| Judgement {
                type_,
                ready: c.status == "True",
                reason: c.reason.clone(),
                message: c.message.clone(),
            })
    };
    Part {
        consumers: status.and_then(|s| s.consumers.clone()).unwrap_or_default(),
        lag: status.and_then(|s| s.lag),
        autoscaling: status.and_then(|s| s.autoscaling.clone()),
        judgements: ["Scaling", "Stalled"]
            .into_iter()
            .filter_map(judgement)
            .collect(),
    }
}

fn without_time(part: &Part) -> Part {
    let mut part = part.clone();
    if let Some(autoscaling) = part.autoscaling.as_mut() {
        autoscaling.observed_time = None;
    }
    part
}
