//! A broker outage under the consumer: the broker stopped while orders are brewing and started
//! again 20 s later. The same consumer process — not restarted — must finish every order,
//! those it held during the outage and those written after it, each exactly once.

use std::time::Duration;

use e2e::fixtures::unique_name;
use e2e::kafka_instance::KafkaInstance;
use e2e::testbed::TestBed;

use crate::support::{
    ConsumerProcess, OrderWriter, Topics, assert_each_completed_once, menu_orders,
    wait_for_completions, wait_until_final,
};

/// How long the broker stays down (the chaos suite's outage).
const OUTAGE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_broker_stopped_mid_batch_and_started_again_loses_no_order() {
    let bed = TestBed::load().expect("the test bed");
    let mut broker = KafkaInstance::start(&bed, &unique_name("consumer-outage"))
        .await
        .expect("a broker of the test's own");
    let bed = bed.with_kafka(&broker.bootstrap_servers());
    let topics = Topics::create(&bed, "outage", 4).await.expect("topics");
    let before = menu_orders(1_500);
    let writer = OrderWriter::new(&bed, &topics).expect("a writer");
    writer.create_many(&before).await.expect("orders written");
    // About 4 s of brewing for 20 workers: the broker stops with orders in flight.
    let args = ["--workers", "20", "--brew-time-scale", "1"];
    let consumer = ConsumerProcess::start(&bed, &topics, &args)
        .await
        .expect("the consumer");
    wait_for_completions(&bed, &topics, 100, &consumer.log_tail()).await;
    broker.pause().await;
    tokio::time::sleep(OUTAGE).await;
    broker.resume().await.expect("the broker back");
    let after = menu_orders(300);
    let writer = OrderWriter::new(&bed, &topics).expect("a writer");
    writer
        .create_many(&after)
        .await
        .expect("orders written after");

    let ids: Vec<_> = before.iter().chain(&after).map(|(id, _)| *id).collect();
    let all = wait_until_final(&bed, &topics, &ids, Duration::from_secs(120), &consumer)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", consumer.log_tail()));
    assert_each_completed_once(&all, &ids, &consumer.log_tail());
    broker.pause().await;
}

/// Longer than the delivery timeout the next test gives the consumer.
const HANG: Duration = Duration::from_secs(8);

#[tokio::test]
async fn outcomes_timed_out_by_a_hung_broker_are_written_again_never_brewed_again() {
    let bed = TestBed::load().expect("the test bed");
    let broker = KafkaInstance::start(&bed, &unique_name("consumer-hang"))
        .await
        .expect("a broker of the test's own");
    let bed = bed.with_kafka(&broker.bootstrap_servers());
    let topics = Topics::create(&bed, "hang", 2).await.expect("topics");
    let orders = menu_orders(400);
    OrderWriter::new(&bed, &topics)
        .expect("a writer")
        .create_many(&orders)
        .await
        .expect("orders written");
    let args = [
        "--workers",
        "20",
        "--brew-time-scale",
        "1",
        "--kafka-delivery-timeout-ms",
        "3000",
    ];
    let consumer = ConsumerProcess::start(&bed, &topics, &args)
        .await
        .expect("the consumer");
    wait_for_completions(&bed, &topics, 50, &consumer.log_tail()).await;
    // Hung, not stopped: outcomes in flight time out on the consumer's side while the broker
    // may still append them when it runs again.
    broker.freeze().expect("the broker frozen");
    tokio::time::sleep(HANG).await;
    broker.thaw().expect("the broker running again");

    let ids: Vec<_> = orders.iter().map(|(id, _)| *id).collect();
    wait_until_final(&bed, &topics, &ids, Duration::from_secs(120), &consumer)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", consumer.log_tail()));
    let outcomes = crate::support::final_outcomes(&bed, &topics)
        .await
        .expect("the status topic");
    for id in &ids {
        let distinct = outcomes.get(id).cloned().unwrap_or_default();
        assert_eq!(
            distinct.len(),
            1,
            "order {id}: final outcomes (status, time) {distinct:?}\n{}",
            consumer.log_tail()
        );
        assert_eq!(
            distinct[0].0,
            coffee_events::status::OrderStatus::Completed,
            "order {id}"
        );
    }
    let metrics = reqwest::get(format!("{}/metrics", consumer.base))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("consumer_delivery_failures_total ") && !l.ends_with(" 0")),
        "the hang made outcome deliveries fail (else this test proves nothing):\n{metrics}"
    );
}
