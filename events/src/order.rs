//! Events on the order topic, written by the order intake: an order was placed, or its
//! cancellation was requested.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{DecodeError, decode_message, encode_message, headers};

/// Longest `customer_name`, in characters: the order API refuses longer ones, and every reader
/// of the topics refuses them too, so no foreign writer can put a huge name into a view.
pub const CUSTOMER_NAME_MAX_CHARS: usize = 100;
/// Longest `coffee_type`, in characters.
pub const COFFEE_TYPE_MAX_CHARS: usize = 50;
/// Longest `Idempotency-Key`, in bytes (visible ASCII only).
pub const IDEMPOTENCY_KEY_MAX_LEN: usize = 255;

/// What the customer ordered. Status events repeat it, so the status topic alone can answer
/// for an order after the order topic's retention has removed its creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetails {
    pub customer_name: String,
    pub coffee_type: String,
    pub created_at: Timestamp,
}

impl OrderDetails {
    /// What breaks the limits every order keeps, if anything.
    pub fn problem(&self) -> Option<String> {
        let length = |field: &str, text: &str, max: usize| {
            let chars = text.chars().count();
            (chars == 0 || chars > max)
                .then(|| format!("{field} has {chars} characters; 1 to {max} are allowed"))
        };
        length(
            "customer_name",
            &self.customer_name,
            CUSTOMER_NAME_MAX_CHARS,
        )
        .or_else(|| length("coffee_type", &self.coffee_type, COFFEE_TYPE_MAX_CHARS))
    }
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
    /// Orders that break [`OrderDetails::problem`]'s limits, or carry an over-long
    /// `Idempotency-Key`, are [`DecodeError::Invalid`].
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "order event";
        let event: Self = decode_message(WHAT, body)?;
        let problem = match &event {
            OrderEvent::OrderCreated {
                order,
                idempotency_key,
                ..
            } => order.problem().or_else(|| {
                idempotency_key
                    .as_ref()
                    .filter(|k| k.len() > IDEMPOTENCY_KEY_MAX_LEN)
                    .map(|k| format!("idempotency_key has {} bytes; at most {IDEMPOTENCY_KEY_MAX_LEN} are allowed", k.len()))
            }),
            OrderEvent::OrderCancelRequested { .. } => None,
        };
        match problem {
            Some(problem) => Err(DecodeError::Invalid {
                what: WHAT,
                problem,
            }),
            None => Ok(event),
        }
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
    fn an_order_with_a_name_longer_than_the_api_allows_is_invalid() {
        let mut event = created();
        if let OrderEvent::OrderCreated { order, .. } = &mut event {
            order.customer_name = "x".repeat(CUSTOMER_NAME_MAX_CHARS + 1);
        }
        let error = OrderEvent::decode(&event.encode()).unwrap_err();
        assert!(matches!(error, DecodeError::Invalid { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("customer_name has 101 characters"),
            "{error}"
        );
    }

    #[test]
    fn an_order_with_an_empty_coffee_type_is_invalid() {
        let mut event = created();
        if let OrderEvent::OrderCreated { order, .. } = &mut event {
            order.coffee_type = String::new();
        }
        let error = OrderEvent::decode(&event.encode()).unwrap_err();
        assert!(
            error.to_string().contains("coffee_type has 0 characters"),
            "{error}"
        );
    }

    #[test]
    fn an_order_with_an_over_long_idempotency_key_is_invalid() {
        let mut event = created();
        if let OrderEvent::OrderCreated {
            idempotency_key, ..
        } = &mut event
        {
            *idempotency_key = Some("k".repeat(IDEMPOTENCY_KEY_MAX_LEN + 1));
        }
        let error = OrderEvent::decode(&event.encode()).unwrap_err();
        assert!(
            error.to_string().contains("idempotency_key has 256 bytes"),
            "{error}"
        );
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
