//! The test bed's Kafka is a real broker: topics are created and grown through the admin API,
//! keyed messages are produced and consumed by a group, and the group's committed offsets and
//! the partitions' high watermarks (the numbers the autoscaler reads) agree.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use e2e::fixtures::unique_name;
use e2e::kafka::{admin, client_config, create_topic, partition_count};
use e2e::testbed::TestBed;
use futures::StreamExt;
use rdkafka::admin::{AdminOptions, NewPartitions};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

const TIMEOUT: Duration = Duration::from_secs(15);

/// Produces `count` messages keyed `order-<i % keys>` and returns the partition of each key.
async fn produce_keyed(
    bed: &TestBed,
    topic: &str,
    count: usize,
    keys: usize,
) -> anyhow::Result<BTreeMap<String, BTreeSet<i32>>> {
    let producer: FutureProducer = client_config(bed)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create()?;
    let mut partitions_by_key: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for i in 0..count {
        let key = format!("order-{}", i % keys);
        let payload = format!("{{\"n\":{i}}}");
        let delivery = producer
            .send(FutureRecord::to(topic).key(&key).payload(&payload), TIMEOUT)
            .await
            .map_err(|(error, _)| anyhow::anyhow!("producing message {i} to {topic}: {error}"))?;
        partitions_by_key
            .entry(key)
            .or_default()
            .insert(delivery.partition);
    }
    Ok(partitions_by_key)
}

#[tokio::test]
async fn topic_is_created_with_three_partitions_and_grows_to_six() -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let admin = admin(&bed).await?;
    let topic = unique_name("e2e-grow");
    create_topic(&admin, &topic, 3, &[]).await?;
    assert_eq!(partition_count(&bed, &topic).await?, 3);

    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    for result in admin
        .create_partitions(&[NewPartitions::new(&topic, 6)], &options)
        .await?
    {
        result.map_err(|(topic, code)| anyhow::anyhow!("growing {topic}: {code}"))?;
    }
    let grown = e2e::poll::eventually("6 partitions in the metadata", TIMEOUT, || async {
        match partition_count(&bed, &topic).await {
            Ok(6) => Ok(6),
            other => Err(format!("{other:?}")),
        }
    })
    .await?;
    assert_eq!(grown, 6);
    Ok(())
}

#[tokio::test]
async fn messages_with_one_key_land_on_one_partition() -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let admin = admin(&bed).await?;
    let topic = unique_name("e2e-keys");
    create_topic(&admin, &topic, 6, &[]).await?;
    let partitions_by_key = produce_keyed(&bed, &topic, 120, 12).await?;
    for (key, partitions) in &partitions_by_key {
        assert_eq!(
            partitions.len(),
            1,
            "key {key} went to partitions {partitions:?}"
        );
    }
    let used: BTreeSet<i32> = partitions_by_key.values().flatten().copied().collect();
    assert!(
        used.len() > 1,
        "12 keys all hashed to one partition of 6: {used:?}"
    );
    Ok(())
}

#[tokio::test]
async fn group_committed_offsets_reach_the_high_watermarks() -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let admin = admin(&bed).await?;
    let topic = unique_name("e2e-group");
    let group = unique_name("e2e-group");
    create_topic(&admin, &topic, 6, &[]).await?;
    let produced = 200;
    produce_keyed(&bed, &topic, produced, 40).await?;

    let consumer: StreamConsumer = client_config(&bed)
        .set("group.id", &group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[&topic])?;
    let mut stream = consumer.stream();
    let mut consumed = 0;
    while consumed < produced {
        let message = tokio::time::timeout(TIMEOUT, stream.next())
            .await
            .with_context(|| format!("only {consumed} of {produced} messages arrived"))?
            .context("consumer stream ended")??;
        ensure!(
            message.key().is_some(),
            "message at offset {} has no key",
            message.offset()
        );
        consumed += 1;
    }
    drop(stream);
    consumer.commit_consumer_state(CommitMode::Sync)?;

    // Read the group's offsets from a separate client, as the autoscaler will.
    let observer: StreamConsumer = client_config(&bed).set("group.id", &group).create()?;
    let mut wanted = TopicPartitionList::new();
    for partition in 0..6 {
        wanted.add_partition(&topic, partition);
    }
    let topic_name = topic.clone();
    let (committed, watermarks) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let committed = observer.committed_offsets(wanted, TIMEOUT)?;
        let watermarks: Vec<(i64, i64)> = (0..6)
            .map(|p| observer.fetch_watermarks(&topic_name, p, TIMEOUT))
            .collect::<Result<_, _>>()?;
        Ok((committed, watermarks))
    })
    .await??;

    let mut total = 0;
    for (partition, (low, high)) in (0..6).zip(watermarks) {
        let element = committed
            .find_partition(&topic, partition)
            .context("partition missing")?;
        let Offset::Offset(offset) = element.offset() else {
            bail!(
                "partition {partition} has no committed offset: {:?}",
                element.offset()
            );
        };
        assert_eq!(
            offset, high,
            "partition {partition}: committed {offset}, high watermark {high}"
        );
        total += high - low;
    }
    assert_eq!(total, i64::try_from(produced)?);
    Ok(())
}
