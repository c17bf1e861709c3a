//! The intake over the listeners a platform team's Kafka has — SASL_SSL with SCRAM-SHA-512, and
//! SSL with a client certificate — verifying the broker against the CA it is given, with only
//! the ACLs the README lists for it: it gets
//! ready (its status view follows the status topic over the same listener) and an order it
//! acknowledges is in the order topic.

use std::time::Duration;

use e2e::fixtures::unique_name;
use e2e::kafka::read_all;
use e2e::kafka_instance::KafkaInstance;
use e2e::kafka_secured::{CLIENT_CN, Secured, acls};
use e2e::testbed::TestBed;
use rdkafka::Message;

use crate::support::{ProducerProcess, Topics, place};

const USER: (&str, &str) = ("coffee-producer", "producer-secret");

async fn takes_an_order_over(
    name: &str,
    principal: &str,
    listener: fn(&Secured) -> String,
    flags: fn(&Secured) -> Vec<String>,
) {
    let bed = TestBed::load().expect("the test bed");
    let (broker, secured) = KafkaInstance::start_secured(&bed, &unique_name(name), &[USER])
        .await
        .expect("a secured broker");
    let plain = broker.bootstrap_servers();
    let mut topics = Topics::create_on(&bed, &plain, name).await.expect("topics");
    broker
        .grant(&acls::producer(principal, &topics.orders))
        .await
        .expect("the producer's ACLs");
    topics.brokers = listener(&secured);
    let flags = flags(&secured);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let producer = ProducerProcess::start(&bed, &topics, &flags)
        .await
        .expect("the producer gets ready over the secured listener");
    let (status, order) = place(&reqwest::Client::new(), &producer.base, "Ada", "Latte")
        .await
        .expect("an answer");
    assert_eq!(status, 202, "{order}\n{}", producer.log_tail());
    let id = order["id"].as_str().expect("an order id").to_owned();
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
    let principal = format!("User:{}", USER.0);
    takes_an_order_over("p-scram", &principal, Secured::sasl_ssl_servers, |s| {
        s.scram_flags(USER.0)
    })
    .await;
}

#[tokio::test]
async fn orders_are_taken_over_tls_with_a_client_certificate() {
    let principal = format!("User:CN={CLIENT_CN}");
    takes_an_order_over(
        "p-mtls",
        &principal,
        Secured::ssl_servers,
        Secured::mtls_flags,
    )
    .await;
}
