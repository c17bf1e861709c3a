//! Events on the compacted status topic, written by the consumer as an order moves on. Keyed by
//! order id, so after compaction the topic holds each order's latest status.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::order::OrderDetails;
use crate::{DecodeError, decode_message, encode_message};

/// Where an order is: `pending → processing → completed | failed`, or `pending → cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Processing,
    Completed,
    Cancelled,
    Failed,
}

impl OrderStatus {
    /// Every status, in the order an order can move through them.
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Pending,
        OrderStatus::Processing,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Failed,
    ];

    /// No later status can follow.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Completed | OrderStatus::Cancelled | OrderStatus::Failed
        )
    }

    /// The order can still be cancelled: brewing has not started.
    pub fn is_cancellable(self) -> bool {
        self == OrderStatus::Pending
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Processing => "processing",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Failed => "failed",
        }
    }
}

impl std::str::FromStr for OrderStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
        .ok_or_else(|| format!("unknown status {text:?}; expected pending, processing, completed, cancelled or failed"))
    }
}

/// Longest `reason` of a status event, in characters.
pub const REASON_MAX_CHARS: usize = 500;

/// An order's new status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEvent {
    pub order_id: Uuid,
    pub status: OrderStatus,
    pub at: Timestamp,
    pub order: OrderDetails,
    /// Why, for `failed` and `cancelled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl StatusEvent {
    /// The message body: `{"schema_version":1,"event":{…}}`.
    pub fn encode(&self) -> Vec<u8> {
        encode_message(self)
    }

    /// Reads a message body written by [`StatusEvent::encode`] of this or an older version.
    /// Events whose order breaks [`OrderDetails::problem`]'s limits, or whose reason is
    /// longer than [`REASON_MAX_CHARS`], are [`DecodeError::Invalid`].
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        const WHAT: &str = "status event";
        let event: Self = decode_message(WHAT, body)?;
        let reason = event.reason.as_deref().unwrap_or_default().chars().count();
        let problem = event.order.problem().or_else(|| {
            (reason > REASON_MAX_CHARS).then(|| {
                format!("reason has {reason} characters; at most {REASON_MAX_CHARS} are allowed")
            })
        });
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

    fn event(status: OrderStatus) -> StatusEvent {
        StatusEvent {
            order_id: Uuid::from_u128(42),
            status,
            at: Timestamp::from_second(1_700_000_000).unwrap(),
            order: OrderDetails {
                customer_name: "Grace".into(),
                coffee_type: "Mocha".into(),
                created_at: Timestamp::from_second(1_699_999_990).unwrap(),
            },
            reason: (status == OrderStatus::Failed).then(|| "grinder jammed".to_owned()),
        }
    }

    #[test]
    fn a_status_of_an_order_with_a_huge_name_is_invalid() {
        let mut huge = event(OrderStatus::Completed);
        huge.order.customer_name = "x".repeat(200_000);
        let error = StatusEvent::decode(&huge.encode()).unwrap_err();
        assert!(matches!(error, DecodeError::Invalid { .. }), "{error}");
    }

    #[test]
    fn a_status_with_an_over_long_reason_is_invalid() {
        let mut long = event(OrderStatus::Failed);
        long.reason = Some("r".repeat(REASON_MAX_CHARS + 1));
        let error = StatusEvent::decode(&long.encode()).unwrap_err();
        assert!(
            error.to_string().contains("reason has 501 characters"),
            "{error}"
        );
    }

    #[test]
    fn status_event_round_trips() {
        for status in [
            OrderStatus::Processing,
            OrderStatus::Completed,
            OrderStatus::Failed,
        ] {
            assert_eq!(
                StatusEvent::decode(&event(status).encode()).unwrap(),
                event(status)
            );
        }
    }

    #[test]
    fn body_names_its_version() {
        let body: serde_json::Value =
            serde_json::from_slice(&event(OrderStatus::Completed).encode()).unwrap();
        assert_eq!(body["schema_version"], 1);
        assert_eq!(body["event"]["status"], "completed");
        assert_eq!(body["event"]["order"]["coffee_type"], "Mocha");
    }

    #[test]
    fn only_pending_orders_can_be_cancelled() {
        assert!(OrderStatus::Pending.is_cancellable());
        assert!(!OrderStatus::Processing.is_cancellable());
        assert!(!OrderStatus::Completed.is_cancellable());
    }

    #[test]
    fn final_statuses_are_completed_cancelled_and_failed() {
        let finals: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [
                OrderStatus::Completed,
                OrderStatus::Cancelled,
                OrderStatus::Failed
            ]
        );
    }

    #[test]
    fn status_parses_from_its_name_and_rejects_others() {
        assert_eq!(
            "cancelled".parse::<OrderStatus>(),
            Ok(OrderStatus::Cancelled)
        );
        assert!(
            "brewing"
                .parse::<OrderStatus>()
                .unwrap_err()
                .contains("brewing")
        );
    }
}
