//! The consumer over the listeners a platform team's Kafka has — SASL_SSL with SCRAM-SHA-512,
//! and SSL with a client certificate — verifying the broker against the CA it is given, with
//! only the ACLs the README lists for it. Orders are written, and read back, by the test over
//! the broker's PLAINTEXT listener.

use std::time::Duration;

use e2e::kafka_secured::{CLIENT_CN, Secured, acls};
use e2e::testbed::TestBed;

use crate::support::{ConsumerProcess, OrderWriter, Topics, ids, menu_orders, wait_until_final};

/// On the test bed's brokers, as a SCRAM user of the test's own (or the client certificate's
/// principal, as `principal` names it given the user): writes 20 orders, runs the consumer on
/// the listener `listener` picks with `flags`, and waits until every order has its final status.
async fn completes_orders_over(
    name: &str,
    principal: fn(&str) -> String,
    listener: fn(&Secured) -> String,
    flags: fn(&Secured, &str) -> Vec<String>,
) {
    let bed = TestBed::load().expect("the test bed");
    let mut secured = bed.secured().expect("the test bed's certificates");
    let user = secured.new_user(name).await.expect("a SCRAM user");
    let plain = bed.clone();
    let topics = Topics::create(&plain, name, 2).await.expect("topics");
    secured
        .grant(&acls::consumer(&principal(&user), &topics.orders))
        .await
        .expect("the consumer's ACLs");
    let orders = menu_orders(20);
    OrderWriter::new(&plain, &topics)
        .expect("a writer")
        .create_many(&orders)
        .await
        .expect("orders written");
    let mut args = flags(&secured, &user);
    args.extend(["--brew-time-scale".to_owned(), "0".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let consumer = ConsumerProcess::start(&bed.with_kafka(&listener(&secured)), &topics, &args)
        .await
        .expect("the consumer joins its group over the secured listener");
    wait_until_final(
        &plain,
        &topics,
        &ids(&orders),
        Duration::from_secs(60),
        &consumer,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", consumer.log_tail()));
}

#[tokio::test]
async fn orders_are_processed_over_sasl_ssl_with_scram() {
    completes_orders_over(
        "c-scram",
        |user| format!("User:{user}"),
        Secured::sasl_ssl_servers,
        Secured::scram_flags,
    )
    .await;
}

#[tokio::test]
async fn orders_are_processed_over_tls_with_a_client_certificate() {
    completes_orders_over(
        "c-mtls",
        |_| format!("User:CN={CLIENT_CN}"),
        Secured::ssl_servers,
        |s, _| s.mtls_flags(),
    )
    .await;
}
