//! The query of `GET /orders`, read strictly: an unknown parameter or value is a 400 naming it.

use axum::http::StatusCode;
use coffee_events::status::OrderStatus;
use serde::Deserialize;
use uuid::Uuid;

use super::error::ApiError;
use crate::view::ListQuery;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    status: Option<String>,
    customer: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

pub fn list_query(raw: &str) -> Result<ListQuery, ApiError> {
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
}
