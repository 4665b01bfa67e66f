//! What the Membership actor is told and asked.

use std::net::SocketAddr;

use ractor::RpcReplyPort;

use super::identity::HostIdentity;
use super::view::MemberView;

/// The Membership actor's messages.
pub enum MembershipMsg {
    /// A datagram arrived from another member (or from anyone: it is decoded and checked).
    Datagram {
        /// Who sent it, as the network says.
        from: SocketAddr,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// A timer SWIM asked for is due.
    Timer(foca::Timer<HostIdentity>),
    /// Time to announce again to hosts of the store that are not known to be alive (a lost
    /// first announcement, a host that started later, a partition that healed).
    Rejoin,
    /// Every member this host knows of, itself included.
    Members(RpcReplyPort<Vec<MemberView>>),
}

// Local only: never sent to another host (SWIM's own datagrams are not actor messages).
impl ractor::Message for MembershipMsg {}
