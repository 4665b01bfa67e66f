//! How SWIM datagrams are encoded: foca's postcard codec (compact, serde-based, no schema to
//! keep in step), applied to [`super::HostIdentity`].

/// The codec every member uses; all members of a cluster must agree on it.
pub type WireCodec = foca::PostcardCodec;

/// The largest datagram sent or accepted: below a LAN's 1500-byte MTU, so nothing fragments.
pub const MAX_DATAGRAM: usize = 1400;

/// A codec value for a new SWIM instance.
pub fn wire_codec() -> WireCodec {
    foca::PostcardCodec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::membership::HostIdentity;
    use foca::{Codec, Header, Member, Message, State};

    fn identity(name: &str, port: u16, generation: u64) -> HostIdentity {
        HostIdentity {
            name: name.to_owned(),
            address: format!("10.77.0.1:{port}").parse().unwrap(),
            generation,
        }
    }

    #[test]
    fn a_header_survives_the_wire() {
        let header = Header {
            src: identity("alpha", 7946, 1_700_000_000_123),
            src_incarnation: 3,
            dst: identity("beta", 7947, u64::MAX),
            message: Message::PingReq {
                target: identity("gamma", 7948, 42),
                probe_number: 9,
            },
        };
        let mut wire = Vec::new();
        wire_codec().encode_header(&header, &mut wire).unwrap();
        let mut reading = wire.as_slice();
        let decoded = wire_codec().decode_header(&mut reading).unwrap();
        assert_eq!(decoded, header);
        assert!(reading.is_empty(), "the decoder left bytes behind");
    }

    #[test]
    fn a_member_update_survives_the_wire_after_another() {
        let suspect = Member::new(identity("beta", 7947, 5), 2, State::Suspect);
        let down = Member::new(identity("gamma", 7948, 6), 0, State::Down);
        let mut wire = Vec::new();
        wire_codec().encode_member(&suspect, &mut wire).unwrap();
        wire_codec().encode_member(&down, &mut wire).unwrap();
        let mut reading = wire.as_slice();
        assert_eq!(wire_codec().decode_member(&mut reading).unwrap(), suspect);
        assert_eq!(wire_codec().decode_member(&mut reading).unwrap(), down);
        assert!(reading.is_empty());
    }

    #[test]
    fn a_truncated_datagram_is_an_error_not_a_member() {
        let member = Member::new(identity("beta", 7947, 5), 2, State::Alive);
        let mut wire = Vec::new();
        wire_codec().encode_member(&member, &mut wire).unwrap();
        let mut reading = &wire[..wire.len() / 2];
        let decoded: Result<Member<HostIdentity>, _> = wire_codec().decode_member(&mut reading);
        assert!(decoded.is_err());
    }
}
