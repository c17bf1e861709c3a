//! Bad input over real HTTP: every class gets its status code and a JSON error body, and is
//! counted by reason.

use serde_json::Value;

use crate::support::{LIST_TOKEN, ProducerProcess, get_json, listing_client};

async fn producer() -> anyhow::Result<ProducerProcess> {
    let (_bed, _topics, producer) = ProducerProcess::on_new_topics(
        "p-errors",
        &[
            "--max-body-bytes",
            "1024",
            "--orders-list-token",
            LIST_TOKEN,
        ],
    )
    .await?;
    Ok(producer)
}

async fn post(
    base: &str,
    content_type: Option<&str>,
    body: String,
) -> anyhow::Result<(u16, Value)> {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/order"))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let body: Value =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("not JSON ({e}): {text}"))?;
    Ok((status, body))
}

/// Content type, body, and the expected status, error code and field.
type Case = (
    Option<&'static str>,
    String,
    u16,
    &'static str,
    Option<&'static str>,
);

#[tokio::test]
async fn every_kind_of_bad_body_gets_its_status_and_a_json_error() -> anyhow::Result<()> {
    let producer = producer().await?;
    let json = Some("application/json");
    let cases: Vec<Case> = vec![
        (json, "x".repeat(2048), 413, "payload_too_large", None),
        (
            Some("text/plain"),
            r#"{"customer_name":"Ada","coffee_type":"Latte"}"#.into(),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            None,
            r#"{"customer_name":"Ada","coffee_type":"Latte"}"#.into(),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            json,
            r#"{"customer_name":"Ada","#.into(),
            400,
            "malformed_json",
            None,
        ),
        (
            json,
            r#"{"customer_name":7,"coffee_type":"Latte"}"#.into(),
            400,
            "invalid_type",
            Some("customer_name"),
        ),
        (
            json,
            r#"{"customer_name":"Ada","coffee_type":"Latte","sugar":2}"#.into(),
            400,
            "unknown_field",
            Some("sugar"),
        ),
        (
            json,
            r#"{"coffee_type":"Latte"}"#.into(),
            400,
            "missing_field",
            Some("customer_name"),
        ),
        (
            json,
            r#"{"customer_name":"","coffee_type":"Latte"}"#.into(),
            422,
            "empty",
            Some("customer_name"),
        ),
        (
            json,
            format!(
                r#"{{"customer_name":"{}","coffee_type":"Latte"}}"#,
                "a".repeat(101)
            ),
            422,
            "too_long",
            Some("customer_name"),
        ),
        (
            json,
            format!(
                r#"{{"customer_name":"Ada","coffee_type":"{}"}}"#,
                "b".repeat(51)
            ),
            422,
            "too_long",
            Some("coffee_type"),
        ),
        (
            json,
            r#"{"customer_name":"Ada","coffee_type":"Tea"}"#.into(),
            422,
            "not_on_menu",
            Some("coffee_type"),
        ),
    ];
    for (content_type, body, status, code, field) in cases {
        let (got_status, got) = post(&producer.base, content_type, body.clone()).await?;
        let summary = format!("{content_type:?} {:.60}", body);
        assert_eq!(got_status, status, "{summary}: {got}");
        assert_eq!(got["error"]["code"], code, "{summary}: {got}");
        assert!(
            got["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{summary}: {got}"
        );
        assert_eq!(got["error"]["field"].as_str(), field, "{summary}: {got}");
    }
    let metrics = reqwest::get(format!("{}/metrics", producer.base))
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains(r#"orders_rejected_total{reason="too_long"} 2"#),
        "{metrics}"
    );
    Ok(())
}

#[tokio::test]
async fn unknown_routes_methods_and_ids_get_json_errors() -> anyhow::Result<()> {
    let producer = producer().await?;
    let http = listing_client();
    let (status, body) = get_json(&http, &format!("{}/coffee", producer.base)).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let response = http
        .delete(format!("{}/order", producer.base))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await?;
    assert_eq!(body["error"]["code"], "method_not_allowed");
    let (status, body) = get_json(&http, &format!("{}/order/not-a-uuid", producer.base)).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_order_id"))
    );
    let unknown = "01890000-0000-7000-8000-000000000000";
    let (status, body) = get_json(&http, &format!("{}/order/{unknown}", producer.base)).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let response = http
        .post(format!("{}/order/{unknown}/cancel", producer.base))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 404);
    let (status, body) =
        get_json(&http, &format!("{}/orders?status=brewing", producer.base)).await?;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("status"))
    );
    Ok(())
}
