//! The worker count follows the control topic within seconds, growing and shrinking.

use std::time::Duration;

use e2e::poll::eventually;
use e2e::testbed::TestBed;

use crate::support::{
    ConsumerProcess, OrderWriter, Topics, ids, menu_orders, set_workers, wait_until_final,
};

async fn wait_for_workers(consumer: &ConsumerProcess, wanted: u64) {
    eventually(
        &format!("{wanted} live workers"),
        Duration::from_secs(5),
        || async {
            let workers = consumer.workers().await.map_err(|e| e.to_string())?;
            if workers["live"] == wanted && workers["target"] == wanted {
                Ok(())
            } else {
                Err(workers.to_string())
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", consumer.log_tail()));
}

#[tokio::test]
async fn a_worker_count_written_to_the_control_topic_takes_effect_within_seconds() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "resize", 2).await.unwrap();
    let consumer = ConsumerProcess::start(&bed, &topics, &["--workers", "2"])
        .await
        .unwrap();
    wait_for_workers(&consumer, 2).await;

    set_workers(&bed, &topics, 7).await.unwrap();
    wait_for_workers(&consumer, 7).await;
    assert_eq!(consumer.metric("consumer_workers").await.unwrap(), 7.0);

    // Shrinking while orders brew: none is dropped.
    let orders = menu_orders(100);
    OrderWriter::new(&bed, &topics)
        .unwrap()
        .create_many(&orders)
        .await
        .unwrap();
    set_workers(&bed, &topics, 3).await.unwrap();
    wait_for_workers(&consumer, 3).await;
    let ids = ids(&orders);
    wait_until_final(&bed, &topics, &ids, Duration::from_secs(60), &consumer)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_new_consumer_starts_with_the_count_already_in_the_control_topic() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "resize-late", 1).await.unwrap();
    set_workers(&bed, &topics, 5).await.unwrap();
    let consumer = ConsumerProcess::start(&bed, &topics, &["--workers", "1"])
        .await
        .unwrap();
    wait_for_workers(&consumer, 5).await;
}
