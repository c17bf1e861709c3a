//! The happy paths of every route, idempotency, and what the order topic receives.

use std::collections::BTreeSet;
use std::time::Duration;

use coffee_events::order::OrderEvent;
use coffee_events::status::OrderStatus;
use e2e::kafka::{header, read_all};
use e2e::poll::eventually;
use e2e::testbed::TestBed;
use rdkafka::Message;
use serde_json::json;

use crate::support::{LIST_TOKEN, ProducerProcess, Topics, get_json, listing_client, place};

async fn producer(prefix: &str) -> anyhow::Result<(TestBed, Topics, ProducerProcess)> {
    ProducerProcess::on_new_topics(prefix, &["--orders-list-token", LIST_TOKEN]).await
}

#[tokio::test]
async fn a_placed_order_is_accepted_pending_and_readable_by_id() -> anyhow::Result<()> {
    let (_bed, _topics, producer) = producer("p-place").await?;
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/order", producer.base))
        .json(&json!({ "customer_name": "Ada", "coffee_type": "latte" }))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 202);
    let location = response.headers()["location"].to_str()?.to_owned();
    let order: serde_json::Value = response.json().await?;
    assert_eq!(order["status"], "pending");
    assert_eq!(order["coffee_type"], "Latte");
    assert_eq!(
        location,
        format!("/order/{}", order["id"].as_str().unwrap_or_default())
    );

    let (status, read) = get_json(&http, &format!("{}{location}", producer.base)).await?;
    assert_eq!((status, &read), (200, &order));
    Ok(())
}

#[tokio::test]
async fn menu_lists_the_coffees_with_their_brew_units() -> anyhow::Result<()> {
    let (_bed, _topics, producer) = producer("p-menu").await?;
    let (status, menu) =
        get_json(&reqwest::Client::new(), &format!("{}/menu", producer.base)).await?;
    assert_eq!(status, 200);
    assert!(menu["items"].as_array().is_some_and(|items| items.contains(&json!({ "name": "Cappuccino", "brew_units": 90 }))));
    Ok(())
}

#[tokio::test]
async fn orders_list_newest_first_filtered_and_paged() -> anyhow::Result<()> {
    let (_bed, _topics, producer) = producer("p-list").await?;
    let http = listing_client();
    let mut ids = Vec::new();
    for coffee in ["Espresso", "Mocha", "Latte"] {
        let (_, order) = place(&http, &producer.base, "Lovelace", coffee).await?;
        ids.push(order["id"].as_str().unwrap_or_default().to_owned());
    }
    place(&http, &producer.base, "Hopper", "Latte").await?;

    let page = |query: String| get_json(&http, format!("{}/orders?{query}", producer.base));
    let (status, first) = page("customer=lovelace&limit=2".into()).await?;
    assert_eq!(status, 200);
    let first_ids: Vec<&str> = first["orders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert_eq!(first_ids, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = first["next_cursor"].as_str().unwrap_or_default().to_owned();
    let (_, second) = page(format!("customer=Lovelace&limit=2&cursor={cursor}")).await?;
    assert_eq!(second["orders"][0]["id"], ids[0].as_str());
    assert!(second["next_cursor"].is_null());
    let (_, pending) = page("status=pending&customer=Hopper".into()).await?;
    assert_eq!(pending["orders"].as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test]
async fn create_and_cancel_of_one_order_land_on_one_partition_in_order_with_headers()
-> anyhow::Result<()> {
    let (bed, topics, producer) = producer("p-cancel").await?;
    let http = reqwest::Client::new();
    let (_, order) = place(&http, &producer.base, "Ada", "Americano").await?;
    let id = order["id"].as_str().unwrap_or_default().to_owned();
    let cancel = http
        .post(format!("{}/order/{id}/cancel", producer.base))
        .send()
        .await?;
    assert_eq!(cancel.status().as_u16(), 202);
    let cancelled: serde_json::Value = cancel.json().await?;
    assert_eq!(
        (
            cancelled["status"].as_str(),
            cancelled["cancel_requested"].as_bool()
        ),
        (Some("pending"), Some(true))
    );

    let messages = read_all(&bed, &topics.orders, Duration::from_secs(15)).await?;
    let ours: Vec<_> = messages
        .iter()
        .filter(|m| m.key() == Some(id.as_bytes()))
        .collect();
    assert_eq!(ours.len(), 2);
    let partitions: BTreeSet<i32> = ours.iter().map(|m| m.partition()).collect();
    assert_eq!(
        partitions.len(),
        1,
        "create and cancel on partitions {partitions:?}"
    );
    assert!(ours[0].offset() < ours[1].offset());
    assert!(matches!(
        OrderEvent::decode(ours[0].payload().unwrap_or_default())?,
        OrderEvent::OrderCreated { .. }
    ));
    assert!(matches!(
        OrderEvent::decode(ours[1].payload().unwrap_or_default())?,
        OrderEvent::OrderCancelRequested { .. }
    ));
    assert_eq!(header(ours[0], "event-type"), Some("order_created"));
    assert_eq!(
        header(ours[1], "event-type"),
        Some("order_cancel_requested")
    );
    assert_eq!(header(ours[0], "schema-version"), Some("1"));
    assert!(header(ours[0], "traceparent").is_some_and(|t| t.starts_with("00-") && t.len() == 55));
    Ok(())
}

#[tokio::test]
async fn incoming_traceparent_is_continued_into_the_kafka_headers() -> anyhow::Result<()> {
    let (bed, topics, producer) = producer("p-trace").await?;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = reqwest::Client::new()
        .post(format!("{}/order", producer.base))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({ "customer_name": "Ada", "coffee_type": "Mocha" }))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 202);
    let messages = read_all(&bed, &topics.orders, Duration::from_secs(15)).await?;
    let traceparent = header(&messages[0], "traceparent").unwrap_or_default();
    assert!(traceparent.contains(trace_id), "{traceparent}");
    Ok(())
}

#[tokio::test]
async fn an_order_the_consumer_completed_cannot_be_cancelled() -> anyhow::Result<()> {
    let (bed, topics, producer) = producer("p-done").await?;
    let http = reqwest::Client::new();
    let (_, order) = place(&http, &producer.base, "Ada", "Latte").await?;
    topics
        .publish_status(&bed, &order, OrderStatus::Completed)
        .await?;
    let url = format!(
        "{}/order/{}",
        producer.base,
        order["id"].as_str().unwrap_or_default()
    );
    eventually(
        "the view to show the order completed",
        Duration::from_secs(15),
        || async {
            match get_json(&http, &url).await {
                Ok((200, o)) if o["status"] == "completed" => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await?;
    let response = http.post(format!("{url}/cancel")).send().await?;
    assert_eq!(response.status().as_u16(), 409);
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["error"]["code"], "not_cancellable");
    Ok(())
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_returns_the_same_order_and_publishes_nothing()
-> anyhow::Result<()> {
    let (bed, topics, producer) = producer("p-idem").await?;
    let http = reqwest::Client::new();
    let send = || {
        http.post(format!("{}/order", producer.base))
            .header("Idempotency-Key", "order-attempt-7")
            .json(&json!({ "customer_name": "Ada", "coffee_type": "Espresso" }))
            .send()
    };
    let first = send().await?;
    assert_eq!(first.status().as_u16(), 202);
    let first: serde_json::Value = first.json().await?;
    let second = send().await?;
    assert_eq!(second.status().as_u16(), 202);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: serde_json::Value = second.json().await?;
    assert_eq!(first["id"], second["id"]);

    let different = http
        .post(format!("{}/order", producer.base))
        .header("Idempotency-Key", "order-attempt-7")
        .json(&json!({ "customer_name": "Ada", "coffee_type": "Mocha" }))
        .send()
        .await?;
    assert_eq!(different.status().as_u16(), 422);

    let messages = read_all(&bed, &topics.orders, Duration::from_secs(15)).await?;
    assert_eq!(messages.len(), 1, "one order event for three requests");
    Ok(())
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_create_one_order() -> anyhow::Result<()> {
    let (bed, topics, producer) = producer("p-idem-race").await?;
    let http = reqwest::Client::new();
    let keys: Vec<String> = (0..20).map(|k| format!("race-{k}")).collect();
    let mut requests = Vec::new();
    for key in &keys {
        for _ in 0..20 {
            let request = http
                .post(format!("{}/order", producer.base))
                .header("Idempotency-Key", key.as_str())
                .json(&json!({ "customer_name": "Ada", "coffee_type": "Latte" }))
                .send();
            requests.push(async move { (key.clone(), request.await) });
        }
    }
    let mut ids: std::collections::HashMap<String, std::collections::HashSet<String>> =
        std::collections::HashMap::new();
    for (key, response) in futures::future::join_all(requests).await {
        let response = response?;
        match response.status().as_u16() {
            202 => {
                let order: serde_json::Value = response.json().await?;
                let id = order["id"].as_str().unwrap_or_default().to_owned();
                ids.entry(key).or_default().insert(id);
            }
            409 => {}
            other => panic!("{key}: unexpected {other}"),
        }
    }
    for (key, orders) in &ids {
        assert_eq!(orders.len(), 1, "{key} answered with orders {orders:?}");
    }
    let messages = read_all(&bed, &topics.orders, Duration::from_secs(15)).await?;
    assert_eq!(messages.len(), ids.len(), "one order event per key");
    Ok(())
}

#[tokio::test]
async fn probes_answer_and_metrics_label_routes_by_template() -> anyhow::Result<()> {
    let (_bed, _topics, producer) = producer("p-probes").await?;
    let http = reqwest::Client::new();
    for probe in ["healthz", "health", "readyz"] {
        let (status, _) = get_json(&http, &format!("{}/{probe}", producer.base)).await?;
        assert_eq!(status, 200, "{probe}");
    }
    let (_, order) = place(&http, &producer.base, "Ada", "Latte").await?;
    let id = order["id"].as_str().unwrap_or_default();
    get_json(&http, &format!("{}/order/{id}", producer.base)).await?;
    let metrics = http
        .get(format!("{}/metrics", producer.base))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains(
            r#"http_request_duration_seconds_count{method="GET",path="/order/{id}",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("orders_accepted_total 1"));
    assert!(metrics.contains("kafka_publish_duration_seconds_count 1"));
    assert!(!metrics.contains(id), "a raw order id leaked into a label");
    Ok(())
}
