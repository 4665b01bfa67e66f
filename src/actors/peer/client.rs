//! Asking other hosts: find a host's Peer (local or remote) in its process group, send, and
//! wait within a deadline. Failing to reach it is an error that names the host.

use std::time::Duration;

use ractor::ActorRef;

use crate::actors::RuntimeError;
use crate::control::protocol::Response;

use super::actor::PART_DEADLINE;
use super::messages::PeerMsg;
use super::part::{self, Part};

/// How much longer than the asked host's own deadline the asker waits (the network's share).
const NETWORK_MARGIN: Duration = Duration::from_secs(5);

/// The Peer actor of `host`, when this agent has a session with it.
fn peer_of(host: &str) -> Option<ActorRef<PeerMsg>> {
    ractor::pg::get_members(&super::group_of(host))
        .into_iter()
        .next()
        .map(ActorRef::from)
}

/// Asks `host` for its part of a service and waits for its answer.
pub async fn ask(host: &str, asked: &Part) -> Result<Response, RuntimeError> {
    let unreachable = |reason: String| RuntimeError::HostUnreachable {
        host: host.to_owned(),
        reason,
    };
    let peer = peer_of(host).ok_or_else(|| unreachable("no session with it".into()))?;
    let bytes = asked.encode();
    let answer = peer
        .call(
            |reply| PeerMsg::Ask(bytes, reply),
            Some(PART_DEADLINE + NETWORK_MARGIN),
        )
        .await;
    match answer {
        Ok(ractor::rpc::CallResult::Success(bytes)) => {
            part::decode_reply(&bytes).map_err(|failure| RuntimeError::Remote {
                host: host.to_owned(),
                failure,
            })
        }
        Ok(ractor::rpc::CallResult::Timeout) => Err(unreachable(format!(
            "no answer within {} s",
            (PART_DEADLINE + NETWORK_MARGIN).as_secs()
        ))),
        Ok(ractor::rpc::CallResult::SenderError) => Err(unreachable("its session closed".into())),
        Err(error) => Err(unreachable(error.to_string())),
    }
}

/// Tells `hosts` to read the plans now. A host without a session reads them at its next
/// period anyway, so this is never an error.
pub fn nudge<'a>(hosts: impl IntoIterator<Item = &'a str>) {
    for host in hosts {
        if let Some(peer) = peer_of(host) {
            let _ = peer.cast(PeerMsg::Nudge);
        }
    }
}
