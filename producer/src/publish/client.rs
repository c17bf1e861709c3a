//! librdkafka settings of the pool's producers.

use rdkafka::ClientConfig;

use crate::config::{Config, PublishMode};

/// Settings of pool member `member`: every member is idempotent with acks=all, and the pool
/// together queues at most `--queue-max-messages`.
pub fn client_config(config: &Config, member: usize) -> ClientConfig {
    let pool = u32::try_from(config.pool_size()).unwrap_or(1).max(1);
    let mut client = config.kafka_client();
    client
        .set("client.id", format!("coffee-producer-{member}"))
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", config.delivery_timeout_ms.to_string())
        .set(
            "max.in.flight.requests.per.connection",
            config.kafka_max_in_flight.to_string(),
        )
        .set(
            "queue.buffering.max.messages",
            config.queue_max_messages.div_ceil(pool).to_string(),
        );
    match config.publish_mode {
        PublishMode::Durable => client
            .set("linger.ms", config.linger_ms.to_string())
            .set("batch.size", config.batch_size.to_string())
            .set("compression.type", config.compression.as_str()),
        PublishMode::Sync => client
            .set("linger.ms", "0")
            .set("batch.num.messages", "1")
            .set("compression.type", "none"),
    };
    client
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn config(args: &[&str]) -> Config {
        Config::try_parse_from(
            ["coffee-producer", "--kafka-brokers", "k:9092"]
                .iter()
                .chain(args),
        )
        .unwrap()
    }

    #[test]
    fn every_member_is_idempotent_and_waits_for_all_replicas() {
        let config = config(&["--kafka-producers", "3"]);
        for member in 0..3 {
            let client = client_config(&config, member);
            assert_eq!(client.get("enable.idempotence"), Some("true"));
            assert_eq!(client.get("acks"), Some("all"));
            let id = format!("coffee-producer-{member}");
            assert_eq!(client.get("client.id"), Some(id.as_str()));
        }
    }

    #[test]
    fn the_pool_shares_one_queue_bound() {
        let config = config(&["--kafka-producers", "4", "--queue-max-messages", "1000"]);
        assert_eq!(
            client_config(&config, 0).get("queue.buffering.max.messages"),
            Some("250")
        );
    }
}
