//! The test bed's Kafka as a tenant reaches it: SASL_SSL with SCRAM-SHA-512 and SSL with client
//! certificates, trusting the test CA `e2e/testbed up` made (`e2e/testbed.d/kafka.sh`). The
//! brokers authorize with ACLs and allow nothing without one (the PLAINTEXT listener's
//! anonymous principal is a super user): a test makes a SCRAM user of its own and grants it
//! exactly the ACLs the README lists for its part ([`acls`]).

use std::path::{Path, PathBuf};

/// The common name of the client certificate; its principal on the SSL listener is
/// `User:CN=<this>`.
pub const CLIENT_CN: &str = "coffee-tenant";

/// Why the certificates could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("reading {path} (run `e2e/testbed up` again): {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The PEM texts a client needs.
#[derive(Debug, Clone)]
pub struct Certificates {
    /// The test CA, which signed the broker's and the client's certificates.
    pub ca_pem: String,
    pub client_certificate_pem: String,
    pub client_key_pem: String,
}

impl Certificates {
    /// The certificates `e2e/testbed up` made in `dir` (`e2e/testbed.d/kafka.sh`).
    pub fn read(dir: &Path) -> Result<Self, CertificateError> {
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path).map_err(|source| CertificateError::Read { path, source })
        };
        Ok(Self {
            ca_pem: read("ca.pem")?,
            client_certificate_pem: read("client.crt")?,
            client_key_pem: read("client.key")?,
        })
    }
}

/// Why a user or an ACL could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("running Kafka's {tool}: {source}")]
    Run {
        tool: &'static str,
        source: std::io::Error,
    },
    #[error("Kafka's {tool} refused {what} on {servers}:\n{stderr}")]
    Refused {
        tool: &'static str,
        what: String,
        servers: String,
        stderr: String,
    },
}

/// The secured listeners of a Kafka cluster (the test bed's three brokers, or a test's own
/// broker), the certificates its clients need, and the way to add users and ACLs to it.
#[derive(Debug, Clone)]
pub struct Secured {
    pub(crate) sasl_ssl: String,
    pub(crate) ssl: String,
    pub certificates: Certificates,
    /// SCRAM-SHA-512 users, name and password, that this value knows the password of.
    pub users: Vec<(String, String)>,
    /// PLAINTEXT servers, whose anonymous principal is a super user: users and ACLs are
    /// written there.
    pub(crate) admin_servers: String,
    pub(crate) classpath: String,
}

impl Secured {
    pub fn sasl_ssl_servers(&self) -> String {
        self.sasl_ssl.clone()
    }

    pub fn ssl_servers(&self) -> String {
        self.ssl.clone()
    }

    /// A SCRAM-SHA-512 user of the test's own, `<prefix>-<unique>` with a fresh password,
    /// created on the cluster and remembered here; returns its name. Tests sharing the test
    /// bed's cluster each have their own user, so one test's rotation or ACLs touch no other.
    pub async fn new_user(&mut self, prefix: &str) -> Result<String, AdminError> {
        let name = crate::fixtures::unique_name(prefix);
        let password = format!("{}-secret", crate::fixtures::unique_name("pw"));
        self.set_password(&name, &password).await?;
        Ok(name)
    }

    /// Sets `user`'s SCRAM-SHA-512 password on the cluster (creating the user, or rotating its
    /// password) and remembers it here.
    pub async fn set_password(&mut self, user: &str, password: &str) -> Result<(), AdminError> {
        let credential = format!("SCRAM-SHA-512=[iterations=4096,password={password}]");
        self.run(
            "kafka.admin.ConfigCommand",
            &format!("a SCRAM credential for {user}"),
            &[
                "--alter",
                "--add-config",
                &credential,
                "--entity-type",
                "users",
                "--entity-name",
                user,
            ],
        )
        .await?;
        self.users.retain(|(name, _)| name != user);
        self.users.push((user.to_owned(), password.to_owned()));
        Ok(())
    }

    /// Adds `acls` with Kafka's own `AclCommand`, over the PLAINTEXT listener.
    pub async fn grant(&self, acls: &[Acl]) -> Result<(), AdminError> {
        for acl in acls {
            let args = acl.command_args();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.run(
                "org.apache.kafka.tools.AclCommand",
                &format!("{acl:?}"),
                &args,
            )
            .await?;
        }
        Ok(())
    }

    async fn run(&self, tool: &'static str, what: &str, args: &[&str]) -> Result<(), AdminError> {
        let output = tokio::process::Command::new("java")
            .args(["-cp", &self.classpath, tool])
            .args(["--bootstrap-server", &self.admin_servers])
            .args(args)
            .output()
            .await
            .map_err(|source| AdminError::Run { tool, source })?;
        match output.status.success() {
            true => Ok(()),
            false => Err(AdminError::Refused {
                tool,
                what: what.to_owned(),
                servers: self.admin_servers.clone(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            }),
        }
    }

    /// `user`'s password, if it is one of [`Secured::users`]; else empty.
    pub fn password(&self, user: &str) -> String {
        self.users
            .iter()
            .find(|(name, _)| name == user)
            .map(|(_, password)| password.clone())
            .unwrap_or_default()
    }

    /// Our binaries' flags for SASL_SSL as `user` (who must be one of [`Secured::users`]).
    pub fn scram_flags(&self, user: &str) -> Vec<String> {
        let password = self.password(user);
        [
            ("--kafka-security-protocol", "sasl_ssl"),
            ("--kafka-sasl-mechanism", "SCRAM-SHA-512"),
            ("--kafka-sasl-username", user),
            ("--kafka-sasl-password", &password),
            ("--kafka-ssl-ca-pem", &self.certificates.ca_pem),
        ]
        .iter()
        .flat_map(|(flag, value)| [(*flag).to_owned(), (*value).to_owned()])
        .collect()
    }

    /// Our binaries' flags for SSL with the client certificate.
    pub fn mtls_flags(&self) -> Vec<String> {
        let c = &self.certificates;
        [
            ("--kafka-security-protocol", "ssl"),
            ("--kafka-ssl-ca-pem", &c.ca_pem),
            ("--kafka-ssl-certificate-pem", &c.client_certificate_pem),
            ("--kafka-ssl-key-pem", &c.client_key_pem),
        ]
        .iter()
        .flat_map(|(flag, value)| [(*flag).to_owned(), (*value).to_owned()])
        .collect()
    }
}

/// What an ACL allows its operations on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// Every topic whose name starts with this.
    TopicsPrefixed(String),
    Topic(String),
    Group(String),
}

/// One ACL: `operations` (Kafka's names: Read, Write, Create, ...) on `resource` for
/// `principal` (`User:<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    pub principal: String,
    pub resource: Resource,
    pub operations: Vec<&'static str>,
}

impl Acl {
    /// Arguments to Kafka's `AclCommand --add`.
    pub fn command_args(&self) -> Vec<String> {
        let mut args = vec![
            "--add".to_owned(),
            "--allow-principal".to_owned(),
            self.principal.clone(),
        ];
        for operation in &self.operations {
            args.extend(["--operation".to_owned(), (*operation).to_owned()]);
        }
        let resource = match &self.resource {
            Resource::TopicsPrefixed(prefix) => {
                ["--topic", prefix, "--resource-pattern-type", "prefixed"]
                    .map(str::to_owned)
                    .to_vec()
            }
            Resource::Topic(topic) => ["--topic", topic].map(str::to_owned).to_vec(),
            Resource::Group(group) => ["--group", group].map(str::to_owned).to_vec(),
        };
        args.extend(resource);
        args
    }
}

/// The ACLs each part of a pipeline on topic `topic` needs, as the README lists them.
pub mod acls {
    use super::{Acl, Resource};

    fn acl(principal: &str, resource: Resource, operations: &[&'static str]) -> Acl {
        Acl {
            principal: principal.to_owned(),
            resource,
            operations: operations.to_vec(),
        }
    }

    fn topic(name: &str) -> Resource {
        Resource::Topic(name.to_owned())
    }

    /// The order intake: writes orders; reads orders and statuses into its view.
    pub fn producer(principal: &str, order_topic: &str) -> Vec<Acl> {
        vec![
            acl(
                principal,
                topic(order_topic),
                &["Write", "Read", "Describe"],
            ),
            acl(
                principal,
                topic(&format!("{order_topic}-status")),
                &["Read", "Describe"],
            ),
        ]
    }

    /// The order processing: reads orders in its group; writes statuses and dead letters,
    /// reads statuses (finished orders on assignment) and the control topic.
    pub fn consumer(principal: &str, order_topic: &str) -> Vec<Acl> {
        vec![
            acl(principal, topic(order_topic), &["Read", "Describe"]),
            acl(
                principal,
                Resource::Group(format!("{order_topic}-processor")),
                &["Read", "Describe"],
            ),
            acl(
                principal,
                topic(&format!("{order_topic}-status")),
                &["Write", "Read", "Describe"],
            ),
            acl(
                principal,
                topic(&format!("{order_topic}-dead-letters")),
                &["Write", "Describe"],
            ),
            acl(
                principal,
                topic(&format!("{order_topic}-control")),
                &["Read", "Describe"],
            ),
        ]
    }

    /// The operator, for its reconciler and autoscaler on the pipeline's topics: it creates,
    /// grows, configures and deletes them, writes and reads its owner record and worker counts
    /// on the control topic, and describes the group (its members, its committed offsets).
    pub fn operator(principal: &str, order_topic: &str) -> Vec<Acl> {
        vec![
            acl(
                principal,
                Resource::TopicsPrefixed(order_topic.to_owned()),
                &[
                    "Create",
                    "Delete",
                    "Alter",
                    "AlterConfigs",
                    "DescribeConfigs",
                    "Describe",
                ],
            ),
            acl(
                principal,
                topic(&format!("{order_topic}-control")),
                &["Write", "Read"],
            ),
            acl(
                principal,
                Resource::Group(format!("{order_topic}-processor")),
                &["Describe"],
            ),
        ]
    }
}
