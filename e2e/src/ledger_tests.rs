use super::*;
use coffee_events::order::OrderDetails;

fn event(id: u128, status: OrderStatus, second: i64) -> StatusEvent {
    StatusEvent {
        order_id: uuid::Uuid::from_u128(id),
        status,
        at: jiff::Timestamp::from_second(second).expect("a time"),
        order: OrderDetails {
            customer_name: format!("customer {id}"),
            coffee_type: "Latte".into(),
            created_at: jiff::Timestamp::from_second(second).expect("a time"),
        },
        reason: None,
    }
}

fn acknowledged(id: u128, second: u64) -> Acknowledged {
    Acknowledged {
        id: uuid::Uuid::from_u128(id).to_string(),
        at: SystemTime::UNIX_EPOCH + Duration::from_secs(second),
        latency: Duration::from_millis(3),
    }
}

#[test]
fn an_order_completed_once_passes_with_its_end_to_end_time() {
    let mut ledger = Ledger::default();
    ledger.record(&event(1, OrderStatus::Processing, 100), None);
    ledger.record(&event(1, OrderStatus::Completed, 102), None);
    let check = ledger.check(&[acknowledged(1, 100)]);
    assert!(check.passed(), "{check:?}");
    // From the request, 3 ms before the `202` at 100 s.
    assert_eq!(check.end_to_end, vec![Duration::from_millis(2_003)]);
}

#[test]
fn an_accepted_order_without_a_final_status_is_lost() {
    let mut ledger = Ledger::default();
    ledger.record(&event(1, OrderStatus::Processing, 100), None);
    let check = ledger.check(&[acknowledged(1, 100)]);
    assert_eq!(check.lost, vec![uuid::Uuid::from_u128(1).to_string()]);
    assert!(!check.passed());
}

#[test]
fn a_second_completion_of_one_order_is_counted_as_a_duplicate() {
    let mut ledger = Ledger::default();
    ledger.record(&event(1, OrderStatus::Completed, 101), None);
    ledger.record(&event(1, OrderStatus::Completed, 105), None);
    let check = ledger.check(&[acknowledged(1, 100)]);
    assert_eq!(check.completed_twice, 1);
    assert_eq!(check.end_to_end, vec![Duration::from_millis(1_003)]);
    assert!(!check.passed());
}

#[test]
fn a_failed_order_is_not_lost_but_fails_the_check() {
    let mut ledger = Ledger::default();
    ledger.record(&event(1, OrderStatus::Failed, 101), None);
    let check = ledger.check(&[acknowledged(1, 100)]);
    assert!(check.lost.is_empty());
    assert_eq!(check.failed, 1);
    assert!(!check.passed());
}

#[test]
fn completions_of_orders_never_acknowledged_are_reported_apart() {
    let mut ledger = Ledger::default();
    ledger.record(&event(2, OrderStatus::Completed, 101), None);
    let check = ledger.check(&[]);
    assert_eq!(check.unacknowledged, 1);
    assert!(check.passed());
}

#[test]
fn completions_are_read_once_each_through_a_cursor() {
    let mut ledger = Ledger::default();
    ledger.record(&event(1, OrderStatus::Completed, 101), None);
    ledger.record(&event(1, OrderStatus::Completed, 102), None);
    ledger.record(&event(2, OrderStatus::Completed, 103), None);
    assert_eq!(ledger.completed(), 2);
    assert_eq!(ledger.completions_since(1).len(), 1);
    assert!(ledger.completions_since(5).is_empty());
}

#[test]
fn the_brokers_append_time_counts_when_the_topic_keeps_it() {
    let mut ledger = Ledger::default();
    let appended = SystemTime::UNIX_EPOCH + Duration::from_millis(101_500);
    ledger.record(&event(1, OrderStatus::Completed, 101), Some(appended));
    let check = ledger.check(&[acknowledged(1, 100)]);
    assert_eq!(check.end_to_end, vec![Duration::from_millis(1_503)]);
}

#[test]
fn a_request_published_as_two_orders_is_a_duplicated_request() {
    let mut ledger = Ledger::default();
    let mut twin = event(2, OrderStatus::Completed, 101);
    twin.order.customer_name = "customer 1".to_owned();
    ledger.record(&event(1, OrderStatus::Completed, 101), None);
    ledger.record(&twin, None);
    let check = ledger.check(&[acknowledged(1, 100)]);
    assert_eq!(check.duplicated_requests, 1);
    let example = &check.duplicated_request_examples[0];
    assert!(
        example.starts_with("customer 1: ") && example.matches(", ").count() == 1,
        "the example names the customer and its two orders: {example}"
    );
    assert!(!check.passed());
}

#[test]
fn a_refused_request_whose_order_appears_fails_the_check() {
    let mut ledger = Ledger::default();
    ledger.record(&event(2, OrderStatus::Processing, 101), None);
    let check = ledger.check_requests(&[], &["customer 2".to_owned()], &[]);
    assert_eq!(check.refused_but_present, 1);
    assert!(!check.passed());
    let elsewhere = ledger.check_requests(&[], &["customer 3".to_owned()], &[]);
    assert!(elsewhere.passed(), "{elsewhere:?}");
}

#[test]
fn a_cancel_honoured_or_too_late_passes() {
    let mut ledger = Ledger::default();
    ledger.record(&event(1, OrderStatus::Cancelled, 101), None);
    ledger.record(&event(2, OrderStatus::Completed, 101), None);
    let asked = [1u128, 2].map(|id| uuid::Uuid::from_u128(id).to_string());
    let check = ledger.check_requests(&[acknowledged(1, 100), acknowledged(2, 100)], &[], &asked);
    assert_eq!((check.cancelled_once, check.cancel_too_late), (1, 1));
    assert!(check.passed(), "{check:?}");
}

#[test]
fn a_cancel_nobody_asked_for_fails_the_check() {
    let mut ledger = Ledger::default();
    ledger.record(&event(1, OrderStatus::Cancelled, 101), None);
    let check = ledger.check(&[acknowledged(1, 100)]);
    assert_eq!(check.failed, 1);
    assert!(!check.passed());
}

#[test]
fn an_order_both_completed_and_cancelled_is_a_duplicate() {
    let mut ledger = Ledger::default();
    ledger.record(&event(1, OrderStatus::Completed, 101), None);
    ledger.record(&event(1, OrderStatus::Cancelled, 102), None);
    let asked = [uuid::Uuid::from_u128(1).to_string()];
    let check = ledger.check_requests(&[acknowledged(1, 100)], &[], &asked);
    assert_eq!(check.completed_twice, 1);
    assert!(!check.passed());
}

#[test]
fn quantiles_take_the_nearest_rank() {
    let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
    assert_eq!(quantile(&values, 0.5), Some(Duration::from_millis(50)));
    assert_eq!(quantile(&values, 0.99), Some(Duration::from_millis(99)));
    assert_eq!(quantile(&values, 1.0), Some(Duration::from_millis(100)));
    assert_eq!(quantile(&[], 0.5), None);
}

#[test]
fn one_outcome_read_twice_unchanged_is_told_not_counted_as_a_second_brew() {
    let mut ledger = Ledger::default();
    ledger.record(&event(1, OrderStatus::Completed, 101), None);
    ledger.record(&event(1, OrderStatus::Completed, 101), None);
    let check = ledger.check(&[acknowledged(1, 100)]);
    assert_eq!(check.completed_twice, 0);
    assert_eq!(check.repeated_outcomes, 1);
    assert_eq!(ledger.finished(), 1);
    assert!(check.passed(), "{check:?}");
}
