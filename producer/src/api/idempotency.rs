//! `Idempotency-Key`: reading the header, answering a retry with the order it created, and
//! keeping two concurrent requests with one key from both publishing.

use axum::http::{HeaderMap, StatusCode};
use jiff::Timestamp;

use super::AppState;
use super::error::ApiError;
use crate::view::Order;

const IDEMPOTENCY_KEY: &str = "idempotency-key";
use coffee_events::order::IDEMPOTENCY_KEY_MAX_LEN as MAX_IDEMPOTENCY_KEY_LEN;

pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.to_str().ok().map(str::trim).filter(|k| {
        !k.is_empty()
            && k.len() <= MAX_IDEMPOTENCY_KEY_LEN
            && k.bytes().all(|b| b.is_ascii_graphic())
    });
    key.map(|k| Some(k.to_owned())).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
            ),
        )
        .with_field("Idempotency-Key")
    })
}

/// The order an earlier request with `key` created, if it asked for the same thing. A key the
/// view does not know is looked for again once the view has read every order acknowledged
/// before now: the earlier request may have been published by another replica a moment ago.
pub async fn replay(
    state: &AppState,
    key: &str,
    customer_name: &str,
    coffee_type: &str,
) -> Result<Option<Order>, ApiError> {
    if let Some(order) = known(state, key, customer_name, coffee_type)? {
        return Ok(Some(order));
    }
    // Not worth waiting for offsets a broker that is known to be away will not list.
    if let Some(reason) = state.publisher.unavailable_reason() {
        return Err(ApiError::unavailable(format!("Kafka: {reason}")));
    }
    state.catch_up.wait().await.map_err(|error| {
        tracing::warn!(%error, "an Idempotency-Key could not be checked");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "idempotency_key_unchecked",
            "whether this Idempotency-Key already has an order could not be checked; \
             nothing was published",
        )
        .with_field("Idempotency-Key")
        .retry_after(1)
    })?;
    known(state, key, customer_name, coffee_type)
}

fn known(
    state: &AppState,
    key: &str,
    customer_name: &str,
    coffee_type: &str,
) -> Result<Option<Order>, ApiError> {
    let view = state.view();
    match view.by_idempotency_key(key, Timestamp::now(), state.idempotency_retention) {
        None => Ok(None),
        Some(order) if order.matches_request(customer_name, coffee_type) => Ok(Some(order)),
        Some(order) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            format!(
                "Idempotency-Key was already used for order {} with a different request",
                order.id
            ),
        )
        .with_field("Idempotency-Key")),
    }
}

/// Marks an idempotency key as being published by this replica until dropped.
pub struct KeyReservation<'a> {
    state: &'a AppState,
    key: String,
}

impl<'a> KeyReservation<'a> {
    pub fn take(state: &'a AppState, key: &str) -> Result<Self, ApiError> {
        let mut keys = state
            .keys_in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !keys.insert(key.to_owned()) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_use",
                "a request with this Idempotency-Key is still being processed",
            )
            .with_field("Idempotency-Key")
            .retry_after(1));
        }
        Ok(Self {
            state,
            key: key.to_owned(),
        })
    }
}

impl Drop for KeyReservation<'_> {
    fn drop(&mut self) {
        let mut keys = self
            .state
            .keys_in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn idempotency_key_must_be_visible_ascii() {
        let mut headers = HeaderMap::new();
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("retry-123"));
        assert_eq!(
            idempotency_key(&headers).unwrap().as_deref(),
            Some("retry-123")
        );
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("two words"));
        assert_eq!(
            idempotency_key(&headers).unwrap_err().code,
            "invalid_idempotency_key"
        );
    }

    #[test]
    fn a_missing_key_is_no_key() {
        assert_eq!(idempotency_key(&HeaderMap::new()).unwrap(), None);
    }
}
