//! The independent check that nothing was lost: a reader of a pipeline's status topic (no
//! consumer group, nothing committed) records every status event, and the ledger compares them
//! with what the load generator saw: the orders acknowledged, the requests refused and the
//! cancels accepted. Used by the demo, the latency benchmark and the chaos suite.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::load::Acknowledged;
use crate::testbed::TestBed;
use coffee_events::status::{OrderStatus, StatusEvent};
use futures::StreamExt;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio::task::JoinHandle;

/// What the status topic said about one order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Entry {
    completed: u32,
    cancelled: u32,
    failed: u32,
    /// Each final event seen, by status and its own time: the consumer writes an outcome Kafka
    /// did not acknowledge again unchanged, so the same pair twice is one outcome written twice
    /// (the first attempt reached the log after all), not a second brew.
    outcomes: Vec<(OrderStatus, i128)>,
    first_completed: Option<SystemTime>,
    /// The order's customer: the load names every request uniquely, so two orders of one
    /// customer are one request published twice.
    customer: String,
}

impl Entry {
    fn finals(&self) -> u32 {
        self.completed + self.cancelled + self.failed
    }
}

/// Every order's status events, as read.
#[derive(Debug, Default)]
pub struct Ledger {
    orders: HashMap<String, Entry>,
    /// Completions in the order they were read: (order id, when it completed).
    completions: Vec<(String, SystemTime)>,
    /// Orders with a final status (completed, cancelled or failed).
    finished: usize,
    undecodable: u64,
    /// Final events read a second time, unchanged.
    repeated_outcomes: u64,
}

/// The verdict on a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Check {
    pub accepted: u64,
    /// Accepted orders with exactly one final status, `completed` (counting cancels too late).
    pub completed_once: u64,
    /// Accepted orders with exactly one final status, `cancelled`, after a cancel the load
    /// asked for.
    pub cancelled_once: u64,
    /// Accepted orders whose cancel was accepted but came too late: they completed.
    pub cancel_too_late: u64,
    /// Accepted orders with more than one final status event (brewed twice, or completed and
    /// cancelled).
    pub completed_twice: u64,
    /// Accepted orders that ended `failed`, or `cancelled` without anyone asking.
    pub failed: u64,
    /// Requests (customer names) that became more than one order.
    pub duplicated_requests: u64,
    /// A few of those, each as the customer and its orders' ids (version 7: they tell when
    /// each order was created), for the investigation.
    pub duplicated_request_examples: Vec<String>,
    /// Requests refused with an answer (4xx/5xx) whose order appears on the status topic anyway.
    pub refused_but_present: u64,
    /// Accepted orders with no final status: lost.
    pub lost: Vec<String>,
    /// Final statuses of orders the load never saw accepted (e.g. a 202 lost on the way back).
    pub unacknowledged: u64,
    /// Status events that did not decode.
    pub undecodable: u64,
    /// Final status events read twice, unchanged: one outcome written twice (at-least-once
    /// delivery of the event), not an order brewed twice. Told, not a failure.
    pub repeated_outcomes: u64,
    /// From each accepted order's request to its completion, sorted. (From the request, not
    /// the `202`: with brew time 0 an order can complete before its answer reaches the client.)
    pub end_to_end: Vec<Duration>,
    /// From each accepted order's request to its `202`, sorted.
    pub intake: Vec<Duration>,
}

impl Check {
    /// Every accepted order completed exactly once, and nothing else went wrong.
    pub fn passed(&self) -> bool {
        self.lost.is_empty()
            && self.completed_twice == 0
            && self.failed == 0
            && self.undecodable == 0
            && self.duplicated_requests == 0
            && self.refused_but_present == 0
            && self.completed_once + self.cancelled_once == self.accepted
    }
}

impl Ledger {
    /// Records a status event; `appended` is when the broker appended it (topics with
    /// `message.timestamp.type=LogAppendTime`), else the event's own time counts.
    pub fn record(&mut self, event: &StatusEvent, appended: Option<SystemTime>) {
        let entry = self.orders.entry(event.order_id.to_string()).or_default();
        if entry.customer.is_empty() {
            entry.customer = event.order.customer_name.to_string();
        }
        if event.status.is_final() {
            let outcome = (event.status, event.at.as_nanosecond());
            if entry.outcomes.contains(&outcome) {
                self.repeated_outcomes += 1;
                return;
            }
            entry.outcomes.push(outcome);
            if entry.finals() == 0 {
                self.finished += 1;
            }
        }
        match event.status {
            OrderStatus::Completed => {
                entry.completed += 1;
                if entry.first_completed.is_none() {
                    let at = appended.unwrap_or_else(|| SystemTime::from(event.at));
                    entry.first_completed = Some(at);
                    self.completions.push((event.order_id.to_string(), at));
                }
            }
            OrderStatus::Cancelled => entry.cancelled += 1,
            OrderStatus::Failed => entry.failed += 1,
            OrderStatus::Pending | OrderStatus::Processing => {}
        }
    }

    pub fn record_undecodable(&mut self) {
        self.undecodable += 1;
    }

    /// Records one message of the status topic as it was read.
    pub fn record_message(&mut self, message: &impl Message) {
        let appended = match message.timestamp() {
            rdkafka::Timestamp::LogAppendTime(ms) => u64::try_from(ms)
                .ok()
                .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms)),
            _ => None,
        };
        match message.payload().map(StatusEvent::decode) {
            Some(Ok(event)) => self.record(&event, appended),
            _ => self.record_undecodable(),
        }
    }

    /// A ledger of everything `topic` holds now, read again from its beginning: where the
    /// followed ledger and this one disagree, the follower missed events.
    pub async fn reread(bed: &TestBed, topic: &str) -> anyhow::Result<Self> {
        let mut ledger = Self::default();
        for message in crate::kafka::read_all(bed, topic, Duration::from_secs(60)).await? {
            ledger.record_message(&message);
        }
        Ok(ledger)
    }

    /// Orders completed so far (each counted once).
    pub fn completed(&self) -> usize {
        self.completions.len()
    }

    /// Orders with a final status so far (each counted once).
    pub fn finished(&self) -> usize {
        self.finished
    }

    /// Completions from the `from`-th on (a reader's cursor), with when they completed.
    pub fn completions_since(&self, from: usize) -> Vec<(String, SystemTime)> {
        self.completions
            .get(from..)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    /// Compares the status events with the acknowledged orders (none cancelled).
    pub fn check(&self, acknowledged: &[Acknowledged]) -> Check {
        self.check_requests(acknowledged, &[], &[])
    }

    /// Compares the status events with all the load saw: the acknowledged orders, the
    /// customer names of the requests `refused` with an answer, and the ids whose cancel was
    /// accepted.
    pub fn check_requests(
        &self,
        acknowledged: &[Acknowledged],
        refused: &[String],
        cancelled: &[String],
    ) -> Check {
        let cancelled: HashSet<&str> = cancelled.iter().map(String::as_str).collect();
        let mut check = Check {
            accepted: acknowledged.len() as u64,
            undecodable: self.undecodable,
            repeated_outcomes: self.repeated_outcomes,
            ..Check::default()
        };
        let mut known = HashSet::with_capacity(acknowledged.len());
        for order in acknowledged {
            known.insert(order.id.as_str());
            check.intake.push(order.latency);
            let entry = self.orders.get(&order.id).cloned().unwrap_or_default();
            let asked = cancelled.contains(order.id.as_str());
            match (entry.finals(), entry.completed, entry.cancelled) {
                (0, _, _) => check.lost.push(order.id.clone()),
                (1, 1, _) if asked => check.cancel_too_late += 1,
                (1, 1, _) => check.completed_once += 1,
                (1, _, 1) if asked => check.cancelled_once += 1,
                (1, _, _) => check.failed += 1,
                _ => check.completed_twice += 1,
            }
            if let Some(done) = entry.first_completed {
                let sent = order.at.checked_sub(order.latency).unwrap_or(order.at);
                check
                    .end_to_end
                    .push(done.duration_since(sent).unwrap_or_default());
            }
        }
        check.completed_once += check.cancel_too_late;
        check.unacknowledged = self
            .orders
            .iter()
            .filter(|(id, e)| e.finals() > 0 && !known.contains(id.as_str()))
            .count() as u64;
        let mut orders_of: HashMap<&str, Vec<&str>> = HashMap::new();
        for (id, entry) in self.orders.iter().filter(|(_, e)| !e.customer.is_empty()) {
            orders_of
                .entry(entry.customer.as_str())
                .or_default()
                .push(id.as_str());
        }
        let mut doubled: Vec<String> = orders_of
            .iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|(customer, ids)| format!("{customer}: {}", ids.join(", ")))
            .collect();
        doubled.sort_unstable();
        check.duplicated_requests = doubled.len() as u64;
        doubled.truncate(5);
        check.duplicated_request_examples = doubled;
        check.refused_but_present = refused
            .iter()
            .filter(|name| orders_of.contains_key(name.as_str()))
            .count() as u64;
        check.end_to_end.sort_unstable();
        check.intake.sort_unstable();
        check
    }
}

/// The `q`-quantile of sorted `values` (nearest rank); `None` when empty.
pub fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Reads `topic` from its beginning into `ledger` until aborted.
pub async fn follow(
    bed: &TestBed,
    topic: &str,
    ledger: Arc<Mutex<Ledger>>,
) -> anyhow::Result<JoinHandle<()>> {
    let consumer: StreamConsumer = crate::kafka::client_config(bed)
        .set("group.id", "coffee-e2e-ledger")
        .set("enable.auto.commit", "false")
        .create()?;
    let partitions = crate::kafka::partition_count(bed, topic).await?;
    let mut list = TopicPartitionList::new();
    for partition in 0..i32::try_from(partitions)? {
        list.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    consumer.assign(&list)?;
    Ok(tokio::spawn(async move {
        let mut stream = consumer.stream();
        while let Some(message) = stream.next().await {
            let Ok(message) = message else { continue };
            ledger
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .record_message(&message);
        }
    }))
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
