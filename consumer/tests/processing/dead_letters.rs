//! Unreadable messages and orders that cannot be brewed go to the dead-letter topic with their
//! reason, while good orders keep flowing.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use coffee_events::headers;
use coffee_events::status::OrderStatus;
use e2e::kafka::header;
use e2e::testbed::TestBed;
use rdkafka::Message;

use e2e::poll::eventually;

use crate::support::{
    ConsumerProcess, OrderWriter, Topics, committed, dead_letters, ids, menu_orders, order,
    wait_until_final,
};

/// Writes raw lines to `topic` with kcat, as a misbehaving client would.
fn kcat_write(bed: &TestBed, topic: &str, lines: &str) {
    let mut kcat = Command::new("kcat")
        .args([
            "-P",
            "-b",
            &bed.kafka_bootstrap_servers,
            "-t",
            topic,
            "-p",
            "0",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat is installed by e2e/testbed up");
    kcat.stdin
        .take()
        .expect("writing to kcat")
        .write_all(lines.as_bytes())
        .expect("writing to kcat");
    assert!(kcat.wait().expect("writing to kcat").success());
}

#[tokio::test]
async fn garbage_is_dead_lettered_with_its_reason_while_orders_keep_flowing() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "garbage", 1).await.unwrap();
    let writer = OrderWriter::new(&bed, &topics).unwrap();
    let before = menu_orders(20);
    writer.create_many(&before).await.unwrap();
    kcat_write(
        &bed,
        &topics.orders,
        "this is not an order\n{\"schema_version\":1}\n",
    );
    let after = menu_orders(20);
    writer.create_many(&after).await.unwrap();
    let consumer = ConsumerProcess::start(&bed, &topics, &["--brew-time-scale", "0"])
        .await
        .unwrap();

    let ids: Vec<_> = before.iter().chain(&after).map(|(id, _)| *id).collect();
    let all = wait_until_final(&bed, &topics, &ids, Duration::from_secs(30), &consumer)
        .await
        .unwrap();
    assert!(ids.iter().all(|id| all[id] == [OrderStatus::Completed]));
    let letters = dead_letters(&bed, &topics).await.unwrap();
    assert_eq!(letters.len(), 2, "{}", consumer.log_tail());
    assert_eq!(letters[0].payload(), Some(&b"this is not an order"[..]));
    for letter in &letters {
        assert_eq!(
            header(letter, headers::DEAD_LETTER_REASON),
            Some("undecodable")
        );
        assert_eq!(
            header(letter, headers::ORIGINAL_TOPIC),
            Some(topics.orders.as_str())
        );
        assert_eq!(header(letter, headers::ORIGINAL_PARTITION), Some("0"));
    }
    assert_eq!(header(&letters[0], headers::ORIGINAL_OFFSET), Some("20"));
    assert_eq!(header(&letters[1], headers::ORIGINAL_OFFSET), Some("21"));
    assert_eq!(consumer.metric("dead_letters_total").await.unwrap(), 2.0);
}

#[tokio::test]
async fn an_order_for_a_coffee_not_on_the_menu_fails_and_is_dead_lettered() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "unknown-coffee", 1).await.unwrap();
    let writer = OrderWriter::new(&bed, &topics).unwrap();
    let (tea, tea_details) = order("Ada", "Earl Grey");
    writer.create(tea, &tea_details).await.unwrap();
    let consumer = ConsumerProcess::start(&bed, &topics, &["--brew-time-scale", "0"])
        .await
        .unwrap();

    let all = wait_until_final(&bed, &topics, &[tea], Duration::from_secs(30), &consumer)
        .await
        .unwrap();
    assert_eq!(all[&tea], vec![OrderStatus::Failed]);
    let letters = dead_letters(&bed, &topics).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        header(&letters[0], headers::DEAD_LETTER_REASON),
        Some("unknown_coffee_type")
    );
    assert_eq!(letters[0].key(), Some(tea.to_string().as_bytes()));
}

/// The issue's try: an unreadable 5,120-byte message, a dead-letter topic that takes at most
/// 1,000 bytes, then 100 good orders. The dead letter failed, was never written again, and the
/// group's commit stayed before it for good (lag 100, then 199 after 100 more). Now the letter is
/// written without its payload, saying where the original is, and the commit reaches the end.
#[tokio::test]
async fn a_dead_letter_too_large_for_its_topic_goes_without_its_payload_and_the_commit_moves_on() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "dl-large", 1).await.unwrap();
    e2e::kafka::change_topic_configs(
        &bed,
        &topics.dead_letters,
        &[("max.message.bytes", Some("1000"))],
    )
    .await
    .unwrap();
    // Random hex, so that compression (the outbox writes lz4) cannot shrink it below the limit.
    let unreadable: String = (0u64..320)
        .map(|i| {
            use std::hash::BuildHasher;
            format!(
                "{:016x}",
                std::collections::hash_map::RandomState::new().hash_one(i)
            )
        })
        .collect();
    kcat_write(&bed, &topics.orders, &format!("{unreadable}\n"));
    let writer = OrderWriter::new(&bed, &topics).unwrap();
    let orders = menu_orders(100);
    writer.create_many(&orders).await.unwrap();
    let consumer = ConsumerProcess::start(&bed, &topics, &["--brew-time-scale", "0"])
        .await
        .unwrap();
    let ids = ids(&orders);
    wait_until_final(&bed, &topics, &ids, Duration::from_secs(60), &consumer)
        .await
        .unwrap();
    eventually(
        "the commit to pass all 101 messages",
        Duration::from_secs(60),
        || async {
            let committed = committed(&bed, &topics, 1).map_err(|e| e.to_string())?;
            if committed.get(&0) == Some(&101) {
                Ok(())
            } else {
                Err(format!("committed {committed:?}"))
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", consumer.log_tail()));
    let letters = dead_letters(&bed, &topics).await.unwrap();
    assert_eq!(letters.len(), 1, "{}", consumer.log_tail());
    let letter = &letters[0];
    assert_eq!(
        header(letter, headers::DEAD_LETTER_PAYLOAD_OMITTED),
        Some("true")
    );
    assert_eq!(header(letter, headers::ORIGINAL_OFFSET), Some("0"));
    assert!(letter.payload().unwrap_or_default().is_empty());
    let metrics = consumer.metrics().await.unwrap();
    assert!(
        metrics.contains(r#"dead_letter_failures_total{error="too_large"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("dead_letters_retrying 0"), "{metrics}");
}

/// A dead letter Kafka does not take within the delivery timeout — its topic is missing here,
/// which times it out as surely as a broker hung past the timeout, and without a race — is
/// written again until Kafka takes it; meanwhile the partition's commit stays before it, and
/// then moves on past it and the orders behind it.
#[tokio::test]
async fn a_dead_letter_that_times_out_is_written_again_and_the_commit_waits_for_it() {
    use rdkafka::admin::AdminOptions;
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "dl-timeout", 1).await.unwrap();
    let admin = e2e::kafka::admin(&bed).await.unwrap();
    for result in admin
        .delete_topics(&[&topics.dead_letters], &AdminOptions::new())
        .await
        .unwrap()
    {
        result.unwrap();
    }
    kcat_write(&bed, &topics.orders, "this is not an order\n");
    let orders = menu_orders(20);
    OrderWriter::new(&bed, &topics)
        .unwrap()
        .create_many(&orders)
        .await
        .unwrap();
    let args = [
        "--brew-time-scale",
        "0",
        "--kafka-delivery-timeout-ms",
        "2000",
    ];
    let consumer = ConsumerProcess::start(&bed, &topics, &args).await.unwrap();
    eventually(
        "a dead letter timed out",
        Duration::from_secs(60),
        || async {
            let metrics = consumer.metrics().await.map_err(|e| e.to_string())?;
            match metrics.contains("dead_letters_retrying 1") {
                true => Ok(()),
                false => Err(metrics),
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", consumer.log_tail()));
    let ids = ids(&orders);
    wait_until_final(&bed, &topics, &ids, Duration::from_secs(60), &consumer)
        .await
        .unwrap();
    let held = committed(&bed, &topics, 1).unwrap();
    assert!(
        held.get(&0).is_none_or(|offset| *offset == 0),
        "the commit passed a dead letter not yet written: {held:?}"
    );

    eventually(
        "the dead-letter topic back",
        Duration::from_secs(30),
        || async {
            e2e::kafka::create_topic(&admin, &topics.dead_letters, 1, &[])
                .await
                .map_err(|e| e.to_string())
        },
    )
    .await
    .unwrap();
    eventually(
        "the commit to pass all 21 messages",
        Duration::from_secs(90),
        || async {
            let committed = committed(&bed, &topics, 1).map_err(|e| e.to_string())?;
            match committed.get(&0) == Some(&21) {
                true => Ok(()),
                false => Err(format!("committed {committed:?}")),
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", consumer.log_tail()));
    let letters = dead_letters(&bed, &topics).await.unwrap();
    assert!(!letters.is_empty(), "{}", consumer.log_tail());
    for letter in &letters {
        assert_eq!(header(letter, headers::ORIGINAL_OFFSET), Some("0"));
    }
    let metrics = consumer.metrics().await.unwrap();
    assert!(metrics.contains("dead_letters_retrying 0"), "{metrics}");
}
