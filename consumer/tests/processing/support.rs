//! Topics of a test's own, order events written as the producer writes them, a consumer
//! process, and reading back what it wrote.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use coffee_events::headers;
use coffee_events::order::{OrderDetails, OrderEvent};
use coffee_events::status::{OrderStatus, StatusEvent};
use e2e::fixtures::unique_name;
use e2e::kafka::{admin, client_config, create_topic, read_all};
use e2e::poll::eventually;
use e2e::process::ServiceProcess;
use e2e::testbed::TestBed;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use uuid::Uuid;

/// The consumer's four topics, unique to one test.
#[derive(Debug, Clone)]
pub struct Topics {
    pub orders: String,
    pub statuses: String,
    pub dead_letters: String,
    pub control: String,
    pub group: String,
}

impl Topics {
    pub async fn create(bed: &TestBed, prefix: &str, partitions: i32) -> anyhow::Result<Self> {
        let admin = admin(bed).await?;
        let orders = unique_name(&format!("{prefix}-orders"));
        let topics = Self {
            statuses: format!("{orders}-status"),
            dead_letters: format!("{orders}-dead-letters"),
            control: format!("{orders}-control"),
            group: format!("{orders}-processor"),
            orders,
        };
        let compact = [("cleanup.policy", "compact")];
        create_topic(&admin, &topics.orders, partitions, &[]).await?;
        create_topic(&admin, &topics.statuses, partitions, &compact).await?;
        create_topic(&admin, &topics.dead_letters, 1, &[]).await?;
        create_topic(&admin, &topics.control, 1, &compact).await?;
        Ok(topics)
    }
}

/// Writes order events keyed by order id, with the producer's headers.
pub struct OrderWriter {
    producer: FutureProducer,
    topic: String,
}

pub fn order(customer: &str, coffee: &str) -> (Uuid, OrderDetails) {
    (
        Uuid::now_v7(),
        OrderDetails {
            customer_name: customer.to_owned(),
            coffee_type: coffee.to_owned(),
            created_at: jiff::Timestamp::now(),
        },
    )
}

impl OrderWriter {
    pub fn new(bed: &TestBed, topics: &Topics) -> anyhow::Result<Self> {
        Ok(Self {
            producer: client_config(bed)
                .set("linger.ms", "5")
                .set("enable.idempotence", "true")
                .create()?,
            topic: topics.orders.clone(),
        })
    }

    pub async fn create(&self, id: Uuid, details: &OrderDetails) -> anyhow::Result<()> {
        let event = OrderEvent::OrderCreated {
            order_id: id,
            order: details.clone(),
            idempotency_key: None,
        };
        self.event(&event).await
    }

    /// Creates an order as a traced HTTP request would: with a `traceparent` header.
    pub async fn create_traced(
        &self,
        id: Uuid,
        details: &OrderDetails,
        traceparent: &str,
    ) -> anyhow::Result<()> {
        let event = OrderEvent::OrderCreated {
            order_id: id,
            order: details.clone(),
            idempotency_key: None,
        };
        self.write(&event, Some(traceparent)).await
    }

    pub async fn cancel(&self, id: Uuid) -> anyhow::Result<()> {
        let event = OrderEvent::OrderCancelRequested {
            order_id: id,
            requested_at: jiff::Timestamp::now(),
        };
        self.event(&event).await
    }

    async fn event(&self, event: &OrderEvent) -> anyhow::Result<()> {
        self.write(event, None).await
    }

    async fn write(&self, event: &OrderEvent, traceparent: Option<&str>) -> anyhow::Result<()> {
        let key = event.order_id().to_string();
        let body = event.encode();
        let mut record_headers = OwnedHeaders::new().insert(Header {
            key: headers::EVENT_TYPE,
            value: Some(event.event_type()),
        });
        if let Some(traceparent) = traceparent {
            record_headers = record_headers.insert(Header {
                key: headers::TRACEPARENT,
                value: Some(traceparent),
            });
        }
        let record = FutureRecord::to(&self.topic)
            .key(&key)
            .payload(&body)
            .headers(record_headers);
        self.producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| anyhow::anyhow!("writing an order event: {e}"))?;
        Ok(())
    }

    /// Writes many creates concurrently (batched by librdkafka) and waits for all.
    pub async fn create_many(&self, orders: &[(Uuid, OrderDetails)]) -> anyhow::Result<()> {
        for chunk in orders.chunks(500) {
            let sends = chunk.iter().map(|(id, details)| self.create(*id, details));
            for result in futures::future::join_all(sends).await {
                result?;
            }
        }
        self.producer.flush(Duration::from_secs(10))?;
        Ok(())
    }
}

/// Sets the worker count of `topics.group` through the control topic.
pub async fn set_workers(bed: &TestBed, topics: &Topics, workers: u32) -> anyhow::Result<()> {
    let producer: FutureProducer = client_config(bed).create()?;
    let body = format!("{{\"workers\": {workers}}}");
    producer
        .send(
            FutureRecord::to(&topics.control)
                .key(&topics.group)
                .payload(&body),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| anyhow::anyhow!("writing a control record: {e}"))?;
    Ok(())
}

/// Many orders of every menu coffee.
pub fn menu_orders(count: usize) -> Vec<(Uuid, OrderDetails)> {
    let menu = coffee_events::menu::MENU;
    (0..count)
        .map(|i| order(&format!("customer {i}"), menu[i % menu.len()].name))
        .collect()
}

/// A running `coffee-consumer`; [`ServiceProcess`]'s methods apply.
#[derive(Debug)]
pub struct ConsumerProcess(ServiceProcess);

impl std::ops::Deref for ConsumerProcess {
    type Target = ServiceProcess;
    fn deref(&self) -> &ServiceProcess {
        &self.0
    }
}

impl std::ops::DerefMut for ConsumerProcess {
    fn deref_mut(&mut self) -> &mut ServiceProcess {
        &mut self.0
    }
}

impl ConsumerProcess {
    /// Starts the binary and waits until it has joined the group.
    pub async fn start(
        bed: &TestBed,
        topics: &Topics,
        extra_args: &[&str],
    ) -> anyhow::Result<Self> {
        let binary = Path::new(env!("CARGO_BIN_EXE_coffee-consumer"));
        let mut process =
            ServiceProcess::spawn(bed, binary, "consumer-tests", &topics.orders, |c| {
                c.args(["--bind-address", "127.0.0.1"])
                    .args(["--kafka-brokers", &bed.kafka_bootstrap_servers])
                    .args(["--kafka-topic", &topics.orders])
                    .args(["--status-topic", &topics.statuses])
                    .args(extra_args)
                    .env("COMMIT_INTERVAL_MS", "200")
                    .env("KAFKA_SESSION_TIMEOUT_MS", "6000")
                    .env("RUST_LOG", "info");
            })?;
        process
            .wait_for("/readyz", 200, Duration::from_secs(45))
            .await?;
        Ok(Self(process))
    }

    pub async fn workers(&self) -> anyhow::Result<serde_json::Value> {
        Ok(reqwest::get(format!("{}/workers", self.base))
            .await?
            .json()
            .await?)
    }

    /// SIGKILL: no chance to commit or leave the group.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.0.kill().await
    }

    /// SIGTERM, then the exit status.
    pub async fn terminate(mut self) -> anyhow::Result<ExitStatus> {
        self.0.terminate().await
    }
}

/// Every status event written so far, in topic order per order.
pub async fn statuses(
    bed: &TestBed,
    topics: &Topics,
) -> anyhow::Result<HashMap<Uuid, Vec<OrderStatus>>> {
    let mut by_order: HashMap<Uuid, Vec<OrderStatus>> = HashMap::new();
    for message in read_all(bed, &topics.statuses, Duration::from_secs(30)).await? {
        let event = StatusEvent::decode(message.payload().unwrap_or_default())?;
        by_order
            .entry(event.order_id)
            .or_default()
            .push(event.status);
    }
    Ok(by_order)
}

/// The ids of `orders`.
pub fn ids(orders: &[(Uuid, OrderDetails)]) -> Vec<Uuid> {
    orders.iter().map(|(id, _)| *id).collect()
}

/// Waits until every order in `ids` has a final status; returns all statuses. A timeout says
/// what `consumer` logged by then (its tail read at the failure, not when the wait began).
pub async fn wait_until_final(
    bed: &TestBed,
    topics: &Topics,
    ids: &[Uuid],
    timeout: Duration,
    consumer: &ServiceProcess,
) -> anyhow::Result<HashMap<Uuid, Vec<OrderStatus>>> {
    eventually("every order to reach a final status", timeout, || async {
        let all = statuses(bed, topics).await.map_err(|e| e.to_string())?;
        let open = ids
            .iter()
            .filter(|id| !all.get(id).is_some_and(|s| s.iter().any(|s| s.is_final())))
            .count();
        if open == 0 {
            Ok(all)
        } else {
            Err(format!("{open} of {} orders not finished", ids.len()))
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n{}", consumer.log_tail()))
}

/// Every message of the dead-letter topic.
pub async fn dead_letters(bed: &TestBed, topics: &Topics) -> anyhow::Result<Vec<OwnedMessage>> {
    Ok(read_all(bed, &topics.dead_letters, Duration::from_secs(30)).await?)
}

/// The group's committed offset per partition of the order topic (absent: nothing committed).
pub fn committed(
    bed: &TestBed,
    topics: &Topics,
    partitions: i32,
) -> anyhow::Result<HashMap<i32, i64>> {
    let consumer: BaseConsumer = client_config(bed).set("group.id", &topics.group).create()?;
    let mut list = rdkafka::TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition(&topics.orders, partition);
    }
    let committed = consumer.committed_offsets(list, Duration::from_secs(10))?;
    Ok(committed
        .elements()
        .iter()
        .filter_map(|e| {
            e.offset()
                .to_raw()
                .filter(|o| *o >= 0)
                .map(|o| (e.partition(), o))
        })
        .collect())
}

/// Waits until at least `count` orders are completed.
pub async fn wait_for_completions(bed: &TestBed, topics: &Topics, count: usize, log: &str) {
    eventually(
        &format!("{count} completions"),
        Duration::from_secs(60),
        || async {
            let all = statuses(bed, topics).await.map_err(|e| e.to_string())?;
            let done = all
                .values()
                .filter(|s| s.iter().any(|s| s.is_final()))
                .count();
            if done >= count {
                Ok(())
            } else {
                Err(format!("{done} completed"))
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{log}"));
}

/// Fails the test, with `log`, unless every order in `ids` has exactly one `completed` event.
pub fn assert_each_completed_once(all: &HashMap<Uuid, Vec<OrderStatus>>, ids: &[Uuid], log: &str) {
    let not_once: Vec<_> = ids.iter().filter(|id| completions(all, id) != 1).collect();
    assert!(
        not_once.is_empty(),
        "{} orders not completed exactly once, e.g. {:?}\n{log}",
        not_once.len(),
        not_once.first(),
    );
}

/// How many `completed` events each order has.
pub fn completions(all: &HashMap<Uuid, Vec<OrderStatus>>, id: &Uuid) -> usize {
    all.get(id).map_or(0, |s| {
        s.iter().filter(|s| **s == OrderStatus::Completed).count()
    })
}

/// Each order's distinct final outcomes on the status topic: (status, the event's own time).
/// The consumer writes an outcome Kafka did not acknowledge again unchanged, so one outcome
/// read twice is one entry; a second brew is a second.
pub async fn final_outcomes(
    bed: &TestBed,
    topics: &Topics,
) -> anyhow::Result<HashMap<Uuid, Vec<(OrderStatus, jiff::Timestamp)>>> {
    let mut by_order: HashMap<Uuid, Vec<(OrderStatus, jiff::Timestamp)>> = HashMap::new();
    for message in read_all(bed, &topics.statuses, Duration::from_secs(30)).await? {
        let event = StatusEvent::decode(message.payload().unwrap_or_default())?;
        if event.status.is_final() {
            let outcomes = by_order.entry(event.order_id).or_default();
            if !outcomes.contains(&(event.status, event.at)) {
                outcomes.push((event.status, event.at));
            }
        }
    }
    Ok(by_order)
}
