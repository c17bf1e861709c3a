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
