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
            let (host, port) = split(entry)
                .ok_or_else(|| format!("{entry:?} is not host:port (or *.domain:port)"))?;
            if port.parse::<u16>().is_err() || host.is_empty() || host[1..].contains('*') {
                return Err(format!("{entry:?} is not host:port (or *.domain:port)"));
            }
            entries.push((host.to_ascii_lowercase(), port.to_owned()));
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
            let allowed = split(server).is_some_and(|(host, port)| {
                let host = host.to_ascii_lowercase();
                self.0.iter().any(|(pattern, allowed_port)| {
                    allowed_port == port
                        && match pattern.strip_prefix('*') {
                            Some(domain) => host.ends_with(domain),
                            None => *pattern == host,
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

fn split(entry: &str) -> Option<(&str, &str)> {
    entry.rsplit_once(':')
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
        for bad in ["kafka", "kafka:http", "a*b:9092", ":9092"] {
            assert!(AllowedClusters::parse(bad).is_err(), "{bad}");
        }
    }
}
