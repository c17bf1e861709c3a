//! SASL on a fresh connection (SaslHandshake v1, then SaslAuthenticate v2 frames): PLAIN or
//! SCRAM, the mechanisms the pipeline's Secret may name.

use std::time::Duration;

use bytes::Bytes;
use coffee_kafka::security::{Mechanism, Security};
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;

use crate::FetchError;
use crate::connection::Connection;
use crate::scram::{self, Hash, Scram};

#[derive(Clone)]
pub(crate) struct Credentials {
    mechanism: Mechanism,
    username: String,
    password: String,
}

impl Credentials {
    /// `None` for the protocols without SASL (validated settings carry all three parts).
    pub(crate) fn of(security: &Security) -> Option<Self> {
        Some(Self {
            mechanism: security.mechanism?,
            username: security.username.clone()?,
            password: security.password.clone()?,
        })
    }
}

/// Authenticates `connection`; the session's lifetime if the broker limits it.
pub(crate) async fn authenticate(
    connection: &mut Connection,
    credentials: &Credentials,
) -> Result<Option<Duration>, FetchError> {
    let address = connection.address().to_owned();
    let refused = |reason: String| FetchError::Authentication {
        address: address.clone(),
        reason,
    };
    let mechanism = credentials.mechanism.as_str();
    let request =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism));
    let handshake = connection.send(1, &request).await?;
    if handshake.error_code != 0 {
        let offered: Vec<&str> = handshake.mechanisms.iter().map(|m| m.as_str()).collect();
        return Err(refused(format!(
            "the broker offers {offered:?}, not {mechanism}"
        )));
    }
    let (user, password) = (&credentials.username, &credentials.password);
    let lifetime = match credentials.mechanism {
        Mechanism::Plain => {
            let message = format!("\0{user}\0{password}");
            step(connection, message.into_bytes()).await?.1
        }
        Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
            let hash = if credentials.mechanism == Mechanism::ScramSha256 {
                Hash::Sha256
            } else {
                Hash::Sha512
            };
            let mut exchange = Scram::new(hash, user, password, scram::nonce());
            let (first, _) = step(connection, exchange.client_first().into_bytes()).await?;
            let first = String::from_utf8_lossy(&first).into_owned();
            let last = exchange
                .client_final(&first)
                .map_err(|e| refused(e.to_string()))?;
            let (last, lifetime) = step(connection, last.into_bytes()).await?;
            exchange
                .verify_server_final(&String::from_utf8_lossy(&last))
                .map_err(|e| refused(e.to_string()))?;
            lifetime
        }
    };
    Ok(lifetime)
}

/// One SaslAuthenticate round: the server's bytes and the session lifetime it announces.
async fn step(
    connection: &mut Connection,
    bytes: Vec<u8>,
) -> Result<(Bytes, Option<Duration>), FetchError> {
    let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes));
    let answer = connection.send(2, &request).await?;
    if answer.error_code != 0 {
        let message = answer.error_message.as_ref().map_or("", |m| m.as_str());
        return Err(FetchError::Authentication {
            address: connection.address().to_owned(),
            reason: format!("error {}: {message}", answer.error_code),
        });
    }
    let lifetime = u64::try_from(answer.session_lifetime_ms)
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis);
    Ok((answer.auth_bytes, lifetime))
}
