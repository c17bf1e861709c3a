//! Security settings shared by `coffee-producer` and `coffee-consumer` (as flags with env
//! fallbacks, the env the operator wires from Secrets) and by the operator's admin client.
//! Certificates are passed as PEM text, so no file has to be mounted.

use clap::ValueEnum;
use rdkafka::ClientConfig;

/// How to reach the brokers.
#[derive(Clone, Default, PartialEq, Eq, Hash, clap::Args)]
pub struct Security {
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`.
    #[arg(long = "kafka-security-protocol", env = "KAFKA_SECURITY_PROTOCOL", value_enum, default_value_t = Protocol::Plaintext)]
    pub protocol: Protocol,
    /// SASL mechanism, for the `sasl_*` protocols.
    #[arg(
        long = "kafka-sasl-mechanism",
        env = "KAFKA_SASL_MECHANISM",
        value_enum
    )]
    pub mechanism: Option<Mechanism>,
    /// SASL user name.
    #[arg(long = "kafka-sasl-username", env = "KAFKA_SASL_USERNAME")]
    pub username: Option<String>,
    /// SASL password.
    #[arg(
        long = "kafka-sasl-password",
        env = "KAFKA_SASL_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// PEM of the CA that signed the brokers' certificates (TLS); the system's CAs when unset.
    /// (PEM text starts with `-----`; the flag takes it as a value.)
    #[arg(
        long = "kafka-ssl-ca-pem",
        allow_hyphen_values = true,
        env = "KAFKA_SSL_CA_PEM",
        hide_env_values = true
    )]
    pub ca_pem: Option<String>,
    /// PEM of the client certificate, for mutual TLS.
    #[arg(
        long = "kafka-ssl-certificate-pem",
        allow_hyphen_values = true,
        env = "KAFKA_SSL_CERTIFICATE_PEM",
        hide_env_values = true
    )]
    pub certificate_pem: Option<String>,
    /// PEM of the client key, for mutual TLS.
    #[arg(
        long = "kafka-ssl-key-pem",
        allow_hyphen_values = true,
        env = "KAFKA_SSL_KEY_PEM",
        hide_env_values = true
    )]
    pub key_pem: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, ValueEnum)]
pub enum Protocol {
    #[default]
    #[value(name = "plaintext")]
    Plaintext,
    #[value(name = "ssl")]
    Ssl,
    #[value(name = "sasl_plaintext")]
    SaslPlaintext,
    #[value(name = "sasl_ssl")]
    SaslSsl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Mechanism {
    #[value(name = "PLAIN")]
    Plain,
    #[value(name = "SCRAM-SHA-256")]
    ScramSha256,
    #[value(name = "SCRAM-SHA-512")]
    ScramSha512,
}

impl Mechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// A combination of settings that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecurityError {
    #[error(
        "KAFKA_SECURITY_PROTOCOL={0} needs KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
    )]
    MissingCredentials(&'static str),
    #[error(
        "SASL settings are given but KAFKA_SECURITY_PROTOCOL is {0}; use sasl_plaintext or sasl_ssl"
    )]
    UnusedCredentials(&'static str),
    #[error("TLS certificates are given but KAFKA_SECURITY_PROTOCOL is {0}; use ssl or sasl_ssl")]
    UnusedCertificates(&'static str),
    #[error("a client certificate needs its key and a key its certificate")]
    HalfAPair,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Plaintext => "plaintext",
            Protocol::Ssl => "ssl",
            Protocol::SaslPlaintext => "sasl_plaintext",
            Protocol::SaslSsl => "sasl_ssl",
        }
    }

    fn sasl(self) -> bool {
        matches!(self, Protocol::SaslPlaintext | Protocol::SaslSsl)
    }

    fn tls(self) -> bool {
        matches!(self, Protocol::Ssl | Protocol::SaslSsl)
    }
}

/// Written by hand so that the password and the client key never reach a log, an error or a
/// panic message: only whether they are set shows. (The certificates are not secret, but are
/// long; they show the same way.)
impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        f.debug_struct("Security")
            .field("protocol", &self.protocol)
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("ca_pem", &hidden(&self.ca_pem))
            .field("certificate_pem", &hidden(&self.certificate_pem))
            .field("key_pem", &hidden(&self.key_pem))
            .finish()
    }
}

impl Security {
    /// Rejects settings that would silently not apply or cannot authenticate.
    pub fn validate(&self) -> Result<(), SecurityError> {
        let protocol = self.protocol.as_str();
        let credentials = [
            self.mechanism.is_some(),
            self.username.is_some(),
            self.password.is_some(),
        ];
        if self.protocol.sasl() && !credentials.iter().all(|given| *given) {
            return Err(SecurityError::MissingCredentials(protocol));
        }
        if !self.protocol.sasl() && credentials.iter().any(|given| *given) {
            return Err(SecurityError::UnusedCredentials(protocol));
        }
        let certificates = [&self.ca_pem, &self.certificate_pem, &self.key_pem];
        if !self.protocol.tls() && certificates.iter().any(|c| c.is_some()) {
            return Err(SecurityError::UnusedCertificates(protocol));
        }
        if self.certificate_pem.is_some() != self.key_pem.is_some() {
            return Err(SecurityError::HalfAPair);
        }
        Ok(())
    }

    /// Sets the librdkafka properties of these settings on `config`.
    pub fn apply<'c>(&self, config: &'c mut ClientConfig) -> &'c mut ClientConfig {
        config.set("security.protocol", self.protocol.as_str());
        if let Some(mechanism) = self.mechanism {
            config.set("sasl.mechanism", mechanism.as_str());
        }
        if self.protocol.tls() && self.ca_pem.is_none() {
            // The system's CAs, wherever this system keeps them: OpenSSL's compiled-in
            // directory (/usr/lib/ssl on Debian) is absent from our images, which carry the
            // bundle at /etc/ssl/certs/ca-certificates.crt, one of the places librdkafka probes.
            config.set("ssl.ca.location", "probe");
        }
        for (key, value) in [
            ("sasl.username", &self.username),
            ("sasl.password", &self.password),
            ("ssl.ca.pem", &self.ca_pem),
            ("ssl.certificate.pem", &self.certificate_pem),
            ("ssl.key.pem", &self.key_pem),
        ] {
            if let Some(value) = value {
                config.set(key, value);
            }
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sasl() -> Security {
        Security {
            protocol: Protocol::SaslPlaintext,
            mechanism: Some(Mechanism::ScramSha512),
            username: Some("coffee".into()),
            password: Some("secret".into()),
            ..Security::default()
        }
    }

    #[test]
    fn plaintext_needs_nothing() {
        assert_eq!(Security::default().validate(), Ok(()));
    }

    #[test]
    fn sasl_with_all_credentials_is_valid_and_applied() {
        let security = sasl();
        assert_eq!(security.validate(), Ok(()));
        let mut config = ClientConfig::new();
        security.apply(&mut config);
        assert_eq!(config.get("security.protocol"), Some("sasl_plaintext"));
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("sasl.username"), Some("coffee"));
    }

    #[test]
    fn debug_output_shows_that_secrets_are_set_but_never_their_values() {
        let security = Security {
            protocol: Protocol::SaslSsl,
            key_pem: Some("-----BEGIN PRIVATE KEY-----\nkey material".into()),
            certificate_pem: Some("-----BEGIN CERTIFICATE-----".into()),
            ..sasl()
        };
        let shown = format!("{security:?} {security:#?}");
        for secret in ["secret", "PRIVATE KEY", "key material", "CERTIFICATE"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("coffee"),
            "the user name is not secret: {shown}"
        );
        assert!(shown.contains(r#"password: Some("<redacted>")"#), "{shown}");
    }

    #[test]
    fn sasl_without_a_password_is_rejected() {
        let security = Security {
            password: None,
            ..sasl()
        };
        assert_eq!(
            security.validate(),
            Err(SecurityError::MissingCredentials("sasl_plaintext"))
        );
    }

    #[test]
    fn credentials_on_plaintext_are_rejected() {
        let security = Security {
            protocol: Protocol::Plaintext,
            ..sasl()
        };
        assert_eq!(
            security.validate(),
            Err(SecurityError::UnusedCredentials("plaintext"))
        );
    }

    #[test]
    fn a_certificate_without_its_key_is_rejected() {
        let security = Security {
            protocol: Protocol::Ssl,
            certificate_pem: Some("pem".into()),
            ..Security::default()
        };
        assert_eq!(security.validate(), Err(SecurityError::HalfAPair));
    }

    #[test]
    fn tls_without_a_ca_looks_for_the_systems_cas_where_the_images_keep_them() {
        let security = Security {
            protocol: Protocol::SaslSsl,
            ..sasl()
        };
        let mut config = ClientConfig::new();
        security.apply(&mut config);
        assert_eq!(config.get("ssl.ca.location"), Some("probe"));
    }

    #[test]
    fn a_given_ca_is_the_only_one_trusted() {
        let security = Security {
            protocol: Protocol::Ssl,
            ca_pem: Some("pem".into()),
            ..Security::default()
        };
        let mut config = ClientConfig::new();
        security.apply(&mut config);
        assert_eq!(config.get("ssl.ca.pem"), Some("pem"));
        assert_eq!(config.get("ssl.ca.location"), None);
    }

    #[test]
    fn plaintext_sets_no_ca() {
        let mut config = ClientConfig::new();
        Security::default().apply(&mut config);
        assert_eq!(config.get("ssl.ca.location"), None);
    }

    #[test]
    fn pem_text_is_taken_as_a_flags_value_though_it_starts_with_dashes() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            security: Security,
        }
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let cli = <Cli as clap::Parser>::try_parse_from([
            "coffee",
            "--kafka-security-protocol",
            "ssl",
            "--kafka-ssl-ca-pem",
            pem,
            "--kafka-ssl-certificate-pem",
            pem,
            "--kafka-ssl-key-pem",
            pem,
        ])
        .expect("PEM values parse");
        assert_eq!(cli.security.ca_pem.as_deref(), Some(pem));
        assert_eq!(cli.security.key_pem.as_deref(), Some(pem));
    }
}
