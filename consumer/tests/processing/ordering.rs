//! Parallel across orders, in order per order; cancel before brewing.

use std::time::Duration;

use coffee_events::status::OrderStatus;
use e2e::testbed::TestBed;

use coffee_events::order::OrderDetails;
use e2e::poll::eventually;
use uuid::Uuid;

use crate::support::{
    ConsumerProcess, OrderWriter, Topics, ids, menu_orders, order, statuses, wait_until_final,
};

#[tokio::test]
async fn every_order_is_completed_once_with_its_statuses_in_order() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "ordering", 4).await.unwrap();
    let writer = OrderWriter::new(&bed, &topics).unwrap();
    let orders = menu_orders(400);
    writer.create_many(&orders).await.unwrap();
    // Every fifth order is asked to be cancelled right away: it is either cancelled before
    // brewing or too late, but its statuses must still come in order.
    for (id, _) in orders.iter().step_by(5) {
        writer.cancel(*id).await.unwrap();
    }
    let consumer = ConsumerProcess::start(
        &bed,
        &topics,
        &["--workers", "16", "--brew-time-scale", "0.1"],
    )
    .await
    .unwrap();
    let ids = ids(&orders);
    let all = wait_until_final(&bed, &topics, &ids, Duration::from_secs(60), &consumer)
        .await
        .unwrap();
    for id in &ids {
        let statuses = &all[id];
        let valid = matches!(
            statuses.as_slice(),
            [OrderStatus::Processing, OrderStatus::Completed] | [OrderStatus::Cancelled]
        );
        assert!(valid, "order {id} has statuses {statuses:?}");
    }
    let utilised = consumer.metric("orders_processed_total").await.unwrap();
    assert_eq!(utilised, 400.0);
}

#[tokio::test]
async fn an_order_cancelled_before_brewing_is_not_brewed() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "cancel", 1).await.unwrap();
    let writer = OrderWriter::new(&bed, &topics).unwrap();
    // One worker brewing a slow Cappuccino (900 ms) while the Latte waits behind it.
    let (slow, slow_details) = order("Ada", "Cappuccino");
    let (waiting, waiting_details) = order("Grace", "Latte");
    writer.create(slow, &slow_details).await.unwrap();
    writer.create(waiting, &waiting_details).await.unwrap();
    writer.cancel(waiting).await.unwrap();
    let consumer = ConsumerProcess::start(
        &bed,
        &topics,
        &["--workers", "1", "--brew-time-scale", "10"],
    )
    .await
    .unwrap();
    let all = wait_until_final(
        &bed,
        &topics,
        &[slow, waiting],
        Duration::from_secs(30),
        &consumer,
    )
    .await
    .unwrap();
    assert_eq!(
        all[&slow],
        vec![OrderStatus::Processing, OrderStatus::Completed]
    );
    assert_eq!(all[&waiting], vec![OrderStatus::Cancelled]);
}

/// The try: one worker, one partition, 40 Lattes, and cancels of three of them that
/// reach Kafka while the worker is brewing the first. A worker takes up to 32 ready orders at
/// once; a cancel for one it holds but has not begun must still win.
#[tokio::test]
async fn cancels_of_orders_a_worker_holds_but_has_not_begun_are_honoured() {
    let bed = TestBed::load().unwrap();
    let topics = Topics::create(&bed, "cancel-held", 1).await.unwrap();
    let writer = OrderWriter::new(&bed, &topics).unwrap();
    let orders: Vec<(Uuid, OrderDetails)> =
        (0..40).map(|i| order(&format!("c{i}"), "Latte")).collect();
    writer.create_many(&orders).await.unwrap();
    let consumer = ConsumerProcess::start(
        &bed,
        &topics,
        &["--workers", "1", "--brew-time-scale", "10"],
    )
    .await
    .unwrap();
    // Each Latte brews for 600 ms: once the first is brewing, the worker holds the next ones.
    let first = orders[0].0;
    eventually(
        "the first order to be brewing",
        Duration::from_secs(30),
        || async {
            let all = statuses(&bed, &topics).await.map_err(|e| e.to_string())?;
            if all.contains_key(&first) {
                Ok(())
            } else {
                Err("no status yet".to_owned())
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", consumer.log_tail()));
    let cancelled = [orders[10].0, orders[29].0, orders[39].0];
    for id in cancelled {
        writer.cancel(id).await.unwrap();
    }
    let ids = ids(&orders);
    let all = wait_until_final(&bed, &topics, &ids, Duration::from_secs(60), &consumer)
        .await
        .unwrap();
    for id in cancelled {
        assert_eq!(
            all[&id],
            vec![OrderStatus::Cancelled],
            "order {id}\n{}",
            consumer.log_tail()
        );
    }
}
