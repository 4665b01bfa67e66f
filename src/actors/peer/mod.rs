//! Host-to-host messages. Every agent that listens for other hosts is a `ractor_cluster` node
//! (TCP, on the port membership uses for UDP) and runs one Peer actor, which the other agents
//! reach as a member of the process group `khutulun-peer/<host>`. A session is opened only
//! after both ends prove they hold the cluster's secret (a cookie derived from it, checked by
//! challenge and response: it never travels).
//!
//! The store stays the source of truth: a message only tells a host to act sooner than its
//! next read of the store ([`PeerMsg::Nudge`]) or asks it for what only it has (its part of a
//! service's output, a stop or start of its instances: [`Part`]). A host that is gone makes the
//! asker's call fail at once or at its deadline, and the asker says so; a host that missed a
//! nudge catches up from the store within one period.

mod actor;
mod client;
mod messages;
mod network;
mod part;

pub use actor::{Peer, PeerArgs};
pub use client::{ask, nudge};
pub use messages::PeerMsg;
pub use network::{COOKIE_PURPOSE, PeerNetwork};
pub use part::{ControlAsk, OUTPUT_CAP, Part};

/// The process group of the Peer actor of `host`.
fn group_of(host: &str) -> String {
    format!("khutulun-peer/{host}")
}
