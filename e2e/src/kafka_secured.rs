//! Listeners as a platform team's Kafka has them, for an extra broker: SASL_SSL with
//! SCRAM-SHA-512 and SSL with client certificates, beside the PLAINTEXT listener the test's own
//! admin client uses. A test CA, the broker's certificate (for 127.0.0.1) and a client's are made
//! with `openssl` when the broker is set up; SCRAM users are written into the broker's storage
//! when it is formatted. The broker authorizes with ACLs and allows nothing without one (the
//! PLAINTEXT listener's anonymous principal is a super user): a test grants each principal
//! exactly the ACLs the README lists for its part ([`acls`]).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The common name of the client certificate; its principal on the SSL listener is
/// `User:CN=<this>`.
pub const CLIENT_CN: &str = "coffee-tenant";

/// Why the certificates could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("running openssl {args} in {dir}: {reason}")]
    Openssl {
        args: String,
        dir: PathBuf,
        reason: String,
    },
    #[error("reading {path}: {source}")]
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
    /// Where the broker's key and certificate chain are, for its `ssl.keystore.location`.
    broker_pem: PathBuf,
    ca_path: PathBuf,
}

impl Certificates {
    /// Makes a CA, a broker certificate for 127.0.0.1 and a client certificate in `dir`.
    pub fn make(dir: &Path) -> Result<Self, CertificateError> {
        let openssl = |args: &[&str]| -> Result<(), CertificateError> {
            let failed = |reason: String| CertificateError::Openssl {
                args: args.join(" "),
                dir: dir.to_owned(),
                reason,
            };
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .map_err(|e| failed(e.to_string()))?;
            match output.status.success() {
                true => Ok(()),
                false => Err(failed(String::from_utf8_lossy(&output.stderr).into_owned())),
            }
        };
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let ca = [
            "req",
            "-x509",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=coffee-testbed-ca",
        ];
        openssl(&[&ca[..], &key[..], &["-keyout", "ca.key", "-out", "ca.pem"]].concat())?;
        for (name, subject, usage) in [
            ("broker", "/CN=127.0.0.1", "serverAuth"),
            ("client", &*format!("/CN={CLIENT_CN}"), "clientAuth"),
        ] {
            let extensions = format!("{name}.ext");
            std::fs::write(
                dir.join(&extensions),
                format!("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n"),
            )
            .map_err(|source| CertificateError::Read {
                path: dir.join(&extensions),
                source,
            })?;
            let (key_file, csr, crt) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.crt"),
            );
            let request = ["req", "-nodes", "-subj", subject];
            openssl(
                &[
                    &request[..],
                    &key[..],
                    &["-keyout", &key_file, "-out", &csr],
                ]
                .concat(),
            )?;
            openssl(&[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-extfile",
                &extensions,
                "-out",
                &crt,
            ])?;
        }
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path).map_err(|source| CertificateError::Read { path, source })
        };
        let broker_pem = dir.join("broker.pem");
        std::fs::write(&broker_pem, read("broker.key")? + &read("broker.crt")?).map_err(
            |source| CertificateError::Read {
                path: broker_pem.clone(),
                source,
            },
        )?;
        Ok(Self {
            ca_pem: read("ca.pem")?,
            client_certificate_pem: read("client.crt")?,
            client_key_pem: read("client.key")?,
            broker_pem,
            ca_path: dir.join("ca.pem"),
        })
    }
}

/// The secured listeners of one broker.
#[derive(Debug, Clone)]
pub struct Secured {
    pub sasl_ssl_port: u16,
    pub ssl_port: u16,
    pub certificates: Certificates,
    /// SCRAM-SHA-512 users, name and password.
    pub users: Vec<(String, String)>,
}

impl Secured {
    /// Settings appended to the broker's template (a later key wins in a properties file).
    pub fn properties(&self, plaintext_port: u16, controller_port: u16) -> String {
        let (sasl, ssl) = (self.sasl_ssl_port, self.ssl_port);
        let plain = format!(
            "PLAINTEXT://127.0.0.1:{plaintext_port},SASL_SSL://127.0.0.1:{sasl},SSL://127.0.0.1:{ssl}"
        );
        format!(
            "listeners={plain},CONTROLLER://127.0.0.1:{controller_port}\n\
             advertised.listeners={plain}\n\
             listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,CONTROLLER:PLAINTEXT\n\
             inter.broker.listener.name=PLAINTEXT\n\
             sasl.enabled.mechanisms=SCRAM-SHA-512\n\
             listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;\n\
             ssl.keystore.type=PEM\n\
             ssl.keystore.location={}\n\
             ssl.truststore.type=PEM\n\
             ssl.truststore.location={}\n\
             listener.name.ssl.ssl.client.auth=required\n\
             authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n\
             allow.everyone.if.no.acl.found=false\n\
             super.users=User:ANONYMOUS\n",
            self.certificates.broker_pem.display(),
            self.certificates.ca_path.display(),
        )
    }

    /// Arguments to the storage tool's `format` that create the SCRAM users.
    pub fn format_args(&self) -> Vec<String> {
        self.users
            .iter()
            .flat_map(|(name, password)| {
                [
                    "--add-scram".to_owned(),
                    format!("SCRAM-SHA-512=[name={name},password={password}]"),
                ]
            })
            .collect()
    }

    pub fn sasl_ssl_servers(&self) -> String {
        format!("127.0.0.1:{}", self.sasl_ssl_port)
    }

    pub fn ssl_servers(&self) -> String {
        format!("127.0.0.1:{}", self.ssl_port)
    }

    /// Our binaries' flags for SASL_SSL as `user` (who must be one of [`Secured::users`]).
    pub fn scram_flags(&self, user: &str) -> Vec<String> {
        let password = self
            .users
            .iter()
            .find(|(name, _)| name == user)
            .map(|(_, password)| password.clone())
            .unwrap_or_default();
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
