//! Offsets are committed only for finished work, and a clean shutdown commits all of it.

use std::time::Duration;

use e2e::testbed::TestBed;

use crate::support::{ConsumerProcess, OrderWriter, Topics, committed, order, statuses};

#[tokio::test]
async fn the_committed_offset_never_passes_unfinished_orders() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "commits", 1).await.unwrap();
    let writer = OrderWriter::new(&bed, &topics).unwrap();
    let orders: Vec<_> = (0..4)
        .map(|i| order(&format!("c{i}"), "Espresso"))
        .collect();
    writer.create_many(&orders).await.unwrap();
    // One worker, 300 ms per Espresso: the orders finish one after another over 1.2 s.
    let consumer = ConsumerProcess::start(
        &bed,
        &topics,
        &[
            "--workers",
            "1",
            "--brew-time-scale",
            "10",
            "--commit-interval-ms",
            "50",
        ],
    )
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut seen_partial = false;
    loop {
        // Committed first, then completions: a commit seen must be covered by completions
        // written before it.
        let offset = committed(&bed, &topics, 1)
            .unwrap()
            .get(&0)
            .copied()
            .unwrap_or(0);
        let all = statuses(&bed, &topics).await.unwrap();
        let completed = orders
            .iter()
            .filter(|(id, _)| all.get(id).is_some_and(|s| s.iter().any(|s| s.is_final())))
            .count();
        assert!(
            offset <= i64::try_from(completed).unwrap(),
            "committed offset {offset} with only {completed} orders finished"
        );
        seen_partial |= offset > 0 && offset < 4;
        if offset == 4 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "offset stuck at {offset}\n{}",
            consumer.log_tail()
        );
    }
    assert!(
        seen_partial,
        "never observed a commit between the first and the last order"
    );
    let status = consumer.terminate().await.unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn sigterm_commits_finished_work_and_exits_zero() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "sigterm", 2).await.unwrap();
    let writer = OrderWriter::new(&bed, &topics).unwrap();
    let orders: Vec<_> = (0..10).map(|i| order(&format!("c{i}"), "Latte")).collect();
    writer.create_many(&orders).await.unwrap();
    // A long commit interval: only the shutdown commits.
    let consumer = ConsumerProcess::start(
        &bed,
        &topics,
        &["--brew-time-scale", "0", "--commit-interval-ms", "60000"],
    )
    .await
    .unwrap();
    e2e::poll::eventually("10 orders processed", Duration::from_secs(30), || async {
        match consumer.metric("orders_processed_total").await {
            Ok(n) if n >= 10.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
    .unwrap();
    let log = consumer.log_tail();
    let status = consumer.terminate().await.unwrap();
    assert!(status.success(), "{status:?}\n{log}");
    let total: i64 = committed(&bed, &topics, 2).unwrap().values().sum();
    assert_eq!(total, 10);
}

#[tokio::test]
async fn a_full_in_flight_budget_pauses_fetching_instead_of_queueing() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "backpressure", 1).await.unwrap();
    let orders: Vec<_> = (0..300)
        .map(|i| order(&format!("c{i}"), "Espresso"))
        .collect();
    OrderWriter::new(&bed, &topics)
        .unwrap()
        .create_many(&orders)
        .await
        .unwrap();
    // One worker at 300 ms per order: the budget of 20 fills and stays full for longer than
    // the fetcher waits before pausing.
    let consumer = ConsumerProcess::start(
        &bed,
        &topics,
        &[
            "--workers",
            "1",
            "--brew-time-scale",
            "10",
            "--max-in-flight",
            "20",
            "--batch-max-messages",
            "10",
        ],
    )
    .await
    .unwrap();
    e2e::poll::eventually("fetching to pause", Duration::from_secs(20), || async {
        match consumer.metric("consumer_paused").await {
            Ok(1.0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
    .unwrap();
    for _ in 0..10 {
        let in_flight = consumer
            .metric("consumer_in_flight_messages")
            .await
            .unwrap();
        // The budget plus at most one batch taken before the pause.
        assert!(in_flight <= 30.0, "{in_flight} messages in flight");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
