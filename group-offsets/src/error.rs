/// Why a group's committed offsets could not be read. Cloneable: one failed request fails
/// every group that shared it. None carries a password, a key or a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The principal lacks `Describe` on the group.
    #[error(
        "Kafka refuses the Describe ACL on consumer group {group} (GROUP_AUTHORIZATION_FAILED)"
    )]
    GroupNotAuthorized { group: String },
    /// The principal lacks `Describe` on the topic.
    #[error(
        "Kafka refuses the Describe ACL on topic {topic}, whose offsets group {group} commits (TOPIC_AUTHORIZATION_FAILED)"
    )]
    TopicNotAuthorized { group: String, topic: String },
    /// Kafka answered with another error for the group (e.g. its coordinator is loading).
    #[error("Kafka answered '{error}' for consumer group {group}")]
    Kafka { group: String, error: String },
    /// The settings cannot make a connection (a PEM that does not parse, no system CA).
    #[error("Kafka client settings: {0}")]
    Settings(String),
    /// The broker refused the SASL handshake or the credentials.
    #[error("authenticating to the Kafka broker at {address}: {reason}")]
    Authentication { address: String, reason: String },
    /// A broker could not be reached or answered what cannot be read.
    #[error("talking to the Kafka broker at {address}: {reason}")]
    Wire { address: String, reason: String },
    /// A request went unanswered for the whole timeout: the broker is hung or black-holed, and
    /// a new connection to it would only wait as long again.
    #[error("talking to the Kafka broker at {address}: no answer within {} s", crate::connection::TIMEOUT.as_secs())]
    Unanswered { address: String },
}

impl FetchError {
    /// Whether an ACL is missing (rather than Kafka being unreachable or busy).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            FetchError::GroupNotAuthorized { .. } | FetchError::TopicNotAuthorized { .. }
        )
    }

    pub(crate) fn wire(address: &str, reason: impl std::fmt::Display) -> Self {
        FetchError::Wire {
            address: address.to_owned(),
            reason: reason.to_string(),
        }
    }
}
