//! Command-line flags with environment fallbacks, checked once at start-up.

use std::net::IpAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use coffee_kafka::names::TopicNames;
use coffee_telemetry::LogFormat;

/// Processes coffee orders from Kafka with a resizable worker pool: parallel across orders, in
/// order per order, at least once, with dead letters.
#[derive(Debug, Clone, Parser)]
#[command(name = "coffee-consumer", version, about)]
pub struct Config {
    /// Port for probes and metrics.
    #[arg(long, env = "SERVER_PORT", default_value_t = 8081)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, env = "BIND_ADDRESS", default_value = "0.0.0.0")]
    pub bind_address: IpAddr,
    /// Kafka bootstrap servers, comma-separated host:port.
    #[arg(long, env = "KAFKA_BROKERS", value_delimiter = ',', required = true)]
    pub kafka_brokers: Vec<String>,
    /// Topic of order events to process.
    #[arg(long, env = "KAFKA_TOPIC", default_value = "coffee-orders")]
    pub kafka_topic: String,
    /// Consumer group; defaults to `<topic>-processor`.
    #[arg(long, env = "KAFKA_GROUP_ID")]
    pub group_id: Option<String>,
    /// Compacted topic that receives every order's status changes.
    #[arg(
        long,
        env = "KAFKA_STATUS_TOPIC",
        default_value = "coffee-order-status"
    )]
    pub status_topic: String,
    /// Topic for messages that cannot be processed; defaults to `<topic>-dead-letters`.
    #[arg(long, env = "KAFKA_DEAD_LETTER_TOPIC")]
    pub dead_letter_topic: Option<String>,
    /// Compacted topic whose record keyed by the group id sets the worker count live
    /// (`{"workers": N}`); defaults to `<topic>-control`. Missing topic: the count stays at `--workers`.
    #[arg(long, env = "KAFKA_CONTROL_TOPIC")]
    pub control_topic: Option<String>,
    /// Workers at start-up, until the control topic says otherwise.
    #[arg(long, env = "WORKERS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub workers: u32,
    /// Most workers the control topic may ask for.
    #[arg(long, env = "MAX_WORKERS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_workers: u32,
    /// Most messages dispatched to the pool as one batch.
    #[arg(long, env = "BATCH_MAX_MESSAGES", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_max_messages: u32,
    /// Longest a batch waits for more messages once its first has arrived, in milliseconds.
    #[arg(long, env = "BATCH_MAX_WAIT_MS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub batch_max_wait_ms: u64,
    /// Messages taken from Kafka but not finished, at most; beyond it the partitions pause.
    #[arg(long, env = "MAX_IN_FLIGHT", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_in_flight: u32,
    /// Length of one brew unit (Espresso takes 30 units, Cappuccino 90, …).
    #[arg(long, env = "BREW_UNIT", value_enum, default_value_t = BrewUnit::Millisecond)]
    pub brew_unit: BrewUnit,
    /// Multiplies every brew time; 0 brews instantly (for overhead benchmarks).
    #[arg(long, env = "BREW_TIME_SCALE", default_value_t = 1.0)]
    pub brew_time_scale: f64,
    /// How long librdkafka tries to write a status event or dead letter before reporting it
    /// failed (`message.timeout.ms`); the consumer then writes it again after a back-off, as
    /// often as it takes, and the partition's commit waits for it.
    #[arg(long, env = "KAFKA_DELIVERY_TIMEOUT_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u32).range(1_000..=900_000))]
    pub kafka_delivery_timeout_ms: u32,
    /// First retry back-off in milliseconds; it doubles per attempt.
    #[arg(long, env = "RETRY_BACKOFF_MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub retry_backoff_ms: u64,
    /// How often finished offsets are committed, in milliseconds.
    #[arg(long, env = "COMMIT_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub commit_interval_ms: u64,
    /// How long the group waits for a silent member (e.g. a killed process) before giving its
    /// partitions to others. The broker allows 6 s to 30 min by default.
    #[arg(long, env = "KAFKA_SESSION_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1_000..=3_600_000))]
    pub session_timeout_ms: u32,
    /// Orders remembered as finished, so a redelivered one is not brewed twice.
    #[arg(long, env = "FINISHED_MEMORY", default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1_000..=100_000_000))]
    pub finished_memory: u64,
    /// How long the brokers may be up while this member stays out of its group, every status
    /// event delivery fails, or a dead letter is not written, before the process restarts itself
    /// (its Kafka clients are taken to be wedged).
    #[arg(long, env = "WEDGED_AFTER_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub wedged_after_secs: u64,
    /// How long shutdown lets in-flight orders finish before leaving them to the next owner.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub shutdown_timeout_secs: u64,
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// TLS and SASL to the brokers.
    #[command(flatten)]
    pub kafka_security: coffee_kafka::security::Security,
    /// Export spans over OTLP/HTTP to this URL; off when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")]
    pub otlp_traces_endpoint: Option<String>,
}

/// How long one brew unit lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BrewUnit {
    #[value(name = "ms")]
    Millisecond,
    #[value(name = "s")]
    Second,
}

/// Why the configuration cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--kafka-brokers / KAFKA_BROKERS has an empty entry in {0:?}")]
    EmptyBroker(Vec<String>),
    #[error("--{flag} must not be empty")]
    EmptyName { flag: &'static str },
    #[error("--brew-time-scale / BREW_TIME_SCALE must be a number from 0 to 1000, not {0}")]
    BrewScale(f64),
    #[error("--workers ({workers}) must not exceed --max-workers ({max})")]
    WorkersAboveMax { workers: u32, max: u32 },
    #[error("--{flag} ({topic:?}) must differ from the order topic")]
    SameTopic { flag: &'static str, topic: String },
    #[error("Kafka security: {0}")]
    Security(#[from] coffee_kafka::security::SecurityError),
}

impl Config {
    /// Rejects combinations the flag parsers cannot see.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.kafka_security.validate()?;
        if self.kafka_brokers.iter().any(|b| b.trim().is_empty()) {
            return Err(ConfigError::EmptyBroker(self.kafka_brokers.clone()));
        }
        for (flag, value) in [
            ("kafka-topic", Some(&self.kafka_topic)),
            ("status-topic", Some(&self.status_topic)),
            ("group-id", self.group_id.as_ref()),
            ("dead-letter-topic", self.dead_letter_topic.as_ref()),
            ("control-topic", self.control_topic.as_ref()),
        ] {
            if value.is_some_and(|v| v.trim().is_empty()) {
                return Err(ConfigError::EmptyName { flag });
            }
        }
        if !(0.0..=1000.0).contains(&self.brew_time_scale) || self.brew_time_scale.is_nan() {
            return Err(ConfigError::BrewScale(self.brew_time_scale));
        }
        if self.workers > self.max_workers {
            return Err(ConfigError::WorkersAboveMax {
                workers: self.workers,
                max: self.max_workers,
            });
        }
        for (flag, topic) in [
            ("status-topic", self.status_topic.clone()),
            ("dead-letter-topic", self.dead_letter_topic()),
            ("control-topic", self.control_topic()),
        ] {
            if topic == self.kafka_topic {
                return Err(ConfigError::SameTopic { flag, topic });
            }
        }
        Ok(())
    }

    /// Client settings every Kafka client of the process starts from: brokers and security.
    pub fn kafka_client(&self) -> rdkafka::ClientConfig {
        let mut client = rdkafka::ClientConfig::new();
        client.set("bootstrap.servers", self.brokers());
        self.kafka_security.apply(&mut client);
        client
    }

    pub fn brokers(&self) -> String {
        self.kafka_brokers.join(",")
    }

    /// The names the operator would give, for what is not set.
    fn derived(&self) -> TopicNames {
        TopicNames::for_orders(&self.kafka_topic)
    }

    pub fn group_id(&self) -> String {
        self.group_id
            .clone()
            .unwrap_or_else(|| self.derived().group())
    }

    pub fn dead_letter_topic(&self) -> String {
        self.dead_letter_topic
            .clone()
            .unwrap_or_else(|| self.derived().dead_letters)
    }

    pub fn control_topic(&self) -> String {
        self.control_topic
            .clone()
            .unwrap_or_else(|| self.derived().control)
    }

    /// One brew unit after scaling.
    pub fn brew_unit(&self) -> Duration {
        let unit = match self.brew_unit {
            BrewUnit::Millisecond => Duration::from_millis(1),
            BrewUnit::Second => Duration::from_secs(1),
        };
        unit.mul_f64(self.brew_time_scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        let mut all = vec!["coffee-consumer", "--kafka-brokers", "k:9092"];
        all.extend_from_slice(args);
        Config::try_parse_from(all).unwrap()
    }

    #[test]
    fn names_default_from_the_order_topic() {
        let config = parse(&["--kafka-topic", "orders"]);
        assert_eq!(config.group_id(), "orders-processor");
        assert_eq!(config.dead_letter_topic(), "orders-dead-letters");
        assert_eq!(config.control_topic(), "orders-control");
    }

    #[test]
    fn brew_scale_zero_brews_instantly() {
        let config = parse(&["--brew-time-scale", "0"]);
        assert_eq!(config.brew_unit(), Duration::ZERO);
    }

    #[test]
    fn seconds_unit_with_scale_shortens_each_unit() {
        let config = parse(&["--brew-unit", "s", "--brew-time-scale", "0.5"]);
        assert_eq!(config.brew_unit(), Duration::from_millis(500));
    }

    #[test]
    fn negative_brew_scale_is_rejected() {
        let error = parse(&["--brew-time-scale=-1"]).validate().unwrap_err();
        assert!(error.to_string().contains("BREW_TIME_SCALE"), "{error}");
    }

    #[test]
    fn more_workers_than_the_maximum_is_rejected() {
        let error = parse(&["--workers", "20", "--max-workers", "10"])
            .validate()
            .unwrap_err();
        assert!(
            matches!(error, ConfigError::WorkersAboveMax { .. }),
            "{error}"
        );
    }

    #[test]
    fn dead_letters_into_the_order_topic_are_rejected() {
        let error = parse(&["--dead-letter-topic", "coffee-orders"])
            .validate()
            .unwrap_err();
        assert!(matches!(error, ConfigError::SameTopic { .. }), "{error}");
    }

    #[test]
    fn empty_broker_entry_is_rejected() {
        let config = Config::try_parse_from(["c", "--kafka-brokers", "a:1,"]).unwrap();
        assert!(matches!(
            config.validate(),
            Err(ConfigError::EmptyBroker(_))
        ));
    }
}
