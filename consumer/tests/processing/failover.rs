//! At least once without doing anything twice: a consumer killed mid-batch, and a second
//! consumer joining mid-stream.

use std::time::Duration;

use e2e::testbed::TestBed;

use crate::support::{
    ConsumerProcess, OrderWriter, Topics, assert_each_completed_once, completions, ids,
    menu_orders, wait_for_completions, wait_until_final,
};

/// Starts a consumer, SIGKILLs it once `kill_after` orders are finished, starts another, and
/// checks that every order is completed exactly once.
async fn kill_and_restart(prefix: &str, orders: usize, kill_after: usize, args: &[&str]) {
    let bed = TestBed::load().expect("test bed and consumer processes");
    let topics = Topics::create(&bed, prefix, 4)
        .await
        .expect("test bed and consumer processes");
    let orders = menu_orders(orders);
    OrderWriter::new(&bed, &topics)
        .expect("test bed and consumer processes")
        .create_many(&orders)
        .await
        .expect("test bed and consumer processes");
    let first = ConsumerProcess::start(&bed, &topics, args)
        .await
        .expect("test bed and consumer processes");
    wait_for_completions(&bed, &topics, kill_after, &first.log_tail()).await;
    first.kill().await.expect("test bed and consumer processes");

    let second = ConsumerProcess::start(&bed, &topics, args)
        .await
        .expect("test bed and consumer processes");
    let ids = ids(&orders);
    let all = wait_until_final(&bed, &topics, &ids, Duration::from_secs(90), &second)
        .await
        .expect("test bed and consumer processes");
    assert_each_completed_once(&all, &ids, &second.log_tail());
}

#[tokio::test]
async fn a_consumer_killed_mid_batch_loses_nothing_and_completes_nothing_twice() {
    // About 4 s of brewing for 20 workers, commits every 500 ms: killed between commits.
    let args = [
        "--workers",
        "20",
        "--brew-time-scale",
        "1",
        "--commit-interval-ms",
        "500",
    ];
    kill_and_restart("killed", 1500, 500, &args).await;
}

#[tokio::test]
async fn a_consumer_killed_before_its_first_commit_completes_nothing_twice() {
    let args = [
        "--workers",
        "20",
        "--brew-time-scale",
        "0.2",
        "--commit-interval-ms",
        "60000",
    ];
    kill_and_restart("killed-early", 600, 100, &args).await;
}

#[tokio::test]
async fn a_second_consumer_joining_mid_stream_loses_nothing() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "rebalance", 6).await.unwrap();
    // About 7 s of brewing for 20 workers: the rebalance happens while most orders wait.
    let orders = menu_orders(2400);
    OrderWriter::new(&bed, &topics)
        .unwrap()
        .create_many(&orders)
        .await
        .unwrap();
    let args = ["--workers", "20", "--brew-time-scale", "1"];
    let first = ConsumerProcess::start(&bed, &topics, &args).await.unwrap();
    wait_for_completions(&bed, &topics, 300, &first.log_tail()).await;
    let second = ConsumerProcess::start(&bed, &topics, &args).await.unwrap();

    let ids = ids(&orders);
    let all = wait_until_final(&bed, &topics, &ids, Duration::from_secs(90), &first)
        .await
        .unwrap();
    let missing: Vec<_> = ids.iter().filter(|id| completions(&all, id) == 0).collect();
    assert!(
        missing.is_empty(),
        "{} orders never completed",
        missing.len()
    );
    let twice = ids.iter().filter(|id| completions(&all, id) > 1).count();
    assert_eq!(twice, 0, "orders completed twice across the rebalance");
    assert!(
        second.metric("orders_processed_total").await.unwrap() > 0.0,
        "the second consumer got no work\n{}",
        second.log_tail()
    );
    assert!(
        first
            .metric("rebalances_total{kind=\"revoke\"}")
            .await
            .unwrap()
            >= 1.0
    );
}
