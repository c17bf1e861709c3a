//! A producer process with topics of its own, and ways to talk to it.

use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use anyhow::Context;
use coffee_events::order::OrderDetails;
use coffee_events::status::{OrderStatus, StatusEvent};
use e2e::fixtures::unique_name;
use e2e::kafka::{admin, client_config, create_topic};
use e2e::process::ServiceProcess;
use e2e::testbed::TestBed;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use uuid::Uuid;

/// An order topic (3 partitions) and a compacted status topic, unique to one test.
#[derive(Debug, Clone)]
pub struct Topics {
    pub orders: String,
    pub statuses: String,
    pub brokers: String,
}

impl Topics {
    pub async fn create(bed: &TestBed, prefix: &str) -> anyhow::Result<Self> {
        Self::create_on(bed, &bed.kafka_bootstrap_servers, prefix).await
    }

    /// Creates the topics on the broker at `brokers` (the test bed's or a test's own).
    pub async fn create_on(bed: &TestBed, brokers: &str, prefix: &str) -> anyhow::Result<Self> {
        let admin = admin(&bed.with_kafka(brokers)).await?;
        let orders = unique_name(&format!("{prefix}-orders"));
        let statuses = format!("{orders}-status");
        create_topic(&admin, &orders, 3, &[]).await?;
        create_topic(&admin, &statuses, 3, &[("cleanup.policy", "compact")]).await?;
        Ok(Self {
            orders,
            statuses,
            brokers: brokers.to_owned(),
        })
    }

    /// Writes a status event as the consumer would.
    pub async fn publish_status(
        &self,
        bed: &TestBed,
        order: &Value,
        status: OrderStatus,
    ) -> anyhow::Result<()> {
        let producer: FutureProducer = client_config(&bed.with_kafka(&self.brokers)).create()?;
        let order_id: Uuid = order["id"].as_str().context("order id")?.parse()?;
        let event = StatusEvent {
            order_id,
            status,
            at: jiff::Timestamp::now(),
            order: OrderDetails {
                customer_name: order["customer_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                coffee_type: order["coffee_type"].as_str().unwrap_or_default().to_owned(),
                created_at: order["created_at"]
                    .as_str()
                    .context("created_at")?
                    .parse()?,
            },
            reason: None,
        };
        let key = order_id.to_string();
        producer
            .send(
                FutureRecord::to(&self.statuses)
                    .key(&key)
                    .payload(&event.encode()),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| anyhow::anyhow!("publishing a status event: {e}"))?;
        Ok(())
    }
}

/// A running `coffee-producer`; [`ServiceProcess`]'s methods apply.
#[derive(Debug)]
pub struct ProducerProcess(ServiceProcess);

impl std::ops::Deref for ProducerProcess {
    type Target = ServiceProcess;
    fn deref(&self) -> &ServiceProcess {
        &self.0
    }
}

impl std::ops::DerefMut for ProducerProcess {
    fn deref_mut(&mut self) -> &mut ServiceProcess {
        &mut self.0
    }
}

impl ProducerProcess {
    /// Starts the binary and waits until `/readyz` says ready.
    pub async fn start(
        bed: &TestBed,
        topics: &Topics,
        extra_args: &[&str],
    ) -> anyhow::Result<Self> {
        let binary = Path::new(env!("CARGO_BIN_EXE_coffee-producer"));
        let process = ServiceProcess::spawn(bed, binary, "producer-tests", &topics.orders, |c| {
            c.args(["--bind-address", "127.0.0.1"])
                .args(["--kafka-brokers", &topics.brokers])
                .args(["--kafka-topic", &topics.orders])
                .args(["--status-topic", &topics.statuses])
                .args(extra_args)
                .env("RUST_LOG", "info");
        })?;
        let mut process = Self(process);
        process.wait_ready(true).await?;
        Ok(process)
    }

    /// A test bed handle, a test's own topics named from `prefix` on the test bed's broker, and
    /// a producer started on them with `extra_args`: what most tests begin with.
    pub async fn on_new_topics(
        prefix: &str,
        extra_args: &[&str],
    ) -> anyhow::Result<(TestBed, Topics, Self)> {
        let bed = TestBed::load()?;
        let topics = Topics::create(&bed, prefix).await?;
        let producer = Self::start(&bed, &topics, extra_args).await?;
        Ok((bed, topics, producer))
    }

    /// Waits until `/readyz` answers 200 (`ready`) or 503.
    pub async fn wait_ready(&mut self, ready: bool) -> anyhow::Result<()> {
        let want = if ready { 200 } else { 503 };
        self.wait_for("/readyz", want, Duration::from_secs(30))
            .await
    }

    /// SIGTERM, then the exit status.
    pub async fn terminate(mut self) -> anyhow::Result<ExitStatus> {
        self.0.terminate().await
    }
}

/// `POST /order` with a JSON body; returns the status and the JSON answer.
pub async fn place(
    http: &reqwest::Client,
    base: &str,
    customer: &str,
    coffee: &str,
) -> anyhow::Result<(u16, Value)> {
    let response = http
        .post(format!("{base}/order"))
        .json(&json!({ "customer_name": customer, "coffee_type": coffee }))
        .send()
        .await?;
    Ok((response.status().as_u16(), response.json().await?))
}

/// `GET` a path; returns the status and the JSON answer.
/// The listing token the tests that list orders start their producers with.
pub const LIST_TOKEN: &str = "coffee-tests-list-token-0123456789";

/// A client that sends the listing token with every request.
pub fn listing_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = format!("Bearer {LIST_TOKEN}");
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&value).expect("a valid header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a reqwest client")
}

pub async fn get_json(
    http: &reqwest::Client,
    url: impl reqwest::IntoUrl,
) -> anyhow::Result<(u16, Value)> {
    let response = http.get(url).send().await?;
    Ok((response.status().as_u16(), response.json().await?))
}
