//! The client side of SCRAM (RFC 5802) as Kafka speaks it: no channel binding (`n,,`), no
//! extensions. Pure, so the proof and the server's signature are checked against known
//! answers without a broker.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::{digest, hmac, pbkdf2};
use std::num::NonZeroU32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha512,
}

impl Hash {
    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            Hash::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Hash::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            Hash::Sha256 => hmac::HMAC_SHA256,
            Hash::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Hash::Sha256 => &digest::SHA256,
            Hash::Sha512 => &digest::SHA512,
        }
    }

    fn len(self) -> usize {
        self.digest().output_len()
    }
}

/// Why a SCRAM exchange cannot go on. Never carries the password or a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ScramError {
    #[error("the server's first SCRAM message lacks {0}")]
    Missing(&'static str),
    #[error("the server's nonce does not extend ours")]
    ForeignNonce,
    #[error("the server's salt is not base64")]
    Salt,
    #[error("the server asks for {0} iterations; a number from 1 is needed")]
    Iterations(String),
    #[error("the server refused the proof: {0}")]
    Refused(String),
    #[error("the server's signature does not match: it may not know the password")]
    ServerSignature,
}

/// One exchange: the first message, the proof, the check of the server's signature.
pub(crate) struct Scram {
    hash: Hash,
    password: String,
    bare: String,
    nonce: String,
    server_signature: Option<Vec<u8>>,
}

/// Only the user name shows; the password never reaches a log.
impl std::fmt::Debug for Scram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scram")
            .field("hash", &self.hash)
            .field("bare", &self.bare)
            .finish_non_exhaustive()
    }
}

impl Scram {
    /// `nonce` must be printable ASCII without commas; [`nonce`] makes one.
    pub(crate) fn new(hash: Hash, username: &str, password: &str, nonce: String) -> Self {
        let name = username.replace('=', "=3D").replace(',', "=2C");
        Self {
            hash,
            password: password.to_owned(),
            bare: format!("n={name},r={nonce}"),
            nonce,
            server_signature: None,
        }
    }

    pub(crate) fn client_first(&self) -> String {
        format!("n,,{}", self.bare)
    }

    /// The final client message (with the proof) for the server's first message.
    pub(crate) fn client_final(&mut self, server_first: &str) -> Result<String, ScramError> {
        let nonce = attribute(server_first, 'r').ok_or(ScramError::Missing("a nonce"))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(ScramError::ForeignNonce);
        }
        let salt = attribute(server_first, 's').ok_or(ScramError::Missing("a salt"))?;
        let salt = BASE64.decode(salt).map_err(|_| ScramError::Salt)?;
        let iterations = attribute(server_first, 'i').ok_or(ScramError::Missing("iterations"))?;
        let count = iterations
            .parse::<u32>()
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| ScramError::Iterations(iterations.to_owned()))?;
        let mut salted = vec![0; self.hash.len()];
        pbkdf2::derive(
            self.hash.pbkdf2(),
            count,
            &salt,
            self.password.as_bytes(),
            &mut salted,
        );
        let salted = hmac::Key::new(self.hash.hmac(), &salted);
        let client_key = hmac::sign(&salted, b"Client Key");
        let stored_key = digest::digest(self.hash.digest(), client_key.as_ref());
        let without_proof = format!("c=biws,r={nonce}");
        let message = format!("{},{server_first},{without_proof}", self.bare);
        let stored_key = hmac::Key::new(self.hash.hmac(), stored_key.as_ref());
        let signature = hmac::sign(&stored_key, message.as_bytes());
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(signature.as_ref())
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hmac::sign(&salted, b"Server Key");
        let server_key = hmac::Key::new(self.hash.hmac(), server_key.as_ref());
        self.server_signature = Some(
            hmac::sign(&server_key, message.as_bytes())
                .as_ref()
                .to_vec(),
        );
        Ok(format!("{without_proof},p={}", BASE64.encode(proof)))
    }

    /// Whether the server proved it knows the password too.
    pub(crate) fn verify_server_final(&self, server_final: &str) -> Result<(), ScramError> {
        if let Some(error) = attribute(server_final, 'e') {
            return Err(ScramError::Refused(error.to_owned()));
        }
        let expected = self
            .server_signature
            .as_ref()
            .ok_or(ScramError::ServerSignature)?;
        let given = attribute(server_final, 'v')
            .and_then(|v| BASE64.decode(v).ok())
            .ok_or(ScramError::ServerSignature)?;
        if *expected == given {
            Ok(())
        } else {
            Err(ScramError::ServerSignature)
        }
    }
}

/// A fresh client nonce: 24 random bytes, base64 (printable, no commas).
pub(crate) fn nonce() -> String {
    let mut bytes = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the system's random source");
    BASE64.encode(bytes)
}

/// The value of attribute `name` in a SCRAM message (`a=value,b=value`).
fn attribute(message: &str, name: char) -> Option<&str> {
    message.split(',').find_map(|part| {
        let mut chars = part.chars();
        (chars.next() == Some(name) && chars.next() == Some('=')).then(|| &part[2..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The exchange of RFC 7677, section 3 (SCRAM-SHA-256, user "user", password "pencil").
    const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    fn rfc_7677() -> Scram {
        Scram::new(Hash::Sha256, "user", "pencil", CLIENT_NONCE.to_owned())
    }

    #[test]
    fn the_first_message_names_the_user_without_channel_binding() {
        assert_eq!(
            rfc_7677().client_first(),
            "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        );
    }

    #[test]
    fn the_proof_is_the_one_rfc_7677_gives() {
        let mut scram = rfc_7677();
        assert_eq!(
            scram.client_final(SERVER_FIRST).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
    }

    #[test]
    fn the_server_signature_of_rfc_7677_is_accepted() {
        let mut scram = rfc_7677();
        scram.client_final(SERVER_FIRST).unwrap();
        assert_eq!(
            scram.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Ok(())
        );
    }

    #[test]
    fn a_server_that_does_not_know_the_password_is_refused() {
        let mut scram = rfc_7677();
        scram.client_final(SERVER_FIRST).unwrap();
        assert_eq!(
            scram.verify_server_final("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            Err(ScramError::ServerSignature)
        );
    }

    #[test]
    fn a_server_error_is_reported_as_the_server_said_it() {
        let mut scram = rfc_7677();
        scram.client_final(SERVER_FIRST).unwrap();
        assert_eq!(
            scram.verify_server_final("e=invalid-proof"),
            Err(ScramError::Refused("invalid-proof".to_owned()))
        );
    }

    #[test]
    fn a_nonce_that_does_not_extend_ours_is_refused() {
        let mut scram = rfc_7677();
        assert_eq!(
            scram.client_final("r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
            Err(ScramError::ForeignNonce)
        );
    }

    #[test]
    fn zero_iterations_are_refused() {
        let mut scram = rfc_7677();
        let first = "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0";
        assert_eq!(
            scram.client_final(first),
            Err(ScramError::Iterations("0".to_owned()))
        );
    }

    #[test]
    fn commas_and_equals_signs_in_a_user_name_are_escaped() {
        let scram = Scram::new(Hash::Sha512, "a,b=c", "x", "n".to_owned());
        assert_eq!(scram.client_first(), "n,,n=a=2Cb=3Dc,r=n");
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let scram = Scram::new(Hash::Sha512, "user", "s3cret-pass", nonce());
        assert!(!format!("{scram:?}").contains("s3cret-pass"));
    }

    #[test]
    fn nonces_are_fresh_and_free_of_commas() {
        let (a, b) = (nonce(), nonce());
        assert_ne!(a, b);
        assert!(!a.contains(','));
    }
}
