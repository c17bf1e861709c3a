//! A Kafka broker of a test's own, for tests that stop and restart the broker (which they must
//! not do to the test bed's shared one). Same jars and settings as the test bed's broker.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use tokio::process::{Child, Command};

use crate::fixtures::log_tail;
use crate::ports::free_local_port;
use crate::testbed::TestBed;

/// The broker settings the test bed's own Kafka runs with, so that an extra broker differs only
/// in its ports, listener and directory.
const SERVER_PROPERTIES: &str = include_str!("../testbed.d/kafka/server.properties");

/// The template filled in for one broker.
fn server_properties(
    port: u16,
    controller_port: u16,
    listener: &str,
    log_dirs: &std::path::Path,
) -> String {
    SERVER_PROPERTIES
        .replace("@PORT@", &port.to_string())
        .replace("@CONTROLLER_PORT@", &controller_port.to_string())
        .replace("@LISTENER@", listener)
        .replace("@LOG_DIRS@", &log_dirs.display().to_string())
}

/// Why the extra broker could not be started.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("{action} for the extra Kafka broker in {dir}: {source}")]
    Io {
        action: &'static str,
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("the extra Kafka broker on port {port} {problem}; last log lines:\n{log_tail}")]
    NotReady {
        port: u16,
        problem: String,
        log_tail: String,
    },
}

/// How clients reach an extra broker.
#[derive(Debug, Clone, Copy)]
enum Access<'a> {
    Plaintext,
    /// SASL/PLAIN users (name, password); the first is the broker's own.
    SaslPlain(&'a [(&'a str, &'a str)]),
}

fn instance_dir(bed: &TestBed, name: &str) -> PathBuf {
    PathBuf::from(&bed.log_dir)
        .join("kafka-instances")
        .join(name)
}

/// A single-node KRaft broker on free loopback ports, stopped when dropped.
#[derive(Debug)]
pub struct KafkaInstance {
    dir: PathBuf,
    port: u16,
    classpath: String,
    child: Option<Child>,
    /// User name and password of the broker's own SASL/PLAIN user, when it requires SASL.
    sasl_admin: Option<(String, String)>,
}

impl KafkaInstance {
    /// Formats storage under the test bed's log directory and starts the broker.
    pub async fn start(bed: &TestBed, name: &str) -> Result<Self, InstanceError> {
        Self::start_with(bed, name, Access::Plaintext).await
    }

    /// Like [`KafkaInstance::start`], but clients must authenticate with SASL/PLAIN as one of
    /// `users` (name, password); the first is also the broker's own.
    pub async fn start_sasl_plain(
        bed: &TestBed,
        name: &str,
        users: &[(&str, &str)],
    ) -> Result<Self, InstanceError> {
        Self::start_with(bed, name, Access::SaslPlain(users)).await
    }

    async fn start_with(
        bed: &TestBed,
        name: &str,
        access: Access<'_>,
    ) -> Result<Self, InstanceError> {
        let dir = instance_dir(bed, name);
        let io = |action| {
            let dir = dir.clone();
            move |source| InstanceError::Io {
                action,
                dir,
                source,
            }
        };
        std::fs::create_dir_all(dir.join("data")).map_err(io("creating the data directory"))?;
        let port = free_local_port().map_err(io("choosing a port"))?;
        let controller_port = free_local_port().map_err(io("choosing a port"))?;
        let sasl_users = match access {
            Access::SaslPlain(users) => users,
            _ => &[],
        };
        let listener = if sasl_users.is_empty() {
            "PLAINTEXT"
        } else {
            "SASL_PLAINTEXT"
        };
        let mut sasl = String::new();
        if let Some((admin, admin_password)) = sasl_users.first() {
            let users: String = sasl_users
                .iter()
                .map(|(user, password)| format!(" user_{user}=\"{password}\""))
                .collect();
            sasl = format!(
                "sasl.enabled.mechanisms=PLAIN\nsasl.mechanism.inter.broker.protocol=PLAIN\n\
                 listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"{admin}\" password=\"{admin_password}\"{users};\n"
            );
        }
        let properties =
            server_properties(port, controller_port, listener, &dir.join("data")) + &sasl;
        std::fs::write(dir.join("server.properties"), properties)
            .map_err(io("writing server.properties"))?;
        let mut instance = Self {
            dir,
            port,
            classpath: bed.kafka_classpath.clone(),
            child: None,
            sasl_admin: sasl_users
                .first()
                .map(|(user, password)| ((*user).to_owned(), (*password).to_owned())),
        };
        instance.format().await?;
        instance.resume().await?;
        Ok(instance)
    }

    /// Client settings for this broker, authenticated as its own user when it requires SASL.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", self.bootstrap_servers());
        if let Some((user, password)) = &self.sasl_admin {
            config
                .set("security.protocol", "sasl_plaintext")
                .set("sasl.mechanism", "PLAIN")
                .set("sasl.username", user)
                .set("sasl.password", password);
        }
        config
    }

    /// `host:port` for clients.
    pub fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    async fn format(&self) -> Result<(), InstanceError> {
        let output = Command::new("java")
            .args([
                "-cp",
                &self.classpath,
                "kafka.tools.StorageTool",
                "format",
                "--ignore-formatted",
                "-t",
            ])
            .arg("dGVzdGJlZC1pbnN0YW5jZQ")
            .arg("-c")
            .arg(self.dir.join("server.properties"))
            .output()
            .await
            .map_err(|source| InstanceError::Io {
                action: "running kafka.tools.StorageTool",
                dir: self.dir.clone(),
                source,
            })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(InstanceError::NotReady {
                port: self.port,
                problem: "could not format its storage".into(),
                log_tail: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
    }

    /// Starts the broker (again) and waits until it serves metadata.
    pub async fn resume(&mut self) -> Result<(), InstanceError> {
        let log_path = self.dir.join("kafka.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|source| InstanceError::Io {
                action: "opening the log",
                dir: self.dir.clone(),
                source,
            })?;
        let log_err = log.try_clone().map_err(|source| InstanceError::Io {
            action: "opening the log",
            dir: self.dir.clone(),
            source,
        })?;
        let child = Command::new("java")
            .args([
                "-Xms128m",
                "-Xmx384m",
                "-cp",
                &self.classpath,
                "kafka.Kafka",
            ])
            .arg(self.dir.join("server.properties"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| InstanceError::Io {
                action: "starting java",
                dir: self.dir.clone(),
                source,
            })?;
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if self.serves_metadata().await {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || tokio::time::Instant::now() > deadline {
                let problem = exited.map_or("was not ready within 60s".to_owned(), |s| {
                    format!("exited ({s})")
                });
                return Err(InstanceError::NotReady {
                    port: self.port,
                    problem,
                    log_tail: log_tail(&log_path, 20),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Freezes the broker (SIGSTOP): its connections stay open and nothing is answered, as a
    /// broker that hangs; clients see their requests time out rather than refused.
    pub fn freeze(&self) -> Result<(), InstanceError> {
        self.signal(nix::sys::signal::Signal::SIGSTOP)
    }

    /// Lets a frozen broker run again (SIGCONT).
    pub fn thaw(&self) -> Result<(), InstanceError> {
        self.signal(nix::sys::signal::Signal::SIGCONT)
    }

    fn signal(&self, signal: nix::sys::signal::Signal) -> Result<(), InstanceError> {
        let pid = self
            .child
            .as_ref()
            .and_then(tokio::process::Child::id)
            .and_then(|p| i32::try_from(p).ok());
        let Some(pid) = pid else {
            return Err(InstanceError::NotReady {
                port: self.port,
                problem: format!("is not running, so cannot take {signal}"),
                log_tail: String::new(),
            });
        };
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).map_err(|errno| {
            InstanceError::NotReady {
                port: self.port,
                problem: format!("did not take {signal}: {errno}"),
                log_tail: String::new(),
            }
        })
    }

    /// Stops the broker with SIGTERM (a clean shutdown) and waits for it to exit.
    pub async fn pause(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
            if tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }

    async fn serves_metadata(&self) -> bool {
        let mut config = self.client_config();
        tokio::task::spawn_blocking(move || {
            let consumer: Result<BaseConsumer, _> = config.set("log_level", "0").create();
            consumer.is_ok_and(|c| {
                c.fetch_metadata(None, Duration::from_millis(500))
                    .is_ok_and(|m| !m.brokers().is_empty())
            })
        })
        .await
        .unwrap_or(false)
    }
}

#[cfg(test)]
#[path = "kafka_instance_tests.rs"]
mod tests;
