//! The bearer token `GET /orders` requires. The listing returns every customer's name and orders,
//! so it is off unless a token is configured (from a Secret, in a cluster); application clients
//! ask for their own orders by id and never need it. A token rather than a bare on/off switch:
//! support tools can list without the intake being opened to everyone who reaches the Service.

use std::fmt;
use std::str::FromStr;

/// A configured token; never shown by `Debug` (the configuration is logged).
#[derive(Clone, PartialEq, Eq)]
pub struct ListToken(String);

impl fmt::Debug for ListToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ListToken(<redacted>)")
    }
}

/// Fewer characters than this would be guessable by trying.
const MIN_LENGTH: usize = 16;

/// Any text parses, so that clap never echoes a bad token in its error; [`ListToken::check`] says
/// what is wrong with one without showing it.
impl FromStr for ListToken {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_owned()))
    }
}

impl ListToken {
    /// Why the token cannot be used, if it cannot: too short to resist guessing, too long, or
    /// not visible ASCII.
    pub fn check(&self) -> Result<(), String> {
        let length = self.0.len();
        if !(MIN_LENGTH..=1024).contains(&length) {
            return Err(format!(
                "a token must be {MIN_LENGTH} to 1024 characters (this one has {length})"
            ));
        }
        if !self.0.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("a token must be visible ASCII (no spaces)".to_owned());
        }
        Ok(())
    }

    /// Whether an `Authorization` header value carries this token, compared in constant time
    /// so the answer's timing does not reveal how much of a guess was right.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(given) = authorization.and_then(|a| a.strip_prefix(b"Bearer ")) else {
            return false;
        };
        let expected = self.0.as_bytes();
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> ListToken {
        "support-0123456789abcdef".parse().unwrap()
    }

    #[test]
    fn the_right_bearer_token_is_admitted() {
        assert!(token().admits(Some(b"Bearer support-0123456789abcdef")));
    }

    #[test]
    fn a_wrong_missing_or_other_scheme_token_is_not() {
        assert!(!token().admits(Some(b"Bearer support-0123456789abcdeX")));
        assert!(!token().admits(Some(b"Bearer support")));
        assert!(!token().admits(Some(b"Basic support-0123456789abcdef")));
        assert!(!token().admits(None));
    }

    #[test]
    fn short_or_spaced_tokens_are_refused_without_being_shown() {
        let short: ListToken = "short".parse().unwrap();
        let said = short.check().unwrap_err();
        assert!(
            said.contains("16 to 1024") && !said.contains("short"),
            "{said}"
        );
        let spaced: ListToken = "has a space in it, sixteen+".parse().unwrap();
        assert!(spaced.check().is_err());
        assert!(token().check().is_ok());
    }

    #[test]
    fn debug_never_shows_the_token() {
        assert!(!format!("{:?}", token()).contains("0123456789"));
    }
}
