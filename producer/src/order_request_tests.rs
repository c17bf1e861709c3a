use proptest::prelude::*;

use super::*;

const JSON: Option<&str> = Some("application/json");

fn error(content_type: Option<&str>, body: &str) -> ApiError {
    decode(content_type, body.as_bytes()).unwrap_err()
}

#[test]
fn a_valid_order_is_trimmed_and_uses_the_menu_spelling() {
    let order = decode(
        JSON,
        br#"{"customer_name":"  Ada  ","coffee_type":"flat white"}"#,
    )
    .unwrap();
    assert_eq!(
        order,
        NewOrder {
            customer_name: "Ada".into(),
            coffee_type: "Flat White"
        }
    );
}

#[test]
fn json_with_charset_and_vendor_json_types_are_accepted() {
    let body = br#"{"customer_name":"Ada","coffee_type":"Latte"}"#;
    assert!(decode(Some("application/json; charset=utf-8"), body).is_ok());
    assert!(decode(Some("application/vnd.coffee+json"), body).is_ok());
}

#[test]
fn missing_content_type_is_415() {
    assert_eq!(error(None, "{}").status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[test]
fn form_content_type_is_415_and_named() {
    let e = error(
        Some("application/x-www-form-urlencoded"),
        "customer_name=Ada",
    );
    assert_eq!(
        (e.status, e.code),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    assert!(e.message.contains("x-www-form-urlencoded"), "{}", e.message);
}

#[test]
fn malformed_json_is_400() {
    let e = error(JSON, r#"{"customer_name": "Ada""#);
    assert_eq!(
        (e.status, e.code),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
}

#[test]
fn trailing_garbage_after_the_object_is_malformed() {
    let e = error(JSON, r#"{"customer_name":"Ada","coffee_type":"Latte"} x"#);
    assert_eq!(e.code, "malformed_json");
}

#[test]
fn wrong_field_type_names_the_field() {
    let e = error(JSON, r#"{"customer_name":42,"coffee_type":"Latte"}"#);
    assert_eq!(
        (e.status, e.code, e.field.as_deref()),
        (
            StatusCode::BAD_REQUEST,
            "invalid_type",
            Some("customer_name")
        )
    );
}

#[test]
fn a_body_that_is_not_an_object_is_invalid_type() {
    for body in ["[]", "\"order\"", "5", "null"] {
        assert_eq!(error(JSON, body).code, "invalid_type", "{body}");
    }
}

#[test]
fn unknown_field_is_refused_and_named() {
    let e = error(
        JSON,
        r#"{"customer_name":"Ada","coffee_type":"Latte","size":"XL"}"#,
    );
    assert_eq!(
        (e.status, e.code, e.field.as_deref()),
        (StatusCode::BAD_REQUEST, "unknown_field", Some("size"))
    );
}

#[test]
fn missing_field_is_named() {
    let e = error(JSON, r#"{"customer_name":"Ada"}"#);
    assert_eq!(
        (e.code, e.field.as_deref()),
        ("missing_field", Some("coffee_type"))
    );
}

#[test]
fn blank_customer_name_is_422_empty() {
    let e = error(JSON, r#"{"customer_name":"   ","coffee_type":"Latte"}"#);
    assert_eq!(
        (e.status, e.code, e.field.as_deref()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty",
            Some("customer_name")
        )
    );
}

#[test]
fn customer_name_of_100_characters_is_accepted_and_101_is_too_long() {
    let body = |n: usize| {
        format!(
            r#"{{"customer_name":"{}","coffee_type":"Latte"}}"#,
            "é".repeat(n)
        )
    };
    assert!(decode(JSON, body(100).as_bytes()).is_ok());
    let e = decode(JSON, body(101).as_bytes()).unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        ("too_long", Some("customer_name"))
    );
}

#[test]
fn coffee_type_over_50_characters_is_too_long() {
    let body = format!(
        r#"{{"customer_name":"Ada","coffee_type":"{}"}}"#,
        "L".repeat(51)
    );
    let e = decode(JSON, body.as_bytes()).unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        ("too_long", Some("coffee_type"))
    );
}

#[test]
fn coffee_not_on_the_menu_lists_the_menu() {
    let e = error(JSON, r#"{"customer_name":"Ada","coffee_type":"Dandelion"}"#);
    assert_eq!(
        (e.status, e.code),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_on_menu")
    );
    assert!(e.message.contains("Espresso"), "{}", e.message);
}

#[test]
fn control_characters_are_refused() {
    let e = error(
        JSON,
        r#"{"customer_name":"Ada\u0007","coffee_type":"Latte"}"#,
    );
    assert_eq!(
        (e.code, e.field.as_deref()),
        ("invalid_characters", Some("customer_name"))
    );
}

fn classified(e: &ApiError) -> bool {
    matches!(e.status.as_u16(), 400 | 415 | 422) && !e.code.is_empty() && !e.message.is_empty()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_are_classified(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = decode(JSON, &body) {
            prop_assert!(classified(&e), "{e:?}");
        }
    }

    #[test]
    fn arbitrary_json_objects_are_accepted_only_when_valid(
        name in proptest::option::of(".{0,120}"),
        coffee in proptest::option::of(prop_oneof![Just("Latte".to_owned()), ".{0,60}"]),
        extra in proptest::option::of("[a-z_]{1,12}"),
    ) {
        let mut object = serde_json::Map::new();
        if let Some(name) = &name { object.insert("customer_name".into(), name.clone().into()); }
        if let Some(coffee) = &coffee { object.insert("coffee_type".into(), coffee.clone().into()); }
        if let Some(extra) = &extra { object.insert(extra.clone(), 1.into()); }
        let body = serde_json::to_vec(&object).unwrap();
        match decode(JSON, &body) {
            Ok(order) => {
                prop_assert!(!order.customer_name.is_empty());
                prop_assert!(order.customer_name.chars().count() <= CUSTOMER_NAME_MAX_CHARS);
                prop_assert!(menu::find(order.coffee_type).is_some());
            }
            Err(e) => prop_assert!(classified(&e), "{e:?}"),
        }
    }
}
