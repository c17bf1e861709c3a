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
    let producer: FutureProducer = e2e::kafka::client_config(&stage.bed)
        .set("message.max.bytes", "1000000")
        .create()?;
    let at = stage.elapsed();
    let mut sent = 0usize;
    for partition in 0..stage.shape.partitions {
        for (body, with_headers) in bodies() {
            let key = format!("{KEY_PREFIX}{sent}");
            let mut record = FutureRecord::to(&stage.wiring.topic)
                .key(&key)
                .payload(&body)
                .partition(partition);
            if with_headers {
                record = record.headers(OwnedHeaders::new().insert(Header {
                    key: headers::EVENT_TYPE,
                    value: Some(headers::ORDER_CREATED),
                }));
            }
            producer
                .send(record, Duration::from_secs(10))
                .await
                .map_err(|(error, _)| anyhow::anyhow!("writing poison {key}: {error}"))?;
            sent += 1;
        }
    }
    let injected = stage.elapsed();
    let topic = stage.wiring.dead_letter_topic.clone();
    let dead = e2e::poll::eventually(
        "every poison message dead-lettered",
        DEAD_LETTERED_WITHIN,
        || async {
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
            let reasoned = poison
                .iter()
                .filter(|m| e2e::kafka::header(m, headers::DEAD_LETTER_REASON).is_some())
                .count();
            if poison.len() >= sent {
                Ok((poison.len(), reasoned))
            } else {
                Err(format!("{} of {sent}", poison.len()))
            }
        },
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let cleared = stage.elapsed();
    let (dead_lettered, with_reason) = dead;
    ensure!(
        dead_lettered == sent && with_reason == sent,
        "{sent} poison messages written, {dead_lettered} dead-lettered, {with_reason} with a reason"
    );
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
