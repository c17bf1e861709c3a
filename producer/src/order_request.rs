//! Reading and validating the body of `POST /order`: a pure function from content type and bytes
//! to a valid order, or an [`ApiError`] that says what is wrong and in which field.

use axum::http::StatusCode;
use coffee_events::menu;
use serde::Deserialize;

use crate::api::error::ApiError;

pub use coffee_events::order::{COFFEE_TYPE_MAX_CHARS, CUSTOMER_NAME_MAX_CHARS};

/// The body as clients send it; anything else in it is an error, not silently ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderRequest {
    customer_name: String,
    coffee_type: String,
}

/// An order that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// Trimmed.
    pub customer_name: String,
    /// The menu's own spelling.
    pub coffee_type: &'static str,
}

/// Decodes and validates a request body sent with `content_type`.
pub fn decode(content_type: Option<&str>, body: &[u8]) -> Result<NewOrder, ApiError> {
    check_content_type(content_type)?;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let request: OrderRequest =
        serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
    deserializer.end().map_err(|e| malformed(&e))?;
    validate(request)
}

fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let unsupported = |message: String| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    };
    let Some(content_type) = content_type else {
        return Err(unsupported(
            "missing Content-Type; send application/json".into(),
        ));
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(unsupported(format!(
            "Content-Type {content_type:?} is not supported; send application/json"
        )))
    }
}

fn malformed(error: &serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        format!("the body is not valid JSON: {error}"),
    )
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if !inner.is_data() {
        return malformed(&inner);
    }
    let message = inner.to_string();
    let quoted = |prefix: &str| {
        let rest = message.strip_prefix(prefix)?;
        rest.split('`').next().map(str::to_owned)
    };
    let bad_request = |code, text: String| ApiError::new(StatusCode::BAD_REQUEST, code, text);
    if let Some(field) = quoted("unknown field `") {
        bad_request(
            "unknown_field",
            format!("unknown field {field:?}; expected customer_name and coffee_type"),
        )
        .with_field(field)
    } else if let Some(field) = quoted("missing field `") {
        bad_request("missing_field", format!("{field} is required")).with_field(field)
    } else if path == "." {
        bad_request(
            "invalid_type",
            "the body must be a JSON object with customer_name and coffee_type".into(),
        )
    } else {
        bad_request(
            "invalid_type",
            format!("{path} must be a string ({message})"),
        )
        .with_field(path)
    }
}

fn validate(request: OrderRequest) -> Result<NewOrder, ApiError> {
    let customer_name = checked_text(
        "customer_name",
        &request.customer_name,
        CUSTOMER_NAME_MAX_CHARS,
    )?;
    let coffee_type = checked_text("coffee_type", &request.coffee_type, COFFEE_TYPE_MAX_CHARS)?;
    let item = menu::find(coffee_type).ok_or_else(|| {
        let names: Vec<&str> = menu::MENU.iter().map(|item| item.name).collect();
        invalid(
            "not_on_menu",
            "coffee_type",
            format!("{coffee_type:?} is not on the menu: {}", names.join(", ")),
        )
    })?;
    Ok(NewOrder {
        customer_name: customer_name.to_owned(),
        coffee_type: item.name,
    })
}

fn checked_text<'a>(
    field: &'static str,
    value: &'a str,
    max_chars: usize,
) -> Result<&'a str, ApiError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(invalid(
            "empty",
            field,
            format!("{field} must not be empty"),
        ));
    }
    let chars = trimmed.chars().count();
    if chars > max_chars {
        return Err(invalid(
            "too_long",
            field,
            format!("{field} has {chars} characters; at most {max_chars} are allowed"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid(
            "invalid_characters",
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(trimmed)
}

fn invalid(code: &'static str, field: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_field(field)
}

#[cfg(test)]
#[path = "order_request_tests.rs"]
mod tests;
