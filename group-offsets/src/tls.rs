//! The TLS settings of a connection: the pipeline's CA, or the system's where the client
//! finds it (as librdkafka's `ssl.ca.location=probe` does); a client certificate for mutual
//! TLS.

use std::sync::Arc;

use coffee_kafka::security::{Protocol, Security};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::FetchError;

/// `None` for the protocols without TLS.
pub(crate) fn client_config(security: &Security) -> Result<Option<Arc<ClientConfig>>, FetchError> {
    if !matches!(security.protocol, Protocol::Ssl | Protocol::SaslSsl) {
        return Ok(None);
    }
    let settings = |what: &str, error: &dyn std::fmt::Display| {
        FetchError::Settings(format!("{what}: {error}"))
    };
    let mut roots = RootCertStore::empty();
    match &security.ca_pem {
        Some(pem) => {
            for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let certificate = certificate.map_err(|e| settings("the CA PEM", &e))?;
                roots
                    .add(certificate)
                    .map_err(|e| settings("the CA certificate", &e))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            // Some bundles hold a certificate rustls cannot use; the others still count.
            roots.add_parsable_certificates(found.certs);
        }
    }
    if roots.is_empty() {
        return Err(FetchError::Settings(
            "no CA certificate: the CA PEM holds none and the system has none where OpenSSL looks"
                .to_owned(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| settings("TLS versions", &e))?
        .with_root_certificates(roots);
    let config = match (&security.certificate_pem, &security.key_pem) {
        (Some(certificate), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(certificate.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| settings("the client certificate PEM", &e))?;
            // The key's parse error says only where it failed, never what it read.
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|_| FetchError::Settings("the client key PEM does not parse".into()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| settings("the client certificate and key", &e))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Some(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssl() -> Security {
        Security {
            protocol: Protocol::Ssl,
            ..Security::default()
        }
    }

    #[test]
    fn plaintext_needs_no_tls() {
        assert!(client_config(&Security::default()).unwrap().is_none());
    }

    #[test]
    fn a_ca_that_is_not_pem_is_refused_by_name() {
        let security = Security {
            ca_pem: Some("not a certificate".to_owned()),
            ..ssl()
        };
        let error = client_config(&security).unwrap_err().to_string();
        assert!(error.contains("CA"), "{error}");
    }

    #[test]
    fn a_key_that_does_not_parse_is_refused_without_showing_it() {
        let security = Security {
            ca_pem: None,
            certificate_pem: Some(String::new()),
            key_pem: Some(
                "-----BEGIN PRIVATE KEY-----\nsecret-bytes\n-----END PRIVATE KEY-----\n".into(),
            ),
            ..ssl()
        };
        match client_config(&security) {
            Err(error) => assert!(!error.to_string().contains("secret-bytes"), "{error}"),
            Ok(_) => panic!("a broken key was accepted"),
        }
    }
}
