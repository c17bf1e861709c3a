//! A broker outage: requests get 503 with Retry-After and readiness turns false, nothing
//! acknowledged is lost, and the service recovers by itself when the broker returns.

use std::time::Duration;

use e2e::kafka::read_all;
use e2e::kafka_instance::KafkaInstance;
use e2e::testbed::TestBed;
use serde_json::json;

use crate::support::{ProducerProcess, Topics, place};

#[tokio::test]
async fn a_stopped_broker_gives_503_and_not_ready_then_the_service_recovers() -> anyhow::Result<()>
{
    let bed = TestBed::load()?;
    let mut broker = KafkaInstance::start(&bed, &e2e::fixtures::unique_name("outage")).await?;
    let topics = Topics::create_on(&bed, &broker.bootstrap_servers(), "p-outage").await?;
    let mut producer =
        ProducerProcess::start(&bed, &topics, &["--delivery-timeout-ms", "3000"]).await?;
    let http = reqwest::Client::new();
    let (status, before) = place(&http, &producer.base, "Ada", "Latte").await?;
    assert_eq!(status, 202);

    broker.pause().await;
    producer.wait_ready(false).await?;
    let response = http
        .post(format!("{}/order", producer.base))
        .json(&json!({ "customer_name": "Ada", "coffee_type": "Latte" }))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["error"]["code"], "kafka_unavailable");
    let keyed = http
        .post(format!("{}/order", producer.base))
        .header("Idempotency-Key", "during-the-outage")
        .json(&json!({ "customer_name": "Ada", "coffee_type": "Latte" }))
        .send()
        .await?;
    assert_eq!(
        keyed.status().as_u16(),
        503,
        "a keyed request in the outage"
    );
    assert!(keyed.headers().contains_key("retry-after"));

    broker.resume().await?;
    producer.wait_ready(true).await?;
    let (status, after) = place(&http, &producer.base, "Ada", "Mocha").await?;
    assert_eq!(status, 202);

    let on_broker = bed.with_kafka(&broker.bootstrap_servers());
    let messages = read_all(&on_broker, &topics.orders, Duration::from_secs(15)).await?;
    let keys: Vec<String> = messages
        .iter()
        .filter_map(|m| rdkafka::Message::key(m).map(|k| String::from_utf8_lossy(k).into_owned()))
        .collect();
    for order in [&before, &after] {
        assert!(
            keys.iter().any(|k| order["id"] == k.as_str()),
            "order {} missing after the outage",
            order["id"]
        );
    }
    assert_eq!(
        messages.len(),
        2,
        "the refused requests must not have been published"
    );
    broker.pause().await;
    Ok(())
}
