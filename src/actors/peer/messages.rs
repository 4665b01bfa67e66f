//! What one host's Peer actor is sent by the others. These cross the network, so every field
//! is bytes the receiver decodes and checks itself (see [`super::part`]).

use ractor::RpcReplyPort;
use ractor_cluster::RactorClusterMessage;

/// The Peer actor's messages.
#[derive(RactorClusterMessage)]
pub enum PeerMsg {
    /// The plans changed for services this host has a part in: read them now.
    Nudge,
    /// A [`super::Part`] (JSON) for this host's instances, answered with the control
    /// channel's reply (JSON).
    #[rpc]
    Ask(Vec<u8>, RpcReplyPort<Vec<u8>>),
}
