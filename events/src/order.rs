//! Events on the order topic, written by the order intake: an order was placed, or its
//! cancellation was requested.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{DecodeError, decode_message, encode_message, headers};

/// What the customer ordered. Status events repeat it, so the status topic alone can answer
/// for an order after the order topic's retention has removed its creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetails {
    pub customer_name: String,
    pub coffee_type: String,
    pub created_at: Timestamp,
}

/// An event on the order topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// A customer placed an order.
    OrderCreated {
        order_id: Uuid,
        order: OrderDetails,
        /// The client's `Idempotency-Key`, so every replica can answer a retry with this order.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency_key: Option<String>,
    },
    /// The customer asked to cancel; the consumer honours it if brewing has not started.
    OrderCancelRequested {
        order_id: Uuid,
        requested_at: Timestamp,
    },
}

impl OrderEvent {
    /// The order this event is about, which is also its Kafka key.
    pub fn order_id(&self) -> Uuid {
        match self {
            OrderEvent::OrderCreated { order_id, .. }
            | OrderEvent::OrderCancelRequested { order_id, .. } => *order_id,
        }
    }

    /// The value of the `event-type` header.
    pub fn event_type(&self) -> &'static str {
        match self {
            OrderEvent::OrderCreated { .. } => headers::ORDER_CREATED,
            OrderEvent::OrderCancelRequested { .. } => headers::ORDER_CANCEL_REQUESTED,
        }
    }

    /// The message body: `{"schema_version":1,"event":{"order_created":{…}}}`.
    pub fn encode(&self) -> Vec<u8> {
        encode_message(self)
    }

    /// Reads a message body written by [`OrderEvent::encode`] of this or an older version.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        decode_message("order event", body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> OrderEvent {
        OrderEvent::OrderCreated {
            order_id: Uuid::from_u128(7),
            order: OrderDetails {
                customer_name: "Ada".into(),
                coffee_type: "Latte".into(),
                created_at: Timestamp::from_second(1_700_000_000).unwrap(),
            },
            idempotency_key: Some("retry-1".into()),
        }
    }

    #[test]
    fn created_event_round_trips() {
        assert_eq!(OrderEvent::decode(&created().encode()).unwrap(), created());
    }

    #[test]
    fn cancel_event_round_trips() {
        let event = OrderEvent::OrderCancelRequested {
            order_id: Uuid::from_u128(7),
            requested_at: Timestamp::from_second(1_700_000_100).unwrap(),
        };
        assert_eq!(OrderEvent::decode(&event.encode()).unwrap(), event);
    }

    #[test]
    fn body_names_its_version_and_type() {
        let body: serde_json::Value = serde_json::from_slice(&created().encode()).unwrap();
        assert_eq!(body["schema_version"], 1);
        assert_eq!(
            body["event"]["order_created"]["order"]["customer_name"],
            "Ada"
        );
        assert_eq!(created().event_type(), "order_created");
    }

    #[test]
    fn newer_schema_is_refused_with_its_version() {
        let body = br#"{"schema_version":9,"event":{"order_cancel_requested":{"order_id":"00000000-0000-0000-0000-000000000007","requested_at":"2023-11-14T22:13:20Z"}}}"#;
        let error = OrderEvent::decode(body).unwrap_err().to_string();
        assert!(error.contains("schema version 9"), "{error}");
    }

    #[test]
    fn garbage_is_malformed() {
        let error = OrderEvent::decode(b"\x00not json").unwrap_err();
        assert!(matches!(error, DecodeError::Malformed { .. }), "{error}");
    }
}
