//! What the Membership actor is told and asked.

use std::net::SocketAddr;

use ractor::RpcReplyPort;

use super::identity::HostIdentity;
use super::seal::Rejection;
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
    /// A beacon was heard on the discovery group (see [`super::Discovery`]).
    Beacon {
        /// Who sent it, as the network says.
        from: SocketAddr,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// Time to send this host's beacon again.
    Beckon,
    /// A timer SWIM asked for is due.
    Timer {
        /// The timer.
        timer: foca::Timer<HostIdentity>,
        /// Which SWIM instance asked for it (see [`MembershipMsg::Listen`]): a timer of an
        /// instance that was replaced is dropped.
        life: u32,
    },
    /// Time to check that some member was heard from lately; a host that heard none for
    /// `CUT_OFF_AFTER` (3 s) is cut off, and its SWIM instance starts afresh.
    Listen,
    /// Time to announce again to hosts of the store that are not known to be alive (a lost
    /// first announcement, a host that started later, a partition that healed).
    Rejoin,
    /// Every member this host knows of, itself included.
    Members(RpcReplyPort<Vec<MemberView>>),
    /// How many datagrams were dropped, by reason.
    Dropped(RpcReplyPort<DroppedDatagrams>),
}

/// The datagrams a Membership actor dropped since it started, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DroppedDatagrams {
    /// Too short or of another envelope version.
    pub malformed: u64,
    /// Not sealed with the cluster's secret (an outsider, another cluster, a changed datagram).
    pub forged: u64,
    /// Sealed too long ago, or ahead of this host's clock.
    pub stale: u64,
    /// Opened before: a replay.
    pub replayed: u64,
    /// Authentic, but refused by SWIM (undecodable, an implausible generation).
    pub invalid: u64,
}

impl DroppedDatagrams {
    /// Counts one datagram the seal refused.
    pub fn count(&mut self, rejection: Rejection) {
        let counter = match rejection {
            Rejection::Malformed => &mut self.malformed,
            Rejection::Forged => &mut self.forged,
            Rejection::Stale => &mut self.stale,
            Rejection::Replayed => &mut self.replayed,
        };
        *counter += 1;
    }
}

// Local only: never sent to another host (SWIM's own datagrams are not actor messages).
impl ractor::Message for MembershipMsg {}
