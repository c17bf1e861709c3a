//! One connection to one broker: TCP or TLS, SASL before anything else, then requests framed
//! as Kafka frames them (a size, a header with a correlation id, the body), one at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, OffsetFetchRequest,
    OffsetFetchResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::FetchError;
use crate::sasl::{self, Credentials};

const CLIENT_ID: &str = "coffee-operator-autoscaler";
/// How long connecting (with TLS and SASL) or one request may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);
/// A larger answer is refused rather than allocated: a plaintext client talking to a TLS port
/// reads a record header as a size of hundreds of megabytes.
const LARGEST_ANSWER: usize = 16 << 20;

/// How every connection to a cluster is made.
#[derive(Clone, Default)]
pub(crate) struct Settings {
    pub tls: Option<Arc<ClientConfig>>,
    pub sasl: Option<Credentials>,
}

/// A request this client sends, and what it reads back. (kafka-protocol's own `Request`
/// trait also asks requests to decode, which only a broker needs.)
pub(crate) trait Exchange: Encodable + HeaderVersion {
    const KEY: ApiKey;
    type Answer: Decodable + HeaderVersion;
}

impl Exchange for SaslHandshakeRequest {
    const KEY: ApiKey = ApiKey::SaslHandshake;
    type Answer = SaslHandshakeResponse;
}

impl Exchange for SaslAuthenticateRequest {
    const KEY: ApiKey = ApiKey::SaslAuthenticate;
    type Answer = SaslAuthenticateResponse;
}

impl Exchange for FindCoordinatorRequest {
    const KEY: ApiKey = ApiKey::FindCoordinator;
    type Answer = FindCoordinatorResponse;
}

impl Exchange for OffsetFetchRequest {
    const KEY: ApiKey = ApiKey::OffsetFetch;
    type Answer = OffsetFetchResponse;
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub(crate) struct Connection {
    address: String,
    stream: Box<dyn Stream>,
    correlation: i32,
    /// When the broker ends the SASL session (KIP-368); the connection is replaced before.
    expires: Option<Instant>,
}

impl Connection {
    pub(crate) async fn open(address: &str, settings: &Settings) -> Result<Self, FetchError> {
        let opened = tokio::time::timeout(TIMEOUT, Self::handshake(address, settings)).await;
        opened.unwrap_or_else(|_| Err(FetchError::wire(address, "no connection within 10 s")))
    }

    async fn handshake(address: &str, settings: &Settings) -> Result<Self, FetchError> {
        let tcp = TcpStream::connect(address)
            .await
            .map_err(|e| FetchError::wire(address, e))?;
        tcp.set_nodelay(true)
            .map_err(|e| FetchError::wire(address, e))?;
        let stream: Box<dyn Stream> = match &settings.tls {
            Some(tls) => {
                let name = ServerName::try_from(host_of(address).to_owned())
                    .map_err(|e| FetchError::wire(address, format!("the host name: {e}")))?;
                let tls = TlsConnector::from(Arc::clone(tls))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| FetchError::wire(address, format!("TLS: {e}")))?;
                Box::new(tls)
            }
            None => Box::new(tcp),
        };
        let mut connection = Self {
            address: address.to_owned(),
            stream,
            correlation: 0,
            expires: None,
        };
        if let Some(credentials) = &settings.sasl {
            let lifetime = sasl::authenticate(&mut connection, credentials).await?;
            // Replaced at 90 % of its life, so that no request meets the broker's cut-off.
            connection.expires = lifetime.map(|l| Instant::now() + l.mul_f64(0.9));
        }
        Ok(connection)
    }

    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// Whether the SASL session still has time left.
    pub(crate) fn fresh(&self) -> bool {
        self.expires.is_none_or(|at| Instant::now() < at)
    }

    /// Sends `request` as `version` and reads its answer. After an error the connection's
    /// state is unknown: drop it.
    pub(crate) async fn send<R: Exchange>(
        &mut self,
        version: i16,
        request: &R,
    ) -> Result<R::Answer, FetchError> {
        let sent = tokio::time::timeout(TIMEOUT, self.exchange(version, request)).await;
        sent.unwrap_or_else(|_| {
            Err(FetchError::Unanswered {
                address: self.address.clone(),
            })
        })
    }

    async fn exchange<R: Exchange>(
        &mut self,
        version: i16,
        request: &R,
    ) -> Result<R::Answer, FetchError> {
        let api = short_name::<R>();
        let codec = |e: &dyn std::fmt::Display| format!("{api} v{version}: {e}");
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, R::header_version(version))
            .and_then(|()| request.encode(&mut body, version))
            .map_err(|e| FetchError::wire(&self.address, codec(&e)))?;
        let size = i32::try_from(body.len()).map_err(|e| FetchError::wire(&self.address, e))?;
        let mut frame = BytesMut::with_capacity(4 + body.len());
        frame.put_i32(size);
        frame.extend_from_slice(&body);
        let io = |e: std::io::Error| FetchError::wire(&self.address, codec(&e));
        self.stream.write_all(&frame).await.map_err(io)?;
        self.stream.flush().await.map_err(io)?;
        let size = self.stream.read_i32().await.map_err(io)?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= LARGEST_ANSWER)
            .ok_or_else(|| {
                FetchError::wire(&self.address, codec(&format!("an answer of {size} bytes")))
            })?;
        let mut answer = vec![0; size];
        self.stream.read_exact(&mut answer).await.map_err(io)?;
        let mut answer = Bytes::from(answer);
        let header = ResponseHeader::decode(&mut answer, R::Answer::header_version(version))
            .map_err(|e| FetchError::wire(&self.address, codec(&e)))?;
        if header.correlation_id != self.correlation {
            return Err(FetchError::wire(
                &self.address,
                codec(&format!(
                    "the answer to request {} came for {}",
                    self.correlation, header.correlation_id
                )),
            ));
        }
        R::Answer::decode(&mut answer, version)
            .map_err(|e| FetchError::wire(&self.address, codec(&e)))
    }
}

/// `OffsetFetchRequest` of `kafka_protocol::messages::OffsetFetchRequest`.
fn short_name<R>() -> &'static str {
    let name = std::any::type_name::<R>();
    name.rsplit("::").next().unwrap_or(name)
}

/// The host of `host:port` or `[v6]:port`.
fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_what_precedes_the_port() {
        assert_eq!(host_of("kafka-0.kafka:9093"), "kafka-0.kafka");
        assert_eq!(host_of("127.0.0.1:9093"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9093"), "::1");
    }

    #[test]
    fn requests_are_named_without_their_module() {
        assert_eq!(
            short_name::<kafka_protocol::messages::OffsetFetchRequest>(),
            "OffsetFetchRequest"
        );
    }
}
