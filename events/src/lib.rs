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
}

/// The envelope of every message body.
#[derive(serde::Serialize, serde::Deserialize)]
struct Message<E> {
    schema_version: u16,
    event: E,
}

fn check_version(what: &'static str, found: u16) -> Result<(), DecodeError> {
    if found == 0 || found > SCHEMA_VERSION {
        return Err(DecodeError::UnsupportedVersion { what, found });
    }
    Ok(())
}
