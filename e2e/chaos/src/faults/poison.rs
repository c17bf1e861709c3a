//! Poison on the order topic: a foreign client (not our producer) writes messages no consumer
//! can take — truncated JSON, bytes that are not UTF-8, a future schema version, an event
//! nobody knows, a 200 kB name, an empty body, no headers or lying ones — to every partition,
//! between real orders. Each must land on the dead-letter topic with its reason, and the
//! partitions must move on: the real orders after them still complete (the stage checks).

use std::time::Duration;

use anyhow::ensure;
use coffee_events::headers;
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::seconds;
use crate::stage::{Injected, Stage};

const DEAD_LETTERED_WITHIN: Duration = Duration::from_secs(90);
/// Every poison message's key starts so; the dead letters are told apart by it.
const KEY_PREFIX: &str = "poison-";

/// The poison bodies, each with whether it carries our headers (claiming to be an order).
fn bodies() -> Vec<(Vec<u8>, bool)> {
    let huge = format!(
        r#"{{"schema_version":1,"event":{{"order_created":{{"order_id":"00000000-0000-0000-0000-000000000001","order":{{"customer_name":"{}","coffee_type":"Latte","created_at":"2026-12-01T00:00:00Z"}}}}}}}}"#,
        "x".repeat(200_000)
    );
    vec![
        (br#"{"schema_version":1,"event":{"order_cre"#.to_vec(), true),
        (vec![0xff, 0xfe, 0x00, 0xc3, 0x28], true),
        (
            br#"{"schema_version":99,"event":{"order_created":{}}}"#.to_vec(),
            true,
        ),
        (
            br#"{"schema_version":1,"event":{"order_teleported":{}}}"#.to_vec(),
            true,
        ),
        (huge.into_bytes(), true),
        (Vec::new(), true),
        (br#"{"hello":"world"}"#.to_vec(), false),
    ]
}

pub async fn inject(stage: &mut Stage) -> anyhow::Result<Injected> {
    let at = stage.elapsed();
    let sent = write(stage).await?;
    let injected = stage.elapsed();
    let letters = dead_lettered(stage, sent, DEAD_LETTERED_WITHIN).await?;
    ensure!(
        letters == sent,
        "{sent} poison messages, {letters} dead letters: with the broker up, each is written once"
    );
    let cleared = stage.elapsed();
    Ok(Injected {
        at,
        cleared,
        notes: vec![format!(
            "{sent} poison messages on {} partitions, all dead-lettered with a reason {} after the last",
            stage.shape.partitions,
            seconds(cleared - injected)
        )],
    })
}

/// Writes every poison body to every partition of the order topic; returns how many.
pub async fn write(stage: &Stage) -> anyhow::Result<usize> {
    let producer: FutureProducer = e2e::kafka::client_config(&stage.bed)
        .set("message.max.bytes", "1000000")
        .create()?;
    let messages: Vec<(String, i32, Vec<u8>, bool)> = (0..stage.shape.partitions)
        .flat_map(|partition| bodies().into_iter().map(move |(b, h)| (partition, b, h)))
        .enumerate()
        .map(|(n, (partition, body, headed))| (format!("{KEY_PREFIX}{n}"), partition, body, headed))
        .collect();
    // All at once: they arrive together, as a burst would, and are all in the consumers'
    // hands moments later.
    let sends = messages.iter().map(|(key, partition, body, with_headers)| {
        let mut record = FutureRecord::to(&stage.wiring.topic)
            .key(key)
            .payload(body)
            .partition(*partition);
        if *with_headers {
            record = record.headers(OwnedHeaders::new().insert(Header {
                key: headers::EVENT_TYPE,
                value: Some(headers::ORDER_CREATED),
            }));
        }
        producer.send(record, Duration::from_secs(10))
    });
    for (result, (key, ..)) in futures::future::join_all(sends)
        .await
        .into_iter()
        .zip(&messages)
    {
        result.map_err(|(error, _)| anyhow::anyhow!("writing poison {key}: {error}"))?;
    }
    Ok(messages.len())
}

/// Waits until all `sent` poison messages are on the dead-letter topic, each with its reason;
/// returns how many letters were read, which is more than `sent` where a letter whose delivery
/// timed out on the consumer's side had reached the log after all and was written again.
pub async fn dead_lettered(stage: &Stage, sent: usize, within: Duration) -> anyhow::Result<usize> {
    let topic = stage.wiring.dead_letter_topic.clone();
    let (distinct, reasoned, letters) =
        e2e::poll::eventually("every poison message dead-lettered", within, || async {
            let letters = e2e::kafka::read_all(&stage.bed, &topic, Duration::from_secs(20))
                .await
                .map_err(|e| e.to_string())?;
            let poison: Vec<_> = letters
                .iter()
                .filter(|m| {
                    m.key()
                        .is_some_and(|k| k.starts_with(KEY_PREFIX.as_bytes()))
                })
                .collect();
            let keys: std::collections::HashSet<_> =
                poison.iter().filter_map(|m| m.key()).collect();
            let reasoned: std::collections::HashSet<_> = poison
                .iter()
                .filter(|m| e2e::kafka::header(m, headers::DEAD_LETTER_REASON).is_some())
                .filter_map(|m| m.key())
                .collect();
            if keys.len() >= sent {
                Ok((keys.len(), reasoned.len(), poison.len()))
            } else {
                Err(format!("{} of {sent}", keys.len()))
            }
        })
        .await
        .map_err(anyhow::Error::msg)?;
    ensure!(
        distinct == sent && reasoned == sent,
        "{sent} poison messages written, {distinct} dead-lettered, {reasoned} with a reason"
    );
    Ok(letters)
}
