//! Which Kafka clusters pipelines may name (flag `--allowed-kafka-clusters`, chart value
//! `allowedKafkaClusters`). The operator dials a pipeline's `bootstrapServers` and hands it the
//! credentials of the pipeline's Secrets; on a shared Kubernetes cluster a platform team limits
//! that to its own Kafka clusters. Empty: every cluster, as before.

/// Allowed `host:port` entries; a host may start with `*.` for any host under a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedClusters(Vec<(String, String)>);

impl AllowedClusters {
    /// Reads entries separated by commas, each `host:port` or `*.domain:port`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || format!("{entry:?} is not host:port (or *.domain:port)");
            let (host, port) = split(entry).ok_or_else(bad)?;
            let name = host.strip_prefix("*.").unwrap_or(host);
            if !is_host(name) {
                return Err(bad());
            }
            let pattern = match host.starts_with("*.") {
                true => format!(".{name}"),
                false => name.to_owned(),
            };
            entries.push((pattern.to_ascii_lowercase(), port.to_owned()));
        }
        Ok(Self(entries))
    }

    /// Whether every server of `bootstrap` (comma-separated `host:port`) is allowed; the
    /// message names the first that is not.
    pub fn check(&self, bootstrap: &str) -> Result<(), String> {
        if self.0.is_empty() {
            return Ok(());
        }
        for server in bootstrap
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            // A scheme, a path or anything but a plain host name or address is refused: what
            // librdkafka would dial must be exactly what was checked.
            let allowed = split(server).is_some_and(|(host, port)| {
                let host = host.to_ascii_lowercase();
                is_host(&host)
                    && self.0.iter().any(|(pattern, allowed_port)| {
                        allowed_port == port
                            && match pattern.starts_with('.') {
                                true => host.ends_with(pattern.as_str()),
                                false => *pattern == host,
                            }
                    })
            });
            if !allowed {
                return Err(format!(
                    "Kafka server {server} is not among the clusters this operator may use (--allowed-kafka-clusters); ask the platform team, or name an allowed cluster in kafka.bootstrapServers"
                ));
            }
        }
        Ok(())
    }
}

/// `host:port` with a port that is a number.
fn split(entry: &str) -> Option<(&str, &str)> {
    entry
        .rsplit_once(':')
        .filter(|(_, port)| port.parse::<u16>().is_ok())
}

/// A DNS name or IPv4 address: letters, digits, `-` and `.` only, not empty.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && !host.starts_with('.')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(text: &str) -> AllowedClusters {
        AllowedClusters::parse(text).expect("a list")
    }

    #[test]
    fn no_entries_allow_every_cluster() {
        assert_eq!(allowed("").check("anything:9092"), Ok(()));
    }

    #[test]
    fn every_server_must_match_an_entry() {
        let list = allowed("kafka-0.prod:9093, kafka-1.prod:9093");
        assert_eq!(list.check("kafka-0.prod:9093,kafka-1.prod:9093"), Ok(()));
        let refused = list
            .check("kafka-0.prod:9093,evil.example:9093")
            .unwrap_err();
        assert!(refused.contains("evil.example:9093"), "{refused}");
    }

    #[test]
    fn a_wildcard_allows_hosts_under_its_domain_on_its_port_only() {
        let list = allowed("*.kafka.example.com:9093");
        assert_eq!(list.check("b-1.kafka.example.com:9093"), Ok(()));
        assert!(list.check("b-1.kafka.example.com:9092").is_err());
        assert!(list.check("kafka.example.com.evil:9093").is_err());
    }

    #[test]
    fn entries_that_are_not_host_port_are_refused() {
        for bad in [
            "kafka",
            "kafka:http",
            "a*b:9092",
            ":9092",
            "*:9093",
            "*foo:9093",
            "é:9092",
        ] {
            assert!(AllowedClusters::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_server_with_a_scheme_or_a_path_is_not_allowed() {
        let list = allowed("*.kafka.example.com:9093");
        for sneaky in [
            "PLAINTEXT://evil.example:9093/x.kafka.example.com:9093",
            "evil.example/b.kafka.example.com:9093",
        ] {
            assert!(list.check(sneaky).is_err(), "{sneaky}");
        }
    }
}
