//! Authenticated SWIM datagrams. Anyone who can reach the UDP port can send a datagram, so
//! every datagram is sealed with an HMAC-SHA256 under the cluster's secret and the time it was
//! sent, and opened before SWIM sees it: one that fails is dropped unanswered. Opening also
//! refuses a datagram sent too long ago (or too far ahead: clocks of one cluster agree within
//! seconds) and one already opened, so a recorded datagram cannot be replayed.
//!
//! ```text
//! version (1 byte) | sent at, ms since the Unix epoch (8 bytes, big-endian) | SWIM payload | tag (32 bytes)
//! ```
//!
//! The tag covers everything before it.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use ring::hmac;

use crate::state::ClusterSecret;

/// The envelope's version byte.
const VERSION: u8 = 1;

/// The tag's length: a whole HMAC-SHA256.
const TAG: usize = 32;

/// The bytes before the payload.
const HEAD: usize = 1 + 8;

/// What sealing adds to a payload.
pub const SEAL_OVERHEAD: usize = HEAD + TAG;

/// How far a datagram's time may lie from the receiver's: its age when it arrives, plus the
/// difference between the two hosts' clocks.
pub const FRESHNESS: Duration = Duration::from_secs(30);

/// The most datagrams remembered against replay. Only authentic datagrams are remembered, so
/// this bounds memory under a member's bug, not an outsider's flood.
const REMEMBERED: usize = 1 << 16;

/// Why a datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Too short, or another envelope version.
    Malformed,
    /// The tag does not match: not sealed with this cluster's secret, or changed on the way.
    Forged,
    /// Sent outside [`FRESHNESS`] of now.
    Stale,
    /// Already opened once.
    Replayed,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::Malformed => "malformed",
            Rejection::Forged => "not authenticated by the cluster's secret",
            Rejection::Stale => "sent too long ago or in the future",
            Rejection::Replayed => "a replay",
        })
    }
}

/// Seals datagrams and opens them, remembering the tags opened within [`FRESHNESS`].
pub struct Seal {
    key: hmac::Key,
    /// Tags opened, with the time each datagram was sent.
    opened: HashMap<[u8; TAG], u64>,
    /// When `opened` was last cleared of tags too old to matter.
    pruned_at: u64,
}

impl Seal {
    /// Seals and opens with the cluster's `secret`.
    pub fn new(secret: &ClusterSecret) -> Seal {
        Seal {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.bytes()),
            opened: HashMap::new(),
            pruned_at: 0,
        }
    }

    /// The datagram that carries `payload`, sent at `now` (ms since the Unix epoch).
    pub fn seal(&self, now: u64, payload: &[u8]) -> Vec<u8> {
        let mut datagram = Vec::with_capacity(payload.len() + SEAL_OVERHEAD);
        datagram.push(VERSION);
        datagram.extend_from_slice(&now.to_be_bytes());
        datagram.extend_from_slice(payload);
        let tag = hmac::sign(&self.key, &datagram);
        datagram.extend_from_slice(tag.as_ref());
        datagram
    }

    /// The payload of `datagram` received at `now`, if it is authentic, fresh and new.
    pub fn open<'a>(&mut self, now: u64, datagram: &'a [u8]) -> Result<&'a [u8], Rejection> {
        if datagram.len() < SEAL_OVERHEAD || datagram[0] != VERSION {
            return Err(Rejection::Malformed);
        }
        let (signed, tag) = datagram.split_at(datagram.len() - TAG);
        hmac::verify(&self.key, signed, tag).map_err(|_| Rejection::Forged)?;
        let sent_at = u64::from_be_bytes(signed[1..HEAD].try_into().expect("eight bytes"));
        let window = FRESHNESS.as_millis() as u64;
        if sent_at.abs_diff(now) > window {
            return Err(Rejection::Stale);
        }
        self.forget_older_than(now.saturating_sub(window));
        let tag: [u8; TAG] = tag.try_into().expect("a whole tag");
        if self.opened.contains_key(&tag) || self.opened.len() >= REMEMBERED {
            return Err(Rejection::Replayed);
        }
        self.opened.insert(tag, sent_at);
        Ok(&signed[HEAD..])
    }

    /// Forgets tags of datagrams sent before `oldest` (they would be refused as stale anyway),
    /// at most once per second of the clock.
    fn forget_older_than(&mut self, oldest: u64) {
        if oldest.saturating_sub(self.pruned_at) < 1000 && self.opened.len() < REMEMBERED {
            return;
        }
        self.opened.retain(|_, sent_at| *sent_at >= oldest);
        self.pruned_at = oldest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn seal() -> Seal {
        Seal::new(&ClusterSecret::generate().unwrap())
    }

    #[test]
    fn a_sealed_datagram_opens_once_to_its_payload() {
        let mut seal = seal();
        let datagram = seal.seal(NOW, b"ping");
        assert_eq!(datagram.len(), 4 + SEAL_OVERHEAD);
        assert_eq!(seal.open(NOW + 5, &datagram), Ok(&b"ping"[..]));
        assert_eq!(seal.open(NOW + 6, &datagram), Err(Rejection::Replayed));
    }

    #[test]
    fn another_clusters_datagram_or_a_changed_one_is_forged() {
        let mut ours = seal();
        let theirs = seal();
        assert_eq!(
            ours.open(NOW, &theirs.seal(NOW, b"announce")),
            Err(Rejection::Forged)
        );
        let mut datagram = ours.seal(NOW, b"announce");
        datagram[HEAD] ^= 1;
        assert_eq!(ours.open(NOW, &datagram), Err(Rejection::Forged));
        let mut later = ours.seal(NOW, b"announce");
        later[HEAD - 1] ^= 1;
        assert_eq!(ours.open(NOW, &later), Err(Rejection::Forged));
    }

    #[test]
    fn short_or_unversioned_bytes_are_malformed() {
        let mut seal = seal();
        assert_eq!(seal.open(NOW, b""), Err(Rejection::Malformed));
        assert_eq!(
            seal.open(NOW, &[VERSION; SEAL_OVERHEAD - 1]),
            Err(Rejection::Malformed)
        );
        let mut datagram = seal.seal(NOW, b"x");
        datagram[0] = 2;
        assert_eq!(seal.open(NOW, &datagram), Err(Rejection::Malformed));
    }

    #[test]
    fn a_datagram_outside_the_freshness_window_is_stale() {
        let mut seal = seal();
        let window = FRESHNESS.as_millis() as u64;
        let old = seal.seal(NOW - window - 1, b"old");
        assert_eq!(seal.open(NOW, &old), Err(Rejection::Stale));
        let ahead = seal.seal(NOW + window + 1, b"ahead");
        assert_eq!(seal.open(NOW, &ahead), Err(Rejection::Stale));
        let edge = seal.seal(NOW - window, b"edge");
        assert!(seal.open(NOW, &edge).is_ok());
    }

    #[test]
    fn tags_are_forgotten_once_their_datagrams_would_be_stale() {
        let mut seal = seal();
        let window = FRESHNESS.as_millis() as u64;
        for n in 0..100u64 {
            let datagram = seal.seal(NOW + n, &n.to_be_bytes());
            seal.open(NOW + n, &datagram).unwrap();
        }
        assert_eq!(seal.opened.len(), 100);
        let later = NOW + 2 * window;
        seal.open(later, &seal.seal(later, b"later")).unwrap();
        assert_eq!(seal.opened.len(), 1);
    }
}
