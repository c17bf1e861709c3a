//! The order routes. Handlers stay thin: decoding and validation live in `order_request`, the
//! answers in `view`, publishing in `publish`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coffee_events::order::{OrderDetails, OrderEvent};
use coffee_telemetry::propagation;
use jiff::Timestamp;
use tracing::{Instrument, info_span};
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::idempotency::{KeyReservation, idempotency_key, replay};
use super::list_query::list_query;
use crate::order_request;
use crate::publish::PublishError;
use crate::view::Order;

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
    let bytes = read_body(body, state.max_body_bytes, state.body_read_timeout).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let order = order_request::decode(content_type, &bytes)?;
    let key = idempotency_key(headers)?;
    // Reserve the key first, then look for an earlier order with it: checked the other way round,
    // a request could look (nothing yet), another with the same key finish and release it, and
    // this one publish a second order.
    let _reservation = match &key {
        Some(key) => {
            let reservation = KeyReservation::take(state, key)?;
            if let Some(existing) =
                replay(state, key, &order.customer_name, order.coffee_type).await?
            {
                return Ok(accepted(existing, true));
            }
            Some(reservation)
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
    let created = state.view_mut().apply_creation(&event);
    state.metrics.orders_accepted.inc();
    let created = created.ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the order was published but could not be described",
        )
    })?;
    Ok(accepted(created, false))
}

/// `GET /order/{id}`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    find_order(&state, &id).map(Json)
}

fn find_order(state: &AppState, id: &str) -> Result<Order, ApiError> {
    let id = parse_order_id(id)?;
    state
        .view()
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("no order {id}")))
}

/// `POST /order/{id}/cancel`: 202 when the cancel request is in Kafka (the consumer honours it
/// if brewing has not started), 409 when the order can no longer be cancelled.
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let order = find_order(&state, &id)?;
    let id = order.id;
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
    let mut view = state.view_mut();
    view.apply_order_event(&event);
    let order = view.get(&id).unwrap_or(order);
    Ok((StatusCode::ACCEPTED, Json(order)).into_response())
}

/// `GET /orders?status=&customer=&limit=&cursor=`: newest first, for a caller with the listing
/// token (see [`crate::list_token`]).
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Some(token) = &state.list_token else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "listing_disabled",
            "listing orders is off on this intake: it needs --orders-list-token (ORDERS_LIST_TOKEN)",
        ));
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    if !token.admits(authorization) {
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "listing orders needs `Authorization: Bearer <token>`",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Ok(response);
    }
    let query = list_query(query.as_deref().unwrap_or_default())?;
    let view = state.view();
    Ok(Json(view.list(&query)).into_response())
}

/// Publishes `event` and tells the view's catch-up where it landed.
async fn publish(state: &AppState, event: &OrderEvent) -> Result<(), ApiError> {
    let span = info_span!("PublishToKafka", topic_event = event.event_type());
    let trace = propagation::headers_of(&span);
    let delivery = state
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
            PublishError::Unconfirmed(_) => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "outcome_unknown",
                format!(
                    "{error}; send the request again with the same Idempotency-Key to get \
                     exactly one order"
                ),
            )
            .retry_after(1),
        })?;
    state
        .catch_up
        .published(delivery.partition, delivery.offset);
    Ok(())
}

/// The whole body, within `limit` bytes and `timeout`: a client that trickles its body would
/// otherwise hold a request (and a place under the concurrency limit) for as long as it likes.
async fn read_body(
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<axum::body::Bytes, ApiError> {
    let Ok(read) = tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await else {
        return Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the body did not arrive within {} s; nothing was published",
                timeout.as_secs()
            ),
        ));
    };
    read.map_err(|error| {
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
    fn an_order_id_must_be_a_uuid() {
        assert_eq!(parse_order_id("42").unwrap_err().code, "invalid_order_id");
    }
}
