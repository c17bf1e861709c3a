//! Parallel across orders, in order per order; cancel before brewing.

use std::time::Duration;

use coffee_events::status::OrderStatus;
use e2e::testbed::TestBed;

use crate::support::{ConsumerProcess, OrderWriter, Topics, menu_orders, order, wait_until_final};

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
    let ids: Vec<_> = orders.iter().map(|(id, _)| *id).collect();
    let all = wait_until_final(
        &bed,
        &topics,
        &ids,
        Duration::from_secs(60),
        &consumer.log_tail(),
    )
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
        &consumer.log_tail(),
    )
    .await
    .unwrap();
    assert_eq!(
        all[&slow],
        vec![OrderStatus::Processing, OrderStatus::Completed]
    );
    assert_eq!(all[&waiting], vec![OrderStatus::Cancelled]);
}
