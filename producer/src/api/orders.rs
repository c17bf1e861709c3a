//! The order routes. Handlers stay thin: decoding and validation live in `order_request`, the
//! answers in `view`, publishing in `publish`.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coffee_events::order::{OrderDetails, OrderEvent};
use coffee_events::status::OrderStatus;
use coffee_telemetry::propagation;
use jiff::Timestamp;
use serde::Deserialize;
use tracing::{Instrument, info_span};
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use crate::order_request;
use crate::publish::PublishError;
use crate::view::{ListQuery, Order};

const IDEMPOTENCY_KEY: &str = "idempotency-key";
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1_000;

/// `POST /order`: 202 once the broker has the order.
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let span = info_span!("PlaceOrder", order_id = tracing::field::Empty);
    continue_http_trace(&span, &headers);
    let result = place_order(&state, &headers, body).instrument(span).await;
    match result {
        Ok(response) => response,
        Err(error) => {
            state
                .metrics
                .orders_rejected
                .with_label_values(&[error.code])
                .inc();
            error.into_response()
        }
    }
}

async fn place_order(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(body, state.max_body_bytes).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let order = order_request::decode(content_type, &bytes)?;
    let key = idempotency_key(headers)?;
    let _reservation = match &key {
        Some(key) => {
            if let Some(existing) = replay(state, key, &order.customer_name, order.coffee_type)? {
                return Ok(accepted(existing, true));
            }
            Some(KeyReservation::take(state, key)?)
        }
        None => None,
    };

    let now = Timestamp::now();
    let order_id = Uuid::now_v7();
    tracing::Span::current().record("order_id", tracing::field::display(order_id));
    let event = OrderEvent::OrderCreated {
        order_id,
        order: OrderDetails {
            customer_name: order.customer_name,
            coffee_type: order.coffee_type.to_owned(),
            created_at: now,
        },
        idempotency_key: key,
    };
    publish(state, &event).await?;
    let created = {
        let mut view = state
            .view
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        view.apply_order_event(&event);
        view.get(&order_id).cloned()
    };
    state.metrics.orders_accepted.inc();
    let created = created.ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the order was published but is missing from the view",
        )
    })?;
    Ok(accepted(created, false))
}

/// `GET /order/{id}`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let id = parse_order_id(&id)?;
    let view = state
        .view
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    view.get(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no order {id}")))
}

/// `POST /order/{id}/cancel`: 202 when the cancel request is in Kafka (the consumer honours it
/// if brewing has not started), 409 when the order can no longer be cancelled.
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_order_id(&id)?;
    let order = {
        let view = state
            .view
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        view.get(&id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("no order {id}")))?
    };
    if !order.status.is_cancellable() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_cancellable",
            format!(
                "order {id} is {} and can no longer be cancelled",
                order.status.as_str()
            ),
        ));
    }
    if order.cancel_requested {
        return Ok((StatusCode::ACCEPTED, Json(order)).into_response());
    }
    let span = info_span!("CancelOrder", order_id = %id);
    continue_http_trace(&span, &headers);
    let event = OrderEvent::OrderCancelRequested {
        order_id: id,
        requested_at: Timestamp::now(),
    };
    publish(&state, &event).instrument(span).await?;
    let mut view = state
        .view
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    view.apply_order_event(&event);
    let order = view.get(&id).cloned().unwrap_or(order);
    Ok((StatusCode::ACCEPTED, Json(order)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    status: Option<String>,
    customer: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET /orders?status=&customer=&limit=&cursor=`: newest first.
pub async fn list(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = list_query(query.as_deref().unwrap_or_default())?;
    let view = state
        .view
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(Json(view.list(&query)).into_response())
}

fn list_query(raw: &str) -> Result<ListQuery, ApiError> {
    let invalid = |field: &str, message: String| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message).with_field(field)
    };
    let params: ListParams = serde_urlencoded::from_str(raw).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("{e}; known parameters are status, customer, limit and cursor"),
        )
    })?;
    let status = params
        .status
        .map(|s| s.parse::<OrderStatus>().map_err(|e| invalid("status", e)))
        .transpose()?;
    let limit = match params.limit {
        None => DEFAULT_PAGE,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                invalid(
                    "limit",
                    format!("limit must be a number from 1 to {MAX_PAGE}, not {text:?}"),
                )
            })?,
    };
    let before = params
        .cursor
        .map(|c| {
            Uuid::parse_str(&c).map_err(|_| {
                invalid(
                    "cursor",
                    format!("cursor {c:?} is not one this API returned"),
                )
            })
        })
        .transpose()?;
    let customer = params.customer.filter(|c| !c.trim().is_empty());
    Ok(ListQuery {
        status,
        customer,
        before,
        limit,
    })
}

async fn publish(state: &AppState, event: &OrderEvent) -> Result<(), ApiError> {
    let span = info_span!("PublishToKafka", topic_event = event.event_type());
    let trace = propagation::headers_of(&span);
    state
        .publisher
        .publish(event, &trace)
        .instrument(span)
        .await
        .map_err(|error| match error {
            PublishError::QueueFull => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                error.to_string(),
            )
            .retry_after(1),
            PublishError::Unreachable(_) | PublishError::NotAcknowledged(_) => {
                ApiError::unavailable(error.to_string())
            }
        })
}

async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is larger than {limit} bytes"),
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                format!("the body could not be read: {error}"),
            )
        }
    })
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
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

/// The order an earlier request with `key` created, if it asked for the same thing.
fn replay(
    state: &AppState,
    key: &str,
    customer_name: &str,
    coffee_type: &str,
) -> Result<Option<Order>, ApiError> {
    let view = state
        .view
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match view.by_idempotency_key(key, Timestamp::now(), state.idempotency_retention) {
        None => Ok(None),
        Some(order) if order.matches_request(customer_name, coffee_type) => Ok(Some(order.clone())),
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
struct KeyReservation<'a> {
    state: &'a AppState,
    key: String,
}

impl<'a> KeyReservation<'a> {
    fn take(state: &'a AppState, key: &str) -> Result<Self, ApiError> {
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

fn accepted(order: Order, replayed: bool) -> Response {
    let location = format!("/order/{}", order.id);
    let mut response = (StatusCode::ACCEPTED, Json(order)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

fn parse_order_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_order_id",
            format!("{text:?} is not an order id"),
        )
        .with_field("id")
    })
}

fn continue_http_trace(span: &tracing::Span, headers: &HeaderMap) {
    let pairs: Vec<(&str, &str)> = ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|name| Some((name, headers.get(name)?.to_str().ok()?)))
        .collect();
    if !pairs.is_empty() {
        propagation::continue_trace(span, &pairs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_defaults_to_fifty_newest() {
        assert_eq!(
            list_query("").unwrap(),
            ListQuery {
                limit: 50,
                ..ListQuery::default()
            }
        );
    }

    #[test]
    fn list_reads_every_parameter() {
        let cursor = Uuid::from_u128(9);
        let query = list_query(&format!(
            "status=completed&customer=Ada&limit=10&cursor={cursor}"
        ))
        .unwrap();
        assert_eq!(
            query,
            ListQuery {
                status: Some(OrderStatus::Completed),
                customer: Some("Ada".into()),
                before: Some(cursor),
                limit: 10
            }
        );
    }

    #[test]
    fn list_refuses_unknown_status_limit_cursor_and_parameters() {
        for (raw, field) in [
            ("status=brewing", Some("status")),
            ("limit=0", Some("limit")),
            ("limit=5000", Some("limit")),
            ("cursor=abc", Some("cursor")),
            ("colour=red", None),
        ] {
            let error = list_query(raw).unwrap_err();
            assert_eq!(
                (error.code, error.field.as_deref()),
                ("invalid_query", field),
                "{raw}"
            );
        }
    }

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
    fn an_order_id_must_be_a_uuid() {
        assert_eq!(parse_order_id("42").unwrap_err().code, "invalid_order_id");
    }
}
