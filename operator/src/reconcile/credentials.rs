//! The Kafka security settings of a pipeline: the protocol follows from which of `tls` and
//! `sasl` are set; certificates and passwords are read from the pipeline's Secrets, so that the
//! operator's own admin client connects the way the workloads do.

use coffee_kafka::security::{Mechanism, Protocol, Security};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::crd::{KafkaSpec, SaslMechanism};

/// Why the pipeline's credentials could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading key {key:?} of Secret {namespace}/{name}: {reason}")]
pub struct CredentialsError {
    pub namespace: String,
    pub name: String,
    pub key: String,
    pub reason: String,
}

/// The protocol for the spec's TLS and SASL settings.
pub fn protocol(kafka: &KafkaSpec) -> Protocol {
    match (kafka.tls.is_some(), kafka.sasl.is_some()) {
        (false, false) => Protocol::Plaintext,
        (true, false) => Protocol::Ssl,
        (false, true) => Protocol::SaslPlaintext,
        (true, true) => Protocol::SaslSsl,
    }
}

fn mechanism(mechanism: SaslMechanism) -> Mechanism {
    match mechanism {
        SaslMechanism::Plain => Mechanism::Plain,
        SaslMechanism::ScramSha256 => Mechanism::ScramSha256,
        SaslMechanism::ScramSha512 => Mechanism::ScramSha512,
    }
}

/// Reads the Secrets the spec names.
pub async fn resolve(
    client: &Client,
    namespace: &str,
    kafka: &KafkaSpec,
) -> Result<Security, CredentialsError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let read = |name: String, key: String| {
        let secrets = secrets.clone();
        async move {
            let error = |reason: String| CredentialsError {
                namespace: namespace.to_owned(),
                name: name.clone(),
                key: key.clone(),
                reason,
            };
            let secret = secrets.get(&name).await.map_err(|e| error(e.to_string()))?;
            let value = secret
                .data
                .as_ref()
                .and_then(|data| data.get(&key))
                .ok_or_else(|| error("no such key".into()))?;
            String::from_utf8(value.0.clone()).map_err(|_| error("not UTF-8 text".into()))
        }
    };
    let mut security = Security {
        protocol: protocol(kafka),
        ..Security::default()
    };
    if let Some(tls) = &kafka.tls {
        if let Some(r) = &tls.ca_secret {
            security.ca_pem = Some(read(r.name.clone(), r.key.clone()).await?);
        }
        if let Some(r) = &tls.cert_secret {
            security.certificate_pem = Some(read(r.name.clone(), r.key.clone()).await?);
        }
        if let Some(r) = &tls.key_secret {
            security.key_pem = Some(read(r.name.clone(), r.key.clone()).await?);
        }
    }
    if let Some(sasl) = &kafka.sasl {
        security.mechanism = Some(mechanism(sasl.mechanism));
        security.username = Some(read(sasl.secret_name.clone(), sasl.username_key.clone()).await?);
        security.password = Some(read(sasl.secret_name.clone(), sasl.password_key.clone()).await?);
    }
    Ok(security)
}
