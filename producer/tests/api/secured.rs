//! The intake over the listeners a platform team's Kafka has — SASL_SSL with SCRAM-SHA-512, and
//! SSL with a client certificate — verifying the broker against the CA it is given, with only
//! the ACLs the README lists for it: it gets
//! ready (its status view follows the status topic over the same listener), an order it
//! acknowledges is in the order topic, and an order with a new `Idempotency-Key` (which first
//! lists the order topic's end offsets) is taken and replayed.

use std::time::Duration;

use e2e::kafka::read_all;
use e2e::kafka_secured::{CLIENT_CN, Secured, acls};
use e2e::testbed::TestBed;
use rdkafka::Message;

use crate::support::{ProducerProcess, Topics, place};

/// On the test bed's brokers, as a SCRAM user of the test's own (or the client certificate's
/// principal): `principal` names it given the user, `flags` are the producer's Kafka flags.
async fn takes_an_order_over(
    name: &str,
    principal: fn(&str) -> String,
    listener: fn(&Secured) -> String,
    flags: fn(&Secured, &str) -> Vec<String>,
) {
    let bed = TestBed::load().expect("the test bed");
    let mut secured = bed.secured().expect("the test bed's certificates");
    let user = secured.new_user(name).await.expect("a SCRAM user");
    let plain = bed.kafka_bootstrap_servers.clone();
    let mut topics = Topics::create_on(&bed, &plain, name).await.expect("topics");
    secured
        .grant(&acls::producer(&principal(&user), &topics.orders))
        .await
        .expect("the producer's ACLs");
    topics.brokers = listener(&secured);
    let flags = flags(&secured, &user);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let producer = ProducerProcess::start(&bed, &topics, &flags)
        .await
        .expect("the producer gets ready over the secured listener");
    let (status, order) = place(&reqwest::Client::new(), &producer.base, "Ada", "Latte")
        .await
        .expect("an answer");
    assert_eq!(status, 202, "{order}\n{}", producer.log_tail());
    let id = order["id"].as_str().expect("an order id").to_owned();
    let keyed = || {
        reqwest::Client::new()
            .post(format!("{}/order", producer.base))
            .header("Idempotency-Key", format!("{name}-keyed"))
            .json(&serde_json::json!({ "customer_name": "Ada", "coffee_type": "Mocha" }))
            .send()
    };
    let first = keyed().await.expect("an answer to the keyed order");
    assert_eq!(first.status().as_u16(), 202, "{}", producer.log_tail());
    let first: serde_json::Value = first.json().await.expect("a JSON order");
    let again: serde_json::Value = keyed()
        .await
        .expect("an answer to the retry")
        .json()
        .await
        .expect("a JSON order");
    assert_eq!(first["id"], again["id"], "the retry was not replayed");
    let written = read_all(
        &bed.with_kafka(&plain),
        &topics.orders,
        Duration::from_secs(20),
    )
    .await
    .expect("the order topic");
    assert!(
        written.iter().any(|m| m.key() == Some(id.as_bytes())),
        "order {id} is not in the order topic"
    );
}

#[tokio::test]
async fn orders_are_taken_over_sasl_ssl_with_scram() {
    takes_an_order_over(
        "p-scram",
        |user| format!("User:{user}"),
        Secured::sasl_ssl_servers,
        Secured::scram_flags,
    )
    .await;
}

#[tokio::test]
async fn orders_are_taken_over_tls_with_a_client_certificate() {
    takes_an_order_over(
        "p-mtls",
        |_| format!("User:CN={CLIENT_CN}"),
        Secured::ssl_servers,
        |s, _| s.mtls_flags(),
    )
    .await;
}
