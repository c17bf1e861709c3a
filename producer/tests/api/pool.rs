//! The producer pool: every order on its key's partition (the Java clients' murmur2), one
//! order's events in order behind one another, every member used, and a grown topic used
//! within seconds.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use coffee_events::order::OrderEvent;
use coffee_kafka::partition;
use e2e::kafka::{admin, read_all};
use e2e::poll::eventually;
use rdkafka::Message;
use rdkafka::admin::{AdminOptions, NewPartitions};

use crate::support::{ProducerProcess, place};

/// Places `count` orders and asks to cancel every third; returns the ids of the cancelled ones.
async fn place_and_cancel(base: &str, count: usize) -> anyhow::Result<BTreeSet<String>> {
    let http = reqwest::Client::new();
    let mut cancelled = BTreeSet::new();
    for i in 0..count {
        let (status, order) = place(&http, base, &format!("pool-{i}"), "Latte").await?;
        anyhow::ensure!(status == 202, "order {i} answered {status}: {order}");
        let id = order["id"].as_str().unwrap_or_default().to_owned();
        if i % 3 == 0 {
            let cancel = http
                .post(format!("{base}/order/{id}/cancel"))
                .send()
                .await?;
            anyhow::ensure!(
                cancel.status() == 202,
                "cancel of {id}: {}",
                cancel.status()
            );
            cancelled.insert(id);
        }
    }
    Ok(cancelled)
}

#[tokio::test]
async fn a_pool_puts_each_order_on_its_keys_partition_with_its_cancel_behind_it()
-> anyhow::Result<()> {
    let (bed, topics, producer) =
        ProducerProcess::on_new_topics("p-pool", &["--kafka-producers", "3"]).await?;
    let cancelled = place_and_cancel(&producer.base, 60).await?;

    let messages = read_all(&bed, &topics.orders, Duration::from_secs(15)).await?;
    assert_eq!(messages.len(), 60 + cancelled.len());
    let mut seen: HashMap<String, (i32, i64)> = HashMap::new();
    for message in &messages {
        let key = std::str::from_utf8(message.key().unwrap_or_default())?.to_owned();
        assert_eq!(
            Some(message.partition()),
            partition::for_key(key.as_bytes(), 3),
            "order {key} is not on the partition a Java client would choose"
        );
        match OrderEvent::decode(message.payload().unwrap_or_default())? {
            OrderEvent::OrderCreated { .. } => {
                seen.insert(key, (message.partition(), message.offset()));
            }
            OrderEvent::OrderCancelRequested { .. } => {
                let (partition, offset) = seen[&key];
                assert_eq!(partition, message.partition(), "order {key}");
                assert!(offset < message.offset(), "the cancel of {key} came first");
            }
        }
    }
    let used: BTreeSet<i32> = messages.iter().map(Message::partition).collect();
    assert_eq!(
        used.len(),
        3,
        "every partition, so every member, carried orders"
    );
    Ok(())
}

#[tokio::test]
async fn every_member_of_the_pool_reports_its_queue() -> anyhow::Result<()> {
    let (_bed, _topics, producer) =
        ProducerProcess::on_new_topics("p-pool-metrics", &["--kafka-producers", "2"]).await?;
    let metrics = producer.metrics().await?;
    for member in ["0", "1"] {
        let gauge = format!("kafka_producer_queued_messages{{producer=\"{member}\"}}");
        assert!(metrics.contains(&gauge), "no {gauge} in\n{metrics}");
    }
    assert_eq!(producer.metric("kafka_producer_partitions").await?, 3.0);
    Ok(())
}
#[tokio::test]
async fn partitions_added_to_the_topic_take_orders_within_seconds() -> anyhow::Result<()> {
    let (bed, topics, producer) =
        ProducerProcess::on_new_topics("p-pool-grow", &["--kafka-producers", "2"]).await?;
    let admin = admin(&bed).await?;
    let grown = admin
        .create_partitions(
            &[NewPartitions::new(&topics.orders, 6)],
            &AdminOptions::new(),
        )
        .await?;
    anyhow::ensure!(
        grown.iter().all(Result::is_ok),
        "growing the topic: {grown:?}"
    );

    eventually(
        "the pool to know 6 partitions",
        Duration::from_secs(15),
        || async {
            match producer.metric("kafka_producer_partitions").await {
                Ok(6.0) => Ok(()),
                other => Err(format!("kafka_producer_partitions: {other:?}")),
            }
        },
    )
    .await?;

    let http = reqwest::Client::new();
    let mut on_new_partition = None;
    for _ in 0..50 {
        let (status, order) = place(&http, &producer.base, "Grace", "Latte").await?;
        anyhow::ensure!(status == 202, "answered {status}: {order}");
        let id = order["id"].as_str().unwrap_or_default().to_owned();
        if partition::for_key(id.as_bytes(), 6) >= Some(3) {
            on_new_partition = Some(id);
            break;
        }
    }
    let id = on_new_partition.expect("one of 50 orders belongs to a new partition");
    let messages = read_all(&bed, &topics.orders, Duration::from_secs(15)).await?;
    let message = messages
        .iter()
        .find(|m| m.key() == Some(id.as_bytes()))
        .expect("the order acknowledged on a new partition is in the topic");
    assert!(
        message.partition() >= 3,
        "{id} on partition {}",
        message.partition()
    );
    Ok(())
}
