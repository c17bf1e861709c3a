//! Where the test bed's servers are, for tests.
//!
//! `e2e/testbed up` writes an env file; tests read it (not the ambient `KUBECONFIG`, which could
//! point at a real cluster). When the file is missing or a server does not answer, the error says
//! how to start the test bed, so a test never passes or skips without its servers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::kafka_secured::{CertificateError, Certificates, Secured};

/// Why the test bed cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TestBedError {
    /// `e2e/testbed up` has not written its env file.
    #[error("the test bed is not up: {path} is missing ({source}); start it with `e2e/testbed up`")]
    NoEnvFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The env file lacks a setting the tests need.
    #[error("{path} has no {name}; run `e2e/testbed up` again")]
    MissingSetting { path: PathBuf, name: &'static str },
    /// The kubeconfig could not be loaded.
    #[error("loading the test bed's kubeconfig {path}: {reason}")]
    Kubeconfig { path: PathBuf, reason: String },
    /// A server did not answer.
    #[error(
        "{server} at {address} does not answer ({reason}); is the test bed up? \
         `e2e/testbed status` says, `e2e/testbed up` starts it; logs are in {log_dir}"
    )]
    Unreachable {
        server: &'static str,
        address: String,
        reason: String,
        log_dir: String,
    },
}

/// The test bed's addresses, as written by `e2e/testbed up`.
#[derive(Debug, Clone)]
pub struct TestBed {
    pub kubeconfig: PathBuf,
    /// PLAINTEXT listeners, whose anonymous principal is a super user.
    pub kafka_bootstrap_servers: String,
    /// SASL_SSL (SCRAM-SHA-512) and SSL (client certificates) listeners of the same brokers.
    pub kafka_sasl_ssl_servers: String,
    pub kafka_ssl_servers: String,
    /// The CA, the broker's and the client's certificates `up` made.
    pub kafka_tls_dir: PathBuf,
    pub prometheus_url: String,
    pub prometheus_targets_dir: PathBuf,
    /// Directories holding the built kubectl and helm.
    pub bin_path: String,
    /// Java classpath of Kafka's jars, for starting extra brokers and Kafka's own tools.
    pub kafka_classpath: String,
    pub log_dir: String,
    /// The prometheus-operator's CRD files (ServiceMonitor, PodMonitor, PrometheusRule).
    pub prometheus_operator_crds: PathBuf,
}

impl TestBed {
    /// Reads the env file: `$TESTBED_ENV_FILE`, else the default path `e2e/testbed` uses.
    pub fn load() -> Result<Self, TestBedError> {
        let path = env_file_path();
        let text = std::fs::read_to_string(&path).map_err(|source| TestBedError::NoEnvFile {
            path: path.clone(),
            source,
        })?;
        let setting = |name: &'static str| {
            exported_value(&text, name).ok_or_else(|| TestBedError::MissingSetting {
                path: path.clone(),
                name,
            })
        };
        Ok(Self {
            kubeconfig: setting("KUBECONFIG")?.into(),
            kafka_bootstrap_servers: setting("KAFKA_BOOTSTRAP_SERVERS")?,
            kafka_sasl_ssl_servers: setting("KAFKA_SASL_SSL_SERVERS")?,
            kafka_ssl_servers: setting("KAFKA_SSL_SERVERS")?,
            kafka_tls_dir: PathBuf::from(setting("KAFKA_CA_FILE")?)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            prometheus_url: setting("PROMETHEUS_URL")?,
            prometheus_targets_dir: setting("PROMETHEUS_TARGETS_DIR")?.into(),
            bin_path: setting("TESTBED_BIN_PATH")?,
            kafka_classpath: setting("KAFKA_CLASSPATH")?,
            log_dir: setting("TESTBED_LOG_DIR")?,
            prometheus_operator_crds: setting("PROMETHEUS_OPERATOR_CRDS")?.into(),
        })
    }

    /// A client for the test bed's kube-apiserver, as its admin, once the server answers.
    pub async fn kube_client(&self) -> Result<kube::Client, TestBedError> {
        let bad_config = |reason: String| TestBedError::Kubeconfig {
            path: self.kubeconfig.clone(),
            reason,
        };
        let kubeconfig =
            Kubeconfig::read_from(&self.kubeconfig).map_err(|e| bad_config(e.to_string()))?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| bad_config(e.to_string()))?;
        let address = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|e| bad_config(e.to_string()))?;
        match tokio::time::timeout(Duration::from_secs(10), client.apiserver_version()).await {
            Ok(Ok(_)) => Ok(client),
            Ok(Err(error)) => Err(self.unreachable("kube-apiserver", address, error.to_string())),
            Err(_) => {
                Err(self.unreachable("kube-apiserver", address, "no answer within 10s".into()))
            }
        }
    }

    /// The secured listeners of the test bed's brokers, knowing no user yet: a test makes its
    /// own with [`Secured::new_user`] and grants it ACLs.
    pub fn secured(&self) -> Result<Secured, CertificateError> {
        Ok(Secured {
            sasl_ssl: self.kafka_sasl_ssl_servers.clone(),
            ssl: self.kafka_ssl_servers.clone(),
            certificates: Certificates::read(&self.kafka_tls_dir)?,
            users: Vec::new(),
            admin_servers: self.kafka_bootstrap_servers.clone(),
            classpath: self.kafka_classpath.clone(),
        })
    }

    /// The same test bed, but with Kafka clients pointed at `bootstrap_servers` (a broker of a
    /// test's own, such as a [`crate::kafka_instance::KafkaInstance`]).
    pub fn with_kafka(&self, bootstrap_servers: &str) -> Self {
        Self {
            kafka_bootstrap_servers: bootstrap_servers.to_owned(),
            ..self.clone()
        }
    }

    /// Path of a tool the test bed built (kubectl, helm).
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin_path
            .split(':')
            .map(|dir| Path::new(dir).join(name))
            .find(|path| path.is_file())
            .unwrap_or_else(|| PathBuf::from(name))
    }

    /// The pids of the test bed's Kafka nodes that run (`kafka-1`, `kafka-2`, ...).
    pub fn kafka_pids(&self) -> Vec<u32> {
        (1..=9)
            .filter_map(|node| self.server_pid(&format!("kafka-{node}")))
            .collect()
    }

    /// The pid of a server `e2e/testbed up` started (`kafka-1`, `etcd`, ...), from the pid file
    /// it keeps beside its log directory; `None` when there is none. Benchmarks read the
    /// server's CPU time from it.
    pub fn server_pid(&self, server: &str) -> Option<u32> {
        let file = Path::new(&self.log_dir)
            .parent()?
            .join("pids")
            .join(format!("{server}.pid"));
        std::fs::read_to_string(file)
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// The error for a server that does not answer, with the test bed's log directory.
    pub fn unreachable(
        &self,
        server: &'static str,
        address: String,
        reason: String,
    ) -> TestBedError {
        TestBedError::Unreachable {
            server,
            address,
            reason,
            log_dir: self.log_dir.clone(),
        }
    }
}

fn env_file_path() -> PathBuf {
    if let Some(file) = std::env::var_os("TESTBED_ENV_FILE") {
        return file.into();
    }
    let cache = std::env::var_os("COFFEE_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
                })
                .join("coffee-pipeline")
        });
    std::env::var_os("TESTBED_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache.join("testbed"))
        .join("env.sh")
}

/// The value of `export NAME="value"` in a shell env file.
fn exported_value(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix("export ")?
            .strip_prefix(name)?
            .strip_prefix('=')?;
        Some(rest.trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_values_are_read_without_quotes() {
        let text = "# comment\nexport KUBECONFIG=\"/a/b\"\nexport KAFKA=x\n";
        assert_eq!(exported_value(text, "KUBECONFIG").as_deref(), Some("/a/b"));
        assert_eq!(exported_value(text, "KAFKA").as_deref(), Some("x"));
    }

    #[test]
    fn a_name_that_is_a_prefix_of_another_is_not_confused() {
        let text = "export PROMETHEUS_URL_EXTRA=\"no\"\nexport PROMETHEUS_URL=\"yes\"\n";
        assert_eq!(
            exported_value(text, "PROMETHEUS_URL").as_deref(),
            Some("yes")
        );
    }

    #[test]
    fn missing_env_file_says_how_to_start_the_test_bed() {
        let error = TestBedError::NoEnvFile {
            path: "/nowhere/env.sh".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(error.to_string().contains("e2e/testbed up"));
    }
}
