//! What a message on the order topic asks for, decided from its body alone.

use coffee_events::DecodeError;
use coffee_events::order::{OrderDetails, OrderEvent};
use uuid::Uuid;

/// A message read from the order topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Brew this order.
    Order { id: Uuid, order: OrderDetails },
    /// Cancel this order if it has not started brewing.
    Cancel { id: Uuid },
    /// Cannot be read: goes to the dead-letter topic.
    Unreadable {
        reason: &'static str,
        detail: String,
    },
}

/// Reads a message body.
pub fn classify(payload: Option<&[u8]>) -> Incoming {
    let Some(body) = payload.filter(|body| !body.is_empty()) else {
        return Incoming::Unreadable {
            reason: "empty",
            detail: "the message has no body".to_owned(),
        };
    };
    match OrderEvent::decode(body) {
        Ok(OrderEvent::OrderCreated {
            order_id, order, ..
        }) => Incoming::Order {
            id: order_id,
            order,
        },
        Ok(OrderEvent::OrderCancelRequested { order_id, .. }) => Incoming::Cancel { id: order_id },
        Err(error) => Incoming::Unreadable {
            reason: match error {
                DecodeError::Malformed { .. } => "undecodable",
                DecodeError::UnsupportedVersion { .. } => "unsupported_schema_version",
                DecodeError::Invalid { .. } => "invalid_order",
            },
            detail: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn details() -> OrderDetails {
        OrderDetails {
            customer_name: "Ada".into(),
            coffee_type: "Latte".into(),
            created_at: Timestamp::from_second(1_700_000_000).unwrap(),
        }
    }

    #[test]
    fn a_created_order_is_to_be_brewed() {
        let event = OrderEvent::OrderCreated {
            order_id: Uuid::from_u128(1),
            order: details(),
            idempotency_key: None,
        };
        assert_eq!(
            classify(Some(&event.encode())),
            Incoming::Order {
                id: Uuid::from_u128(1),
                order: details()
            }
        );
    }

    #[test]
    fn a_cancel_request_is_a_cancel() {
        let event = OrderEvent::OrderCancelRequested {
            order_id: Uuid::from_u128(2),
            requested_at: Timestamp::from_second(1_700_000_000).unwrap(),
        };
        assert_eq!(
            classify(Some(&event.encode())),
            Incoming::Cancel {
                id: Uuid::from_u128(2)
            }
        );
    }

    #[test]
    fn garbage_is_unreadable() {
        assert!(matches!(
            classify(Some(b"not json at all")),
            Incoming::Unreadable {
                reason: "undecodable",
                ..
            }
        ));
    }

    #[test]
    fn a_newer_schema_is_unreadable_with_its_own_reason() {
        let event = OrderEvent::OrderCancelRequested {
            order_id: Uuid::from_u128(2),
            requested_at: Timestamp::from_second(1_700_000_000).unwrap(),
        };
        let body = String::from_utf8(event.encode())
            .unwrap()
            .replace("\"schema_version\":1", "\"schema_version\":99");
        assert!(matches!(
            classify(Some(body.as_bytes())),
            Incoming::Unreadable {
                reason: "unsupported_schema_version",
                ..
            }
        ));
    }

    #[test]
    fn an_empty_message_is_unreadable() {
        assert!(matches!(
            classify(None),
            Incoming::Unreadable {
                reason: "empty",
                ..
            }
        ));
        assert!(matches!(
            classify(Some(b"")),
            Incoming::Unreadable {
                reason: "empty",
                ..
            }
        ));
    }

    #[test]
    fn an_order_breaking_the_apis_limits_is_unreadable_as_invalid() {
        let mut order = details();
        order.customer_name = "x".repeat(200_000);
        let event = OrderEvent::OrderCreated {
            order_id: Uuid::from_u128(3),
            order,
            idempotency_key: None,
        };
        assert!(matches!(
            classify(Some(&event.encode())),
            Incoming::Unreadable {
                reason: "invalid_order",
                ..
            }
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_body_is_classified_and_an_unreadable_one_says_why(
            body in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..256)
        ) {
            if let Incoming::Unreadable { reason, detail } = classify(Some(&body)) {
                proptest::prop_assert!(!reason.is_empty() && !detail.is_empty());
            }
        }
    }
}
