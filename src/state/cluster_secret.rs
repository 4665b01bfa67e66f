//! The cluster's secret: 256 random bits made when the store is set up and kept in it (mode
//! 0600, like every store file), so every host that mounts the store holds it and nothing else
//! does. Hosts prove with it that a message comes from a member (SWIM datagrams carry an
//! HMAC made with it); it never travels itself.

use std::fmt;
use std::io;

use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// The secret's length in bytes.
const LENGTH: usize = 32;

/// The cluster's shared secret. Its `Debug` form hides it, so it cannot reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterSecret([u8; LENGTH]);

impl ClusterSecret {
    /// A new secret from the kernel's generator.
    pub fn generate() -> io::Result<ClusterSecret> {
        let mut bytes = [0u8; LENGTH];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| io::Error::other("the system's random generator failed"))?;
        Ok(ClusterSecret(bytes))
    }

    /// The secret as written in the store: 64 lowercase hexadecimal digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Reads [`ClusterSecret::to_hex`]'s form; `None` for anything else.
    pub fn from_hex(text: &str) -> Option<ClusterSecret> {
        let text = text.trim();
        if text.len() != 2 * LENGTH || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut bytes = [0u8; LENGTH];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(ClusterSecret(bytes))
    }

    /// The secret's bytes, to key a MAC with.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// A key for one use, made from the secret (HMAC-SHA256 of `purpose`), in hexadecimal: a
    /// protocol that needs a shared string (host-to-host sessions' cookie) gets its own, and
    /// no protocol ever holds the secret itself.
    pub fn derive(&self, purpose: &str) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        let tag = ring::hmac::sign(&key, purpose.as_bytes());
        tag.as_ref()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

impl fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterSecret(…)")
    }
}

/// `cluster-secret.yaml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct ClusterSecretRecord {
    /// The secret, in hexadecimal.
    pub key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_random_survives_its_written_form_and_never_shows_in_debug() {
        let secret = ClusterSecret::generate().unwrap();
        assert_ne!(secret, ClusterSecret::generate().unwrap());
        let hex = secret.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(ClusterSecret::from_hex(&hex), Some(secret.clone()));
        assert!(!format!("{secret:?}").contains(&hex[..8]));
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_by_secret_and_hide_the_secret() {
        let secret = ClusterSecret::generate().unwrap();
        let cookie = secret.derive("cookie");
        assert_eq!(cookie, secret.derive("cookie"));
        assert_eq!(cookie.len(), 64);
        assert_ne!(cookie, secret.derive("other"));
        assert_ne!(cookie, ClusterSecret::generate().unwrap().derive("cookie"));
        assert_ne!(cookie, secret.to_hex());
    }

    #[test]
    fn anything_but_64_hex_digits_is_no_secret() {
        assert_eq!(ClusterSecret::from_hex(""), None);
        assert_eq!(ClusterSecret::from_hex(&"a".repeat(63)), None);
        assert_eq!(ClusterSecret::from_hex(&"g".repeat(64)), None);
        assert_eq!(ClusterSecret::from_hex(&"é".repeat(32)), None);
        assert_eq!(ClusterSecret::from_hex(&"+1".repeat(32)), None);
    }
}
