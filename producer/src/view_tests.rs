use super::*;
use coffee_events::order::OrderDetails;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + second).unwrap()
}

fn id(n: u128) -> Uuid {
    // Ordered like UUIDv7: a larger number is a newer order.
    Uuid::from_u128(n)
}

fn details(name: &str, second: i64) -> OrderDetails {
    OrderDetails {
        customer_name: name.into(),
        coffee_type: "Latte".into(),
        created_at: at(second),
    }
}

fn created(n: u128, name: &str, key: Option<&str>) -> OrderEvent {
    OrderEvent::OrderCreated {
        order_id: id(n),
        order: details(name, i64::try_from(n).unwrap()),
        idempotency_key: key.map(str::to_owned),
    }
}

fn status(n: u128, status: OrderStatus, second: i64) -> StatusEvent {
    StatusEvent {
        order_id: id(n),
        status,
        at: at(second),
        order: details("Ada", 0),
        reason: None,
    }
}

fn view_with(events: &[OrderEvent]) -> OrderView {
    let mut view = OrderView::new(1_000);
    events.iter().for_each(|e| view.apply_order_event(e));
    view
}

#[test]
fn a_created_order_is_pending() {
    let view = view_with(&[created(1, "Ada", None)]);
    let order = view.get(&id(1)).unwrap();
    assert_eq!(
        (order.status, &*order.customer_name),
        (OrderStatus::Pending, "Ada")
    );
}

#[test]
fn applying_a_creation_twice_changes_nothing() {
    let once = view_with(&[created(1, "Ada", Some("k"))]);
    let twice = view_with(&[created(1, "Ada", Some("k")), created(1, "Ada", Some("k"))]);
    assert_eq!(once.get(&id(1)), twice.get(&id(1)));
    assert_eq!(twice.len(), 1);
}

#[test]
fn status_moves_forward() {
    let mut view = view_with(&[created(1, "Ada", None)]);
    view.apply_status_event(&status(1, OrderStatus::Processing, 5));
    view.apply_status_event(&status(1, OrderStatus::Completed, 9));
    let order = view.get(&id(1)).unwrap();
    assert_eq!(
        (order.status, order.updated_at),
        (OrderStatus::Completed, at(9))
    );
}

#[test]
fn a_late_processing_event_does_not_undo_completion() {
    let mut view = view_with(&[created(1, "Ada", None)]);
    view.apply_status_event(&status(1, OrderStatus::Completed, 9));
    view.apply_status_event(&status(1, OrderStatus::Processing, 5));
    assert_eq!(view.get(&id(1)).unwrap().status, OrderStatus::Completed);
}

#[test]
fn the_first_final_status_wins() {
    let mut view = view_with(&[created(1, "Ada", None)]);
    view.apply_status_event(&status(1, OrderStatus::Cancelled, 3));
    view.apply_status_event(&status(1, OrderStatus::Completed, 9));
    assert_eq!(view.get(&id(1)).unwrap().status, OrderStatus::Cancelled);
}

#[test]
fn a_status_before_the_creation_still_yields_the_order() {
    let mut view = OrderView::new(10);
    view.apply_status_event(&status(1, OrderStatus::Completed, 9));
    view.apply_order_event(&created(1, "Ada", Some("k")));
    let order = view.get(&id(1)).unwrap();
    assert_eq!(order.status, OrderStatus::Completed);
    assert!(
        view.by_idempotency_key("k", at(10), Duration::from_secs(60))
            .is_some()
    );
}

#[test]
fn a_failure_seen_before_anything_else_keeps_its_reason() {
    let mut view = OrderView::new(10);
    view.apply_status_event(&StatusEvent {
        reason: Some("out of milk".into()),
        ..status(1, OrderStatus::Failed, 9)
    });
    assert_eq!(
        view.get(&id(1)).unwrap().reason.as_deref(),
        Some("out of milk")
    );
}

#[test]
fn a_cancel_request_is_shown_until_the_consumer_decides() {
    let mut view = view_with(&[
        created(1, "Ada", None),
        OrderEvent::OrderCancelRequested {
            order_id: id(1),
            requested_at: at(4),
        },
    ]);
    assert!(view.get(&id(1)).unwrap().cancel_requested);
    view.apply_status_event(&status(1, OrderStatus::Cancelled, 6));
    let order = view.get(&id(1)).unwrap();
    assert_eq!(
        (order.status, order.cancel_requested),
        (OrderStatus::Cancelled, false)
    );
}

#[test]
fn a_cancel_request_for_a_final_order_is_ignored() {
    let mut view = view_with(&[created(1, "Ada", None)]);
    view.apply_status_event(&status(1, OrderStatus::Completed, 3));
    view.apply_order_event(&OrderEvent::OrderCancelRequested {
        order_id: id(1),
        requested_at: at(4),
    });
    assert!(!view.get(&id(1)).unwrap().cancel_requested);
}

#[test]
fn idempotency_key_finds_its_order_within_retention_only() {
    let view = view_with(&[created(1, "Ada", Some("key-1"))]);
    let retention = Duration::from_secs(60);
    assert_eq!(
        view.by_idempotency_key("key-1", at(30), retention)
            .map(|o| o.id),
        Some(id(1))
    );
    assert!(
        view.by_idempotency_key("key-1", at(100), retention)
            .is_none()
    );
    assert!(
        view.by_idempotency_key("other", at(30), retention)
            .is_none()
    );
}

#[test]
fn list_is_newest_first_with_a_cursor() {
    let view = view_with(&(1..=5).map(|n| created(n, "Ada", None)).collect::<Vec<_>>());
    let first = view.list(&ListQuery {
        limit: 2,
        ..ListQuery::default()
    });
    assert_eq!(
        first.orders.iter().map(|o| o.id).collect::<Vec<_>>(),
        [id(5), id(4)]
    );
    assert_eq!(first.next_cursor, Some(id(4)));
    let second = view.list(&ListQuery {
        limit: 2,
        before: first.next_cursor,
        ..ListQuery::default()
    });
    assert_eq!(
        second.orders.iter().map(|o| o.id).collect::<Vec<_>>(),
        [id(3), id(2)]
    );
    let last = view.list(&ListQuery {
        limit: 2,
        before: second.next_cursor,
        ..ListQuery::default()
    });
    assert_eq!((last.orders.len(), last.next_cursor), (1, None));
}

#[test]
fn list_filters_by_status_and_customer_ignoring_case() {
    let mut view = view_with(&[
        created(1, "Ada", None),
        created(2, "Grace", None),
        created(3, "ada", None),
    ]);
    view.apply_status_event(&status(3, OrderStatus::Completed, 9));
    let ada = view.list(&ListQuery {
        customer: Some("ADA".into()),
        limit: 10,
        ..ListQuery::default()
    });
    assert_eq!(
        ada.orders.iter().map(|o| o.id).collect::<Vec<_>>(),
        [id(3), id(1)]
    );
    let done = view.list(&ListQuery {
        status: Some(OrderStatus::Completed),
        limit: 10,
        ..ListQuery::default()
    });
    assert_eq!(
        done.orders.iter().map(|o| o.id).collect::<Vec<_>>(),
        [id(3)]
    );
}

#[test]
fn a_full_view_forgets_the_oldest_orders_and_their_keys() {
    let mut view = OrderView::new(2);
    view.apply_order_event(&created(1, "Ada", Some("k1")));
    view.apply_order_event(&created(2, "Ada", None));
    view.apply_order_event(&created(3, "Ada", None));
    assert_eq!(view.len(), 2);
    assert!(view.get(&id(1)).is_none());
    assert!(
        view.by_idempotency_key("k1", at(3), Duration::from_secs(60))
            .is_none()
    );
}

#[test]
fn a_full_view_keeps_its_reserved_buffer() {
    let mut view = OrderView::new(1_000);
    let reserved = view.orders.capacity();
    (1..=3_000).for_each(|n| view.apply_order_event(&created(n, "Ada", None)));
    assert_eq!((view.len(), view.orders.capacity()), (1_000, reserved));
}

#[test]
fn a_status_older_than_a_full_view_is_not_kept() {
    let mut view = OrderView::new(2);
    view.apply_order_event(&created(5, "Ada", None));
    view.apply_order_event(&created(6, "Ada", None));
    view.apply_status_event(&status(1, OrderStatus::Completed, 7));
    assert_eq!((view.len(), view.get(&id(1))), (2, None));
}

#[test]
fn a_creation_older_than_a_full_view_is_answered_though_not_kept() {
    let mut view = OrderView::new(2);
    view.apply_order_event(&created(5, "Ada", None));
    view.apply_order_event(&created(6, "Ada", None));
    let answer = view.apply_creation(&created(1, "Grace", None));
    assert_eq!(
        answer.map(|o| (o.id, o.status, o.customer_name)),
        Some((id(1), OrderStatus::Pending, "Grace".into()))
    );
    assert!(view.get(&id(1)).is_none());
}

#[test]
fn a_creation_is_answered_as_the_view_holds_it() {
    let mut view = OrderView::new(10);
    view.apply_status_event(&status(1, OrderStatus::Processing, 5));
    let answer = view.apply_creation(&created(1, "Ada", None));
    assert_eq!(answer.map(|o| o.status), Some(OrderStatus::Processing));
}

#[test]
fn orders_serialize_without_internal_fields() {
    let view = view_with(&[created(1, "Ada", Some("secret-key"))]);
    let json = serde_json::to_value(view.get(&id(1)).unwrap()).unwrap();
    assert_eq!(json["status"], "pending");
    assert!(json.get("idempotency_key").is_none());
    assert!(json.get("reason").is_none());
}

#[test]
fn an_older_order_arriving_late_takes_its_place_in_id_order() {
    let mut view = view_with(&[created(1, "Ada", None), created(3, "Ada", None)]);
    view.apply_status_event(&status(2, OrderStatus::Processing, 5));
    let page = view.list(&ListQuery {
        limit: 10,
        ..ListQuery::default()
    });
    assert_eq!(
        page.orders.iter().map(|o| o.id).collect::<Vec<_>>(),
        [id(3), id(2), id(1)]
    );
    assert_eq!(
        view.get(&id(2)).map(|o| o.status),
        Some(OrderStatus::Processing)
    );
}

#[test]
fn a_cursor_between_orders_starts_the_page_below_it() {
    let view = view_with(&[created(1, "Ada", None), created(3, "Ada", None)]);
    let page = view.list(&ListQuery {
        limit: 10,
        before: Some(id(2)),
        ..ListQuery::default()
    });
    assert_eq!(
        page.orders.iter().map(|o| o.id).collect::<Vec<_>>(),
        [id(1)]
    );
}

proptest::proptest! {
    #[test]
    fn orders_arriving_in_any_order_are_found_and_listed_newest_first(
        ids in proptest::collection::vec(0u128..200, 1..60)
    ) {
        let events: Vec<OrderEvent> = ids.iter().map(|&n| created(n, "Ada", None)).collect();
        let view = view_with(&events);
        let mut expected: Vec<Uuid> = ids.iter().map(|&n| id(n)).collect();
        expected.sort_unstable();
        expected.dedup();
        for order_id in &expected {
            proptest::prop_assert_eq!(view.get(order_id).map(|o| o.id), Some(*order_id));
        }
        proptest::prop_assert!(view.get(&id(200)).is_none());
        let listed: Vec<Uuid> = view
            .list(&ListQuery { limit: 100, ..ListQuery::default() })
            .orders
            .iter()
            .map(|o| o.id)
            .collect();
        expected.reverse();
        proptest::prop_assert_eq!(listed, expected);
    }
}

#[test]
fn a_full_view_merging_a_batch_keeps_its_reserved_buffer() {
    let mut view = OrderView::new(1_000);
    let reserved = view.orders.capacity();
    let events: Vec<OrderEvent> = (1..=3_000).rev().map(|n| created(n, "Ada", None)).collect();
    view.apply_order_events(&events);
    assert_eq!((view.len(), view.orders.capacity()), (1_000, reserved));
    assert!(view.get(&id(2_001)).is_some() && view.get(&id(2_000)).is_none());
}

fn order_event(kind: u8, n: u128, second: i64) -> OrderEvent {
    match kind {
        0 => created(n, "Ada", None),
        1 => created(n, "Grace", Some(&format!("key-{n}"))),
        _ => OrderEvent::OrderCancelRequested {
            order_id: id(n),
            requested_at: at(second),
        },
    }
}

fn status_event(rank: usize, n: u128, second: i64) -> StatusEvent {
    let statuses = [
        OrderStatus::Processing,
        OrderStatus::Completed,
        OrderStatus::Failed,
    ];
    StatusEvent {
        reason: Some(format!("reason {second}")),
        ..status(n, statuses[rank], second)
    }
}

proptest::proptest! {
    #[test]
    fn events_applied_in_batches_give_the_view_they_give_one_by_one(
        orders in proptest::collection::vec((0u8..3, 0u128..40, 0i64..100), 0..80),
        statuses in proptest::collection::vec((0usize..3, 0u128..40, 0i64..100), 0..80),
        max_orders in 1usize..30,
        batch in 1usize..12,
    ) {
        // As in the topic, an order's cancel request follows its creation.
        let mut created_so_far = std::collections::HashSet::new();
        let orders: Vec<OrderEvent> = orders
            .into_iter()
            .filter(|&(kind, n, _)| {
                let is_creation = kind < 2;
                if is_creation {
                    created_so_far.insert(n);
                }
                is_creation || created_so_far.contains(&n)
            })
            .map(|(k, n, s)| order_event(k, n, s))
            .collect();
        let statuses: Vec<StatusEvent> =
            statuses.into_iter().map(|(r, n, s)| status_event(r, n, s)).collect();
        let mut one_by_one = OrderView::new(max_orders);
        orders.iter().for_each(|e| one_by_one.apply_order_event(e));
        statuses.iter().for_each(|e| one_by_one.apply_status_event(e));
        let mut batched = OrderView::new(max_orders);
        orders.chunks(batch).for_each(|chunk| batched.apply_order_events(chunk));
        statuses.chunks(batch).for_each(|chunk| batched.apply_status_events(chunk));

        let everything = ListQuery { limit: 100, ..ListQuery::default() };
        proptest::prop_assert_eq!(batched.list(&everything), one_by_one.list(&everything));
        for n in 0..40 {
            let key = format!("key-{n}");
            let lookup = |view: &OrderView| {
                view.by_idempotency_key(&key, at(0), Duration::from_secs(1_000))
            };
            proptest::prop_assert_eq!(lookup(&batched), lookup(&one_by_one));
        }
    }
}

#[test]
fn an_order_known_only_from_its_status_has_no_creation_until_its_creation_is_read() {
    let mut view = OrderView::new(10);
    view.apply_status_events(&[status(1, OrderStatus::Processing, 2)]);
    assert!(view.contains(&id(1)));
    assert!(!view.has_creation(&id(1)));
    view.apply_order_events(&[created(1, "Ada", Some("retry-1"))]);
    assert!(view.has_creation(&id(1)));
    let order = view.by_idempotency_key("retry-1", at(3), Duration::from_secs(60));
    assert_eq!(order.map(|o| o.id), Some(id(1)));
}
