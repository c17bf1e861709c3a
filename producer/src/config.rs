//! Command-line flags with environment fallbacks. The original service's variables
//! (`SERVER_PORT`, `KAFKA_BROKERS`, `KAFKA_TOPIC`) keep their meaning.

use std::net::IpAddr;

use clap::{Parser, ValueEnum};
use coffee_kafka::compression::Compression;
use coffee_telemetry::LogFormat;

/// HTTP order intake for the coffee pipeline: accepts orders and publishes them durably to Kafka.
#[derive(Debug, Clone, Parser)]
#[command(name = "coffee-producer", version, about)]
pub struct Config {
    /// Port for the HTTP API, probes and metrics.
    #[arg(long, env = "SERVER_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, env = "BIND_ADDRESS", default_value = "0.0.0.0")]
    pub bind_address: IpAddr,
    /// Kafka bootstrap servers, comma-separated host:port.
    #[arg(long, env = "KAFKA_BROKERS", value_delimiter = ',', required = true)]
    pub kafka_brokers: Vec<String>,
    /// Topic that receives order events.
    #[arg(long, env = "KAFKA_TOPIC", default_value = "coffee-orders")]
    pub kafka_topic: String,
    /// Compacted topic of order status changes, written by the consumer and read into the view.
    #[arg(
        long,
        env = "KAFKA_STATUS_TOPIC",
        default_value = "coffee-order-status"
    )]
    pub status_topic: String,
    /// `durable` batches concurrent requests (answer after the broker acknowledged); `sync`
    /// reproduces the original design for comparison: one message per produce request, no linger.
    #[arg(long, env = "PUBLISH_MODE", value_enum, default_value_t = PublishMode::Durable)]
    pub publish_mode: PublishMode,
    /// librdkafka producers in the pool, each with its own broker connections; an order goes
    /// through the one that owns its partition. More connections let a broker with cores to
    /// spare serve requests side by side; on the 2-core machine the benchmarks run on, every
    /// extra producer only cost CPU per order (docs/benchmarks.md), hence 1. `sync` mode always
    /// uses one.
    #[arg(long, env = "KAFKA_PRODUCERS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub kafka_producers: u16,
    /// How long librdkafka waits to fill a batch. Each request waits at most this long extra;
    /// throughput comes from many concurrent requests sharing a batch. 1 ms measured best from
    /// 64 to 256 connections; at 16 a request no longer waits out 5 ms that bought no batch
    /// (docs/benchmarks.md). 0 sends at once, for the lowest latency at low concurrency.
    #[arg(long, env = "KAFKA_LINGER_MS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub linger_ms: u32,
    /// Produce requests each producer keeps in flight per broker connection (idempotence allows
    /// 1–5). With 1, orders that arrive while a request is in flight wait for its answer and go
    /// together in the next: batches grow with the load instead of with the linger.
    #[arg(long, env = "KAFKA_MAX_IN_FLIGHT", default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub kafka_max_in_flight: u8,
    /// Upper bound of one batch, in bytes.
    #[arg(long, env = "KAFKA_BATCH_SIZE", default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1_000..=10_000_000))]
    pub batch_size: u32,
    /// Compression of batches.
    #[arg(long, env = "KAFKA_COMPRESSION", value_enum, default_value_t = Compression::Lz4)]
    pub compression: Compression,
    /// Most messages waiting for the broker at once; beyond it requests get 503 + Retry-After
    /// rather than growing memory.
    #[arg(long, env = "KAFKA_QUEUE_MAX_MESSAGES", default_value_t = 50_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub queue_max_messages: u32,
    /// How long a message may wait for the broker's acknowledgement before the request fails.
    #[arg(long, env = "KAFKA_DELIVERY_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1_000..=300_000))]
    pub delivery_timeout_ms: u32,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 16 * 1024, value_parser = clap::value_parser!(u32).range(64..=1_048_576))]
    pub max_body_bytes: u32,
    /// Seconds a client may take to send a request's head (request line and headers); then the
    /// connection is closed. hyper times an idle keep-alive connection the same way, so a proxy
    /// in front must close its idle upstream connections sooner (30 s is hyper's own default).
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_read_timeout_secs: u64,
    /// Seconds a client may take to send a request's body; then the answer is `408`.
    #[arg(long, env = "BODY_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub body_read_timeout_secs: u64,
    /// Most order requests served at once; beyond it the answer is `503 overloaded` with
    /// `Retry-After` (probes and metrics are not counted).
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_concurrent_requests: u32,
    /// How long an `Idempotency-Key` keeps answering with its order.
    #[arg(long, env = "IDEMPOTENCY_RETENTION_SECS", default_value_t = 24 * 3600, value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 3600))]
    pub idempotency_retention_secs: u64,
    /// Most orders kept in the in-memory view; the oldest are forgotten first.
    #[arg(long, env = "VIEW_MAX_ORDERS", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(100..=100_000_000))]
    pub view_max_orders: u64,
    /// Longest the view's reader of the order topic waits to fetch 64 KiB at once. Longer
    /// saves the broker fetches under load (docs/benchmarks.md); a request with a new
    /// `Idempotency-Key` may wait this long for another replica's orders.
    #[arg(long, env = "VIEW_FETCH_WAIT_MS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=1_000))]
    pub view_fetch_wait_ms: u32,
    /// How long shutdown waits for in-flight deliveries.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub shutdown_timeout_secs: u64,
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Bearer token `GET /orders` requires (the listing shows every customer's orders); without
    /// one the listing answers 403. 16 to 1024 visible ASCII characters.
    #[arg(long, env = "ORDERS_LIST_TOKEN", hide_env_values = true)]
    pub orders_list_token: Option<crate::list_token::ListToken>,
    /// TLS and SASL to the brokers.
    #[command(flatten)]
    pub kafka_security: coffee_kafka::security::Security,
    /// Export spans over OTLP/HTTP to this URL (e.g. http://collector:4318/v1/traces); off when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")]
    pub otlp_traces_endpoint: Option<String>,
}

/// How publishing trades latency for throughput.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PublishMode {
    /// Batched, compressed, idempotent, acks=all; a 2xx only after the broker has the order.
    Durable,
    /// The original design: every request produces and awaits one message on its own.
    Sync,
}

/// A configuration value that cannot work, named with the flag that set it.
#[derive(Debug, thiserror::Error)]
#[error("--{flag}: {reason}")]
pub struct ConfigError {
    pub flag: &'static str,
    pub reason: String,
}

impl Config {
    /// Checks what clap's parsers cannot: broker addresses and Kafka topic names.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(token) = &self.orders_list_token {
            token.check().map_err(|reason| ConfigError {
                flag: "orders-list-token",
                reason,
            })?;
        }
        self.kafka_security
            .validate()
            .map_err(|error| ConfigError {
                flag: "kafka-security-protocol",
                reason: error.to_string(),
            })?;
        if self.kafka_brokers.iter().all(|b| b.trim().is_empty()) {
            return Err(ConfigError {
                flag: "kafka-brokers",
                reason: "no broker given".into(),
            });
        }
        for broker in &self.kafka_brokers {
            let valid = broker.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !valid {
                return Err(ConfigError {
                    flag: "kafka-brokers",
                    reason: format!("{broker:?} is not host:port"),
                });
            }
        }
        check_topic("kafka-topic", &self.kafka_topic)?;
        check_topic("status-topic", &self.status_topic)?;
        if self.kafka_topic == self.status_topic {
            return Err(ConfigError {
                flag: "status-topic",
                reason: "must differ from --kafka-topic".into(),
            });
        }
        Ok(())
    }

    /// Producers in the pool: the original design (`sync`) has one.
    pub fn pool_size(&self) -> usize {
        match self.publish_mode {
            PublishMode::Durable => usize::from(self.kafka_producers),
            PublishMode::Sync => 1,
        }
    }

    /// Client settings every Kafka client of the process starts from: brokers and security.
    pub fn kafka_client(&self) -> rdkafka::ClientConfig {
        let mut client = rdkafka::ClientConfig::new();
        client.set("bootstrap.servers", self.brokers());
        self.kafka_security.apply(&mut client);
        client
    }

    pub fn brokers(&self) -> String {
        self.kafka_brokers
            .iter()
            .map(|b| b.trim())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Kafka's rule: 1–249 characters of ASCII letters, digits, `.`, `_` and `-`, not `.` or `..`.
fn check_topic(flag: &'static str, topic: &str) -> Result<(), ConfigError> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if topic.is_empty()
        || topic.len() > 249
        || !topic.chars().all(legal)
        || topic == "."
        || topic == ".."
    {
        return Err(ConfigError {
            flag,
            reason: format!(
                "{topic:?} is not a valid Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("coffee-producer").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_follow_the_original_service() {
        let config = parse(&["--kafka-brokers", "a:9092,b:9092"]).unwrap();
        assert_eq!(config.port, 8080);
        assert_eq!(config.kafka_topic, "coffee-orders");
        assert_eq!(config.brokers(), "a:9092,b:9092");
        assert_eq!(config.publish_mode, PublishMode::Durable);
        config.validate().unwrap();
    }

    #[test]
    fn brokers_are_required() {
        assert!(
            parse(&[])
                .unwrap_err()
                .to_string()
                .contains("--kafka-brokers")
        );
    }

    #[test]
    fn broker_without_port_is_refused() {
        let error = parse(&["--kafka-brokers", "kafka"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "--kafka-brokers: \"kafka\" is not host:port"
        );
    }

    #[test]
    fn invalid_topic_name_is_refused() {
        let error = parse(&["--kafka-brokers", "k:1", "--kafka-topic", "orders!"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(error.to_string().starts_with("--kafka-topic:"), "{error}");
    }

    #[test]
    fn order_and_status_topics_must_differ() {
        let config = parse(&[
            "--kafka-brokers",
            "k:1",
            "--kafka-topic",
            "t",
            "--status-topic",
            "t",
        ])
        .unwrap();
        assert!(config.validate().is_err());
    }

    #[test]
    fn out_of_range_linger_is_refused_by_the_parser() {
        assert!(parse(&["--kafka-brokers", "k:1", "--linger-ms", "5000"]).is_err());
    }

    #[test]
    fn the_producer_pool_size_is_between_1_and_16() {
        let config = parse(&["--kafka-brokers", "k:1", "--kafka-producers", "4"]).unwrap();
        assert_eq!(config.pool_size(), 4);
        assert!(parse(&["--kafka-brokers", "k:1", "--kafka-producers", "0"]).is_err());
        assert!(parse(&["--kafka-brokers", "k:1", "--kafka-producers", "17"]).is_err());
    }

    #[test]
    fn the_original_design_publishes_through_one_producer() {
        let config = parse(&[
            "--kafka-brokers",
            "k:1",
            "--publish-mode",
            "sync",
            "--kafka-producers",
            "4",
        ])
        .unwrap();
        assert_eq!(config.pool_size(), 1);
    }

    #[test]
    fn sync_mode_can_be_chosen() {
        let config = parse(&["--kafka-brokers", "k:1", "--publish-mode", "sync"]).unwrap();
        assert_eq!(config.publish_mode, PublishMode::Sync);
    }
}
