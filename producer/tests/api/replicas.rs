//! Two producer replicas read the same topics into their views, so either answers for any order.

use std::time::Duration;

use coffee_events::status::OrderStatus;
use e2e::poll::eventually;
use e2e::testbed::TestBed;

use crate::support::{LIST_TOKEN, ProducerProcess, Topics, get_json, listing_client, place};

#[tokio::test]
async fn two_replicas_answer_every_order_identically() -> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let topics = Topics::create(&bed, "p-replicas").await?;
    let listing = ["--orders-list-token", LIST_TOKEN];
    let a = ProducerProcess::start(&bed, &topics, &listing).await?;
    let b = ProducerProcess::start(&bed, &topics, &listing).await?;
    let http = listing_client();
    let mut orders = Vec::new();
    for coffee in ["Espresso", "Latte", "Mocha"] {
        orders.push(place(&http, &a.base, "Turing", coffee).await?.1);
    }
    topics
        .publish_status(&bed, &orders[0], OrderStatus::Processing)
        .await?;
    topics
        .publish_status(&bed, &orders[1], OrderStatus::Completed)
        .await?;

    for order in &orders {
        let id = order["id"].as_str().unwrap_or_default();
        let answers = eventually(
            &format!("both replicas to agree on order {id}"),
            Duration::from_secs(15),
            || async {
                let from_a = get_json(&http, &format!("{}/order/{id}", a.base))
                    .await
                    .map_err(|e| e.to_string())?;
                let from_b = get_json(&http, &format!("{}/order/{id}", b.base))
                    .await
                    .map_err(|e| e.to_string())?;
                let settled =
                    from_a.0 == 200 && from_a.1["status"] != "pending" || id == orders[2]["id"];
                if from_a == from_b && settled {
                    Ok(from_a)
                } else {
                    Err(format!("a: {from_a:?}, b: {from_b:?}"))
                }
            },
        )
        .await?;
        assert_eq!(answers.0, 200);
    }
    let list = |base: &str| get_json(&http, format!("{base}/orders?customer=Turing"));
    assert_eq!(list(&a.base).await?, list(&b.base).await?);
    Ok(())
}

/// A client whose first replica published its order and then died sends the request again to
/// the other replica at once. That replica's view may not have read the order yet; it must not
/// publish a second one.
#[tokio::test]
async fn a_retry_sent_to_the_other_replica_at_once_returns_the_first_replicas_order()
-> anyhow::Result<()> {
    let bed = TestBed::load()?;
    let topics = Topics::create(&bed, "p-replica-retry").await?;
    let a = ProducerProcess::start(&bed, &topics, &[]).await?;
    let b = ProducerProcess::start(&bed, &topics, &[]).await?;
    let http = reqwest::Client::new();
    for attempt in 0..10 {
        let key = format!("moved-retry-{attempt}");
        let first = keyed_order(&http, &a.base, &key, "Latte").await?;
        assert_eq!(first.status().as_u16(), 202, "first attempt of {key} on a");
        let first: serde_json::Value = first.json().await?;
        let retry = keyed_order(&http, &b.base, &key, "Latte").await?;
        assert_eq!(retry.status().as_u16(), 202, "retry of {key} on b");
        assert_eq!(
            retry
                .headers()
                .get("idempotent-replayed")
                .map(|v| v.as_bytes()),
            Some(&b"true"[..]),
            "the retry of {key} on b was not recognised as a replay"
        );
        let retry: serde_json::Value = retry.json().await?;
        assert_eq!(first["id"], retry["id"], "{key} became two orders");
    }
    Ok(())
}

/// The consumer writes an order's first status within moments, and a replica reads statuses at
/// once but orders in batches: the other replica may learn of the order from its status first.
/// Its `Idempotency-Key` is in the creation only, which must still be read.
#[tokio::test]
async fn a_retry_finds_the_first_order_on_a_replica_that_saw_its_status_first() -> anyhow::Result<()>
{
    let bed = TestBed::load()?;
    let topics = Topics::create(&bed, "p-status-first").await?;
    let a = ProducerProcess::start(&bed, &topics, &[]).await?;
    let b = ProducerProcess::start(&bed, &topics, &[]).await?;
    let http = reqwest::Client::new();
    for attempt in 0..5 {
        let key = format!("status-first-{attempt}");
        let first: serde_json::Value = keyed_order(&http, &a.base, &key, "Mocha")
            .await?
            .json()
            .await?;
        topics
            .publish_status(&bed, &first, OrderStatus::Processing)
            .await?;
        let id = first["id"].as_str().unwrap_or_default();
        eventually(
            &format!("b to see order {id}'s status"),
            Duration::from_secs(10),
            || async {
                match get_json(&http, &format!("{}/order/{id}", b.base)).await {
                    Ok((200, order)) if order["status"] == "processing" => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await?;
        let retry = keyed_order(&http, &b.base, &key, "Mocha").await?;
        assert_eq!(retry.status().as_u16(), 202, "retry of {key} on b");
        let retry: serde_json::Value = retry.json().await?;
        assert_eq!(first["id"], retry["id"], "{key} became two orders");
    }
    Ok(())
}

/// `POST /order` to the replica at `base` with `Idempotency-Key: key`.
async fn keyed_order(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    coffee: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{base}/order"))
        .header("Idempotency-Key", key)
        .json(&serde_json::json!({ "customer_name": "Hopper", "coffee_type": coffee }))
        .send()
        .await
}
