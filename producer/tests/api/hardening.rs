//! What a hostile or broken client cannot do to the intake: hold a connection open without
//! finishing its request head, trickle a body for ever, hold more than the concurrency limit, or
//! grow the metric series with invented methods.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{LIST_TOKEN, ProducerProcess, get_json, listing_client};

fn address(base: &str) -> &str {
    base.trim_start_matches("http://")
}

/// Connects and sends the head of `POST /order` announcing a 100-byte JSON body, then
/// `body_start` of it, and no more.
async fn unfinished_order(base: &str, body_start: &[u8]) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(address(base)).await?;
    stream
        .write_all(b"POST /order HTTP/1.1\r\nHost: coffee\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n")
        .await?;
    stream.write_all(body_start).await?;
    Ok(stream)
}

/// Reads until the server closes the connection or `within` passes; the bytes it sent.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return Some(seen),
            Ok(Ok(n)) => seen.extend_from_slice(&buffer[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() -> anyhow::Result<()> {
    let (_bed, _topics, producer) =
        ProducerProcess::on_new_topics("p-slow-head", &["--header-read-timeout-secs", "1"]).await?;
    let mut stream = TcpStream::connect(address(&producer.base)).await?;
    stream
        .write_all(b"POST /order HTTP/1.1\r\nHost: coffee\r\n")
        .await?;
    let began = Instant::now();
    let closed = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(
        closed.is_some(),
        "the connection was still open after 10 s\n{}",
        producer.log_tail()
    );
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_gets_408_as_json() -> anyhow::Result<()> {
    let (_bed, _topics, producer) =
        ProducerProcess::on_new_topics("p-slow-body", &["--body-read-timeout-secs", "1"]).await?;
    let mut stream = unfinished_order(&producer.base, b"{\"customer").await?;
    let answer = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("an answer within 10 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    Ok(())
}

#[tokio::test]
async fn requests_beyond_the_limit_get_503_overloaded_while_probes_answer() -> anyhow::Result<()> {
    let (_bed, _topics, producer) = ProducerProcess::on_new_topics(
        "p-limit",
        &[
            "--max-concurrent-requests",
            "1",
            "--body-read-timeout-secs",
            "5",
        ],
    )
    .await?;
    // Holds the one place: its body never finishes. Served once the intake counts it in flight
    // (with the scrape that reads the gauge, two).
    let _holder = unfinished_order(&producer.base, b"{").await?;
    e2e::poll::eventually(
        "the unfinished order in flight",
        Duration::from_secs(10),
        || async {
            let metrics = producer.metrics().await.map_err(|e| e.to_string())?;
            if metrics.contains("http_requests_in_flight 2") {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n{}", producer.log_tail()))?;
    let response = reqwest::Client::new()
        .post(format!("{}/order", producer.base))
        .json(&serde_json::json!({"customer_name": "Ada", "coffee_type": "Latte"}))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["error"]["code"], "overloaded", "{body}");
    let health = reqwest::get(format!("{}/healthz", producer.base)).await?;
    assert_eq!(health.status().as_u16(), 200);
    let metrics = producer.metrics().await?;
    assert!(metrics.contains("http_requests_shed_total 1"), "{metrics}");
    Ok(())
}

#[tokio::test]
async fn invented_methods_add_one_series_at_most() -> anyhow::Result<()> {
    let (_bed, _topics, producer) = ProducerProcess::on_new_topics("p-methods", &[]).await?;
    let client = reqwest::Client::new();
    for method in ["ZZZ1", "ZZZ2", "ZZZ3", "ZZZ4", "ZZZ5"] {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let response = client
            .request(method, format!("{}/order", producer.base))
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), 405);
    }
    let metrics = producer.metrics().await?;
    assert!(!metrics.contains("ZZZ"), "{metrics}");
    assert!(metrics.contains(r#"method="other""#), "{metrics}");
    Ok(())
}

#[tokio::test]
async fn listing_orders_is_off_without_a_token() -> anyhow::Result<()> {
    let (_bed, _topics, producer) = ProducerProcess::on_new_topics("p-list-off", &[]).await?;
    let url = format!("{}/orders", producer.base);
    let (status, body) = get_json(&listing_client(), &url).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("listing_disabled"))
    );
    Ok(())
}

#[tokio::test]
async fn listing_orders_needs_the_bearer_token() -> anyhow::Result<()> {
    let (_bed, _topics, producer) =
        ProducerProcess::on_new_topics("p-list-token", &["--orders-list-token", LIST_TOKEN])
            .await?;
    let url = format!("{}/orders", producer.base);
    let anonymous = reqwest::get(&url).await?;
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let wrong = reqwest::Client::new()
        .get(&url)
        .bearer_auth("coffee-tests-list-token-WRONG56789")
        .send()
        .await?;
    assert_eq!(wrong.status().as_u16(), 401);
    let (status, body) = get_json(&listing_client(), &url).await?;
    assert_eq!(status, 200, "{body}");
    assert!(body["orders"].is_array(), "{body}");
    Ok(())
}
