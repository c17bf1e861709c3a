//! The wire format between the order intake (`coffee-producer`), order processing
//! (`coffee-consumer`) and the producer's status view, kept in one place so the three cannot
//! drift apart.
//!
//! Every message is JSON with a `schema_version`, keyed by its order id so that all events of one
//! order land on one partition in order, and carries [`headers`] naming its type and version.

pub mod headers;
pub mod menu;
pub mod order;
pub mod status;

/// The schema version this build writes and the newest it reads.
pub const SCHEMA_VERSION: u16 = 1;

/// Why a message could not be read. Consumers send such messages to a dead-letter topic.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or JSON that does not fit the schema.
    #[error("malformed {what}: {source}")]
    Malformed {
        what: &'static str,
        source: serde_json::Error,
    },
    /// Written by a newer producer than this reader understands.
    #[error("{what} has schema version {found}; this build reads up to {SCHEMA_VERSION}")]
    UnsupportedVersion { what: &'static str, found: u16 },
    /// Fits the schema but breaks a limit every order keeps (one the order API enforces, so
    /// only a foreign writer gets here).
    #[error("invalid {what}: {problem}")]
    Invalid { what: &'static str, problem: String },
}

/// The envelope of every message body.
#[derive(serde::Serialize, serde::Deserialize)]
struct Message<E> {
    schema_version: u16,
    event: E,
}

/// The body of `event`: `{"schema_version":1,"event":{…}}`.
fn encode_message<E: serde::Serialize>(event: &E) -> Vec<u8> {
    let message = Message {
        schema_version: SCHEMA_VERSION,
        event,
    };
    // Serializing these plain structs into memory cannot fail.
    serde_json::to_vec(&message).unwrap_or_default()
}

/// Reads a body written by [`encode_message`] of this or an older schema version.
fn decode_message<E: serde::de::DeserializeOwned>(
    what: &'static str,
    body: &[u8],
) -> Result<E, DecodeError> {
    let message: Message<E> =
        serde_json::from_slice(body).map_err(|source| DecodeError::Malformed { what, source })?;
    if message.schema_version == 0 || message.schema_version > SCHEMA_VERSION {
        return Err(DecodeError::UnsupportedVersion {
            what,
            found: message.schema_version,
        });
    }
    Ok(message.event)
}
