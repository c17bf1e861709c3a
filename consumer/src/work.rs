//! One worker's handling of one order: decide (see [`crate::plan`]), brew without blocking a
//! thread, and hand the outcome to the outbox. The order's offset finishes when Kafka has the
//! outcome.

use std::sync::Arc;
use std::time::{Duration, Instant};

use coffee_events::order::OrderEvent;
use coffee_events::status::{OrderStatus, StatusEvent};
use tracing::{Instrument, debug, info_span};

use crate::brew::BrewTimer;
use crate::outbox::{DeadLetter, Delivery, Outbox, Outcome, order_key};
use crate::plan::{FailReason, Plan, Taken, plan};
use crate::schedule::Started;
use crate::state::{Job, Shared};

/// What every worker needs.
pub struct Context {
    pub shared: Arc<Shared>,
    pub outbox: Outbox,
    pub order_topic: String,
    pub brew_unit: Duration,
}

impl Context {
    /// Begins one started job and carries out its plan, brewing on the worker's own `timer`; a
    /// cancel that came before it began makes it a cancellation.
    pub async fn process(
        &self,
        started: Started<Job>,
        already_finished: bool,
        timer: &mut BrewTimer,
    ) {
        let cancelled = !started.begin();
        let Started { mut job, .. } = started;
        job.cancelled |= cancelled;
        let span = info_span!(
            "ProcessOrder",
            order_id = %job.order_id,
            partition = job.source.partition,
            offset = job.source.offset,
        );
        if !span.is_disabled() {
            let trace: Vec<(&str, &str)> = job
                .trace
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            coffee_telemetry::propagation::continue_trace(&span, &trace);
        }
        let began = Instant::now();
        let key = job.order_id;
        self.carry_out(job, already_finished, timer)
            .instrument(span)
            .await;
        self.shared
            .metrics
            .processing_duration
            .observe(began.elapsed().as_secs_f64());
        let next_ready = self.shared.lock().scheduler.finish(key);
        if next_ready {
            self.shared.work.notify_one();
        }
    }

    /// Decides and carries out; the order counts as finished (for redeliveries) once Kafka has
    /// its outcome (see [`crate::outbox`]).
    async fn carry_out(&self, job: Job, already_finished: bool, timer: &mut BrewTimer) {
        // A job a worker took before its partition was revoked is left to the next owner: its
        // `processing` written after the next owner's outcome would be the order's last status,
        // all the compacted status topic keeps of it.
        if !self.shared.lock().owns(&job.source) {
            debug!("the partition moved on before brewing began; its next owner decides the order");
            return;
        }
        let decision = plan(
            Taken {
                coffee_type: &job.order.coffee_type,
                cancelled: job.cancelled,
                already_finished,
            },
            self.brew_unit,
        );
        let metrics = &self.shared.metrics;
        match decision {
            Plan::Skip => {
                self.shared.finish(job.source);
                metrics
                    .orders_processed
                    .with_label_values(&["duplicate"])
                    .inc();
                debug!("already finished; not brewed again");
            }
            Plan::Cancel => {
                let written = self
                    .conclude(
                        job,
                        OrderStatus::Cancelled,
                        Some("cancelled before brewing"),
                    )
                    .await;
                if written {
                    metrics
                        .orders_processed
                        .with_label_values(&["cancelled"])
                        .inc();
                }
            }
            Plan::Brew(duration) => {
                if !duration.is_zero() {
                    let event = status_event(&job, OrderStatus::Processing, None);
                    self.outbox
                        .status(&event, &trace_of(&job), Delivery::Untracked)
                        .await;
                    timer.brew(duration).await;
                }
                metrics.brew_duration.observe(duration.as_secs_f64());
                if self.conclude(job, OrderStatus::Completed, None).await {
                    metrics
                        .orders_processed
                        .with_label_values(&["completed"])
                        .inc();
                }
            }
            Plan::Fail(reason) => {
                if self.fail(job, reason).await {
                    metrics
                        .orders_processed
                        .with_label_values(&["failed"])
                        .inc();
                }
            }
        }
    }

    /// Writes the final status, unless the partition moved on (returns whether it was handed
    /// to Kafka); the offset finishes when it is acknowledged.
    async fn conclude(&self, job: Job, status: OrderStatus, reason: Option<&str>) -> bool {
        let outcome = Outcome {
            event: status_event(&job, status, reason),
            trace: trace_of(&job),
            source: job.source,
            failed_attempts: 0,
        };
        self.outbox.conclude(Box::new(outcome)).await
    }

    /// Dead-letters the order (its offset finishes when the dead letter is acknowledged) and
    /// announces it as failed, unless the partition moved on (returns whether it did).
    async fn fail(&self, job: Job, reason: FailReason) -> bool {
        let event = OrderEvent::OrderCreated {
            order_id: job.order_id,
            order: job.order.clone(),
            idempotency_key: None,
        };
        let detail = match reason {
            FailReason::UnknownCoffee => format!("{:?} is not on the menu", job.order.coffee_type),
        };
        let status = status_event(&job, OrderStatus::Failed, Some(&detail));
        let letter = DeadLetter {
            key: Some(order_key(job.order_id).into_bytes()),
            payload: event.encode(),
            original_headers: job
                .trace
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                .collect(),
            reason: reason.as_str(),
            detail,
            topic: self.order_topic.clone(),
            source: job.source,
            failed_attempts: 0,
            payload_omitted: false,
        };
        if !self.outbox.dead_letter(Box::new(letter)).await {
            return false;
        }
        self.shared
            .metrics
            .dead_letters
            .with_label_values(&[reason.as_str()])
            .inc();
        self.outbox
            .status(&status, &trace_of(&job), Delivery::Untracked)
            .await;
        true
    }
}

/// Trace headers for a job's status events: the current `ProcessOrder` span's, so that they
/// continue the order's trace as children of its processing; the order's own if spans are off.
fn trace_of(job: &Job) -> Vec<(String, String)> {
    let current = coffee_telemetry::propagation::headers_of(&tracing::Span::current());
    if current.is_empty() {
        job.trace.clone()
    } else {
        current
    }
}

fn status_event(job: &Job, status: OrderStatus, reason: Option<&str>) -> StatusEvent {
    StatusEvent {
        order_id: job.order_id,
        status,
        at: jiff::Timestamp::now(),
        order: job.order.clone(),
        reason: reason.map(str::to_owned),
    }
}
