//! How SWIM datagrams are encoded: foca's postcard codec (compact, serde-based, no schema to
//! keep in step), applied to [`super::HostIdentity`], with one check on what it decodes: no
//! member's generation may lie further ahead of this host's clock than [`GENERATION_LEAD`].
//!
//! Why: a generation only rises, and the higher one replaces the lower, so an identity with an
//! absurd generation (2^64−1) would outrank its host's real life for good: the real host would
//! be seen down forever and every renewal of it lose. Generations start at the agent's start
//! time in milliseconds and rise by one per rejoin, so a real one never runs far ahead of the
//! clock.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut};
use foca::{Codec, Header, Member, Message, PostcardCodec};

use super::identity::HostIdentity;
use crate::state::Clock;

/// The largest datagram sent or accepted: below a LAN's 1500-byte MTU, so nothing fragments.
pub const MAX_DATAGRAM: usize = 1400;

/// How far ahead of this host's clock a member's generation may be: clocks that disagree by
/// this much, or as many rejoins as milliseconds.
pub const GENERATION_LEAD: Duration = Duration::from_secs(600);

/// The codec every member uses; all members of a cluster must agree on it.
#[derive(Clone, Debug)]
pub struct WireCodec {
    clock: Arc<dyn Clock>,
}

/// A datagram that did not decode, or named an implausible member.
#[derive(Debug)]
pub enum WireError {
    /// Not postcard for SWIM's types.
    Postcard(<PostcardCodec as Codec<HostIdentity>>::Error),
    /// A member whose generation lies beyond [`GENERATION_LEAD`] of this host's clock.
    Implausible(HostIdentity),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Postcard(error) => write!(f, "{error}"),
            WireError::Implausible(identity) => write!(
                f,
                "{identity} has a generation further ahead of this host's clock than {GENERATION_LEAD:?}"
            ),
        }
    }
}

impl std::error::Error for WireError {}

/// A codec for a new SWIM instance that judges generations by `clock`.
pub fn wire_codec(clock: Arc<dyn Clock>) -> WireCodec {
    WireCodec { clock }
}

impl WireCodec {
    fn check(&self, identity: &HostIdentity) -> Result<(), WireError> {
        let limit = self
            .clock
            .unix_millis()
            .saturating_add(GENERATION_LEAD.as_millis() as u64);
        if identity.generation > limit {
            return Err(WireError::Implausible(identity.clone()));
        }
        Ok(())
    }
}

/// The identities a message names besides its sender and receiver.
fn named_in(message: &Message<HostIdentity>) -> Option<&HostIdentity> {
    match message {
        Message::PingReq { target, .. } | Message::IndirectAck { target, .. } => Some(target),
        Message::IndirectPing { origin, .. } | Message::ForwardedAck { origin, .. } => Some(origin),
        _ => None,
    }
}

impl Codec<HostIdentity> for WireCodec {
    type Error = WireError;

    fn encode_header(
        &mut self,
        header: &Header<HostIdentity>,
        buf: impl BufMut,
    ) -> Result<(), WireError> {
        PostcardCodec
            .encode_header(header, buf)
            .map_err(WireError::Postcard)
    }

    fn decode_header(&mut self, buf: impl Buf) -> Result<Header<HostIdentity>, WireError> {
        let header = PostcardCodec
            .decode_header(buf)
            .map_err(WireError::Postcard)?;
        self.check(&header.src)?;
        self.check(&header.dst)?;
        if let Some(named) = named_in(&header.message) {
            self.check(named)?;
        }
        Ok(header)
    }

    fn encode_member(
        &mut self,
        member: &Member<HostIdentity>,
        buf: impl BufMut,
    ) -> Result<(), WireError> {
        PostcardCodec
            .encode_member(member, buf)
            .map_err(WireError::Postcard)
    }

    fn decode_member(&mut self, buf: impl Buf) -> Result<Member<HostIdentity>, WireError> {
        let member = PostcardCodec
            .decode_member(buf)
            .map_err(WireError::Postcard)?;
        self.check(member.id())?;
        Ok(member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::SystemClock;
    use foca::State;

    fn identity(name: &str, port: u16, generation: u64) -> HostIdentity {
        HostIdentity {
            name: name.to_owned(),
            address: format!("10.77.0.1:{port}").parse().unwrap(),
            generation,
        }
    }

    fn codec() -> WireCodec {
        wire_codec(Arc::new(SystemClock))
    }

    fn now() -> u64 {
        SystemClock.unix_millis()
    }

    #[test]
    fn a_header_survives_the_wire() {
        let header = Header {
            src: identity("alpha", 7946, 1_700_000_000_123),
            src_incarnation: 3,
            dst: identity("beta", 7947, now()),
            message: Message::PingReq {
                target: identity("gamma", 7948, 42),
                probe_number: 9,
            },
        };
        let mut wire = Vec::new();
        codec().encode_header(&header, &mut wire).unwrap();
        let mut reading = wire.as_slice();
        let decoded = codec().decode_header(&mut reading).unwrap();
        assert_eq!(decoded, header);
        assert!(reading.is_empty(), "the decoder left bytes behind");
    }

    #[test]
    fn a_member_update_survives_the_wire_after_another() {
        let suspect = Member::new(identity("beta", 7947, 5), 2, State::Suspect);
        let down = Member::new(identity("gamma", 7948, 6), 0, State::Down);
        let mut wire = Vec::new();
        codec().encode_member(&suspect, &mut wire).unwrap();
        codec().encode_member(&down, &mut wire).unwrap();
        let mut reading = wire.as_slice();
        assert_eq!(codec().decode_member(&mut reading).unwrap(), suspect);
        assert_eq!(codec().decode_member(&mut reading).unwrap(), down);
        assert!(reading.is_empty());
    }

    #[test]
    fn a_truncated_datagram_is_an_error_not_a_member() {
        let member = Member::new(identity("beta", 7947, 5), 2, State::Alive);
        let mut wire = Vec::new();
        codec().encode_member(&member, &mut wire).unwrap();
        let mut reading = &wire[..wire.len() / 2];
        assert!(codec().decode_member(&mut reading).is_err());
    }

    #[test]
    fn a_generation_far_beyond_the_clock_is_refused_wherever_it_appears() {
        let lead = GENERATION_LEAD.as_millis() as u64;
        let absurd = identity("beta", 7947, u64::MAX);
        let ahead = identity("beta", 7947, now() + 2 * lead);
        for liar in [absurd, ahead] {
            let member = Member::new(liar.clone(), 0, State::Down);
            let mut wire = Vec::new();
            codec().encode_member(&member, &mut wire).unwrap();
            let error = codec().decode_member(&mut wire.as_slice()).unwrap_err();
            assert!(matches!(error, WireError::Implausible(ref who) if *who == liar));

            let honest = identity("alpha", 7946, now());
            let headers = [
                (liar.clone(), honest.clone(), Message::Ping(1)),
                (honest.clone(), liar.clone(), Message::Announce),
                (
                    honest.clone(),
                    honest.clone(),
                    Message::PingReq {
                        target: liar.clone(),
                        probe_number: 1,
                    },
                ),
            ];
            for (src, dst, message) in headers {
                let header = Header {
                    src,
                    src_incarnation: 0,
                    dst,
                    message,
                };
                let mut wire = Vec::new();
                codec().encode_header(&header, &mut wire).unwrap();
                let refused = codec().decode_header(&mut wire.as_slice());
                assert!(
                    matches!(refused, Err(WireError::Implausible(_))),
                    "{header:?}"
                );
            }
        }
    }
}
