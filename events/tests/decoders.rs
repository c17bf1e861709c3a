//! Whatever is on the topics, the decoders the consumer and the producer's view apply to it
//! answer with an event or an error — never a panic — and every event they accept keeps the
//! limits the order API enforces. A bounded property run in CI stands in for a fuzzer: each
//! case starts from a valid message and breaks it the way real topics do (truncated by a
//! faulty writer, bytes flipped, a future schema version, huge strings, invalid UTF-8).

use coffee_events::order::{
    COFFEE_TYPE_MAX_CHARS, CUSTOMER_NAME_MAX_CHARS, IDEMPOTENCY_KEY_MAX_LEN, OrderDetails,
    OrderEvent,
};
use coffee_events::status::{OrderStatus, REASON_MAX_CHARS, StatusEvent};
use jiff::Timestamp;
use proptest::prelude::*;
use uuid::Uuid;

fn order_event(name: String, coffee: String, key: Option<String>) -> Vec<u8> {
    OrderEvent::OrderCreated {
        order_id: Uuid::from_u128(7),
        order: details(name, coffee),
        idempotency_key: key,
    }
    .encode()
}

fn status_event(name: String, coffee: String, reason: Option<String>) -> Vec<u8> {
    StatusEvent {
        order_id: Uuid::from_u128(7),
        status: OrderStatus::Failed,
        at: Timestamp::from_second(1_700_000_000).expect("a time"),
        order: details(name, coffee),
        reason,
    }
    .encode()
}

fn details(customer_name: String, coffee_type: String) -> OrderDetails {
    OrderDetails {
        customer_name,
        coffee_type,
        created_at: Timestamp::from_second(1_700_000_000).expect("a time"),
    }
}

/// A text of any length up to `max` characters, sometimes far beyond the limits.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![".{0,120}", (0..max).prop_map(|n| "é".repeat(n)),]
}

/// How a valid body is broken.
#[derive(Debug, Clone)]
enum Damage {
    None,
    Truncate(usize),
    Flip(usize, u8),
    FutureVersion(u16),
    Splice(usize, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        Just(Damage::None),
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Flip(i, b)),
        (2u16..=u16::MAX).prop_map(Damage::FutureVersion),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(i, bytes)| Damage::Splice(i, bytes)),
    ]
}

fn apply(damage: &Damage, mut body: Vec<u8>) -> Vec<u8> {
    match damage {
        Damage::None => body,
        Damage::Truncate(at) => {
            body.truncate(at % (body.len() + 1));
            body
        }
        Damage::Flip(at, byte) => {
            if !body.is_empty() {
                let at = at % body.len();
                body[at] ^= byte;
            }
            body
        }
        Damage::FutureVersion(version) => String::from_utf8_lossy(&body)
            .replacen(
                "\"schema_version\":1",
                &format!("\"schema_version\":{version}"),
                1,
            )
            .into_bytes(),
        Damage::Splice(at, bytes) => {
            let at = at % (body.len() + 1);
            body.splice(at..at, bytes.iter().copied());
            body
        }
    }
}

fn keeps_the_limits(order: &OrderDetails) -> bool {
    (1..=CUSTOMER_NAME_MAX_CHARS).contains(&order.customer_name.chars().count())
        && (1..=COFFEE_TYPE_MAX_CHARS).contains(&order.coffee_type.chars().count())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_bytes_decode_to_an_event_or_an_error(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = OrderEvent::decode(&body);
        let _ = StatusEvent::decode(&body);
    }

    #[test]
    fn a_damaged_order_event_that_decodes_keeps_the_limits(
        name in text(300),
        coffee in text(80),
        key in prop::option::of("[!-~]{0,300}"),
        damage in damage(),
    ) {
        let body = apply(&damage, order_event(name, coffee, key));
        if let Ok(OrderEvent::OrderCreated { order, idempotency_key, .. }) = OrderEvent::decode(&body) {
            prop_assert!(keeps_the_limits(&order), "{order:?}");
            prop_assert!(idempotency_key.is_none_or(|k| k.len() <= IDEMPOTENCY_KEY_MAX_LEN));
        }
    }

    #[test]
    fn a_damaged_status_event_that_decodes_keeps_the_limits(
        name in text(300),
        coffee in text(80),
        reason in prop::option::of(text(700)),
        damage in damage(),
    ) {
        let body = apply(&damage, status_event(name, coffee, reason));
        if let Ok(event) = StatusEvent::decode(&body) {
            prop_assert!(keeps_the_limits(&event.order), "{:?}", event.order);
            let reason = event.reason.unwrap_or_default().chars().count();
            prop_assert!(reason <= REASON_MAX_CHARS);
        }
    }

    #[test]
    fn a_future_schema_version_is_never_read_as_this_one(version in 2u16..=u16::MAX) {
        let body = apply(
            &Damage::FutureVersion(version),
            order_event("Ada".into(), "Latte".into(), None),
        );
        let error = OrderEvent::decode(&body).expect_err("a newer version");
        prop_assert!(error.to_string().contains(&format!("schema version {version}")), "{error}");
    }
}
