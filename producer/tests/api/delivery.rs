//! Durability: every acknowledged order is in the topic exactly once, shutdown loses nothing,
//! and the original synchronous design still works for comparison.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use coffee_events::order::OrderEvent;
use e2e::kafka::read_all;
use e2e::testbed::TestBed;
use futures::StreamExt;

use crate::support::{ProducerProcess, place};

/// Places `count` orders with `concurrency` requests in flight; returns the acknowledged ids
/// and how many requests were not acknowledged.
async fn place_many(base: &str, count: usize, concurrency: usize) -> (Vec<String>, usize) {
    let http = reqwest::Client::new();
    let results: Vec<Option<String>> = futures::stream::iter(0..count)
        .map(|i| {
            let http = http.clone();
            async move {
                match place(&http, base, &format!("customer-{}", i % 97), "Latte").await {
                    Ok((202, order)) => order["id"].as_str().map(str::to_owned),
                    _ => None,
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_none()).count();
    (results.into_iter().flatten().collect(), failed)
}

async fn created_counts(bed: &TestBed, topic: &str) -> anyhow::Result<HashMap<String, usize>> {
    let mut counts = HashMap::new();
    for message in read_all(bed, topic, Duration::from_secs(30)).await? {
        use rdkafka::Message;
        if let OrderEvent::OrderCreated { order_id, .. } =
            OrderEvent::decode(message.payload().unwrap_or_default())?
        {
            *counts.entry(order_id.to_string()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

#[tokio::test]
async fn thousands_of_concurrent_orders_are_each_in_the_topic_exactly_once() -> anyhow::Result<()> {
    let (bed, topics, producer) = ProducerProcess::on_new_topics("p-many", &[]).await?;
    let (acknowledged, failed) = place_many(&producer.base, 3_000, 128).await;
    assert_eq!(
        failed, 0,
        "every request should succeed against a healthy broker"
    );
    let counts = created_counts(&bed, &topics.orders).await?;
    for id in &acknowledged {
        assert_eq!(counts.get(id), Some(&1), "order {id}");
    }
    assert_eq!(
        counts.len(),
        acknowledged.len(),
        "the topic holds orders nobody acknowledged"
    );
    Ok(())
}

#[tokio::test]
async fn sigterm_answers_requests_in_flight_flushes_and_exits_zero() -> anyhow::Result<()> {
    // A long linger keeps deliveries in flight when the signal arrives.
    let (bed, topics, producer) =
        ProducerProcess::on_new_topics("p-term", &["--linger-ms", "200"]).await?;
    let base = Arc::new(producer.base.clone());
    let load = tokio::spawn({
        let base = Arc::clone(&base);
        async move { place_many(&base, 400, 64).await }
    });
    let metrics = format!("{}/metrics", producer.base);
    e2e::poll::eventually(
        "the first acknowledgements",
        Duration::from_secs(15),
        || async {
            let text = reqwest::get(&metrics)
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            if text.contains("orders_accepted_total 0") {
                Err("none yet".to_owned())
            } else {
                Ok(())
            }
        },
    )
    .await?;
    let status = producer.terminate().await?;
    let (acknowledged, _) = load.await?;
    assert!(status.success(), "exit status {status}");
    assert!(
        !acknowledged.is_empty(),
        "no request was answered before shutdown"
    );
    let counts = created_counts(&bed, &topics.orders).await?;
    for id in &acknowledged {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "acknowledged order {id} is not in the topic"
        );
    }
    Ok(())
}

#[tokio::test]
async fn sync_mode_acknowledges_each_order_after_its_own_delivery() -> anyhow::Result<()> {
    let (bed, topics, producer) =
        ProducerProcess::on_new_topics("p-sync", &["--publish-mode", "sync"]).await?;
    let (acknowledged, failed) = place_many(&producer.base, 50, 8).await;
    assert_eq!((acknowledged.len(), failed), (50, 0));
    let counts = created_counts(&bed, &topics.orders).await?;
    assert!(acknowledged.iter().all(|id| counts.get(id) == Some(&1)));
    Ok(())
}

#[tokio::test]
async fn a_full_send_queue_answers_503_overloaded_instead_of_growing() -> anyhow::Result<()> {
    // One message may wait for the broker at a time, and it waits long.
    let (bed, topics, producer) = ProducerProcess::on_new_topics(
        "p-full",
        &["--queue-max-messages", "1", "--linger-ms", "500"],
    )
    .await?;
    let http = reqwest::Client::new();
    let answers: Vec<(u16, serde_json::Value, bool)> = futures::stream::iter(0..16)
        .map(|i| {
            let http = http.clone();
            let url = format!("{}/order", producer.base);
            async move {
                let response = http.post(url).json(&serde_json::json!({ "customer_name": format!("c{i}"), "coffee_type": "Latte" })).send().await?;
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                anyhow::Ok((status, response.json().await?, retry_after))
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let overloaded: Vec<_> = answers
        .iter()
        .filter(|(status, _, _)| *status == 503)
        .collect();
    assert!(
        !overloaded.is_empty(),
        "no request was refused: {answers:?}"
    );
    for (_, body, retry_after) in &overloaded {
        assert_eq!(body["error"]["code"], "overloaded");
        assert!(retry_after);
    }
    let acknowledged: Vec<String> = answers
        .iter()
        .filter(|(s, _, _)| *s == 202)
        .filter_map(|(_, b, _)| b["id"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !acknowledged.is_empty(),
        "no request was accepted: {answers:?}"
    );
    let counts = created_counts(&bed, &topics.orders).await?;
    assert_eq!(
        counts.len(),
        acknowledged.len(),
        "refused requests must publish nothing"
    );
    Ok(())
}
