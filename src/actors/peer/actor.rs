//! The Peer actor: this host's door for the others. It joins its host's process group, turns
//! a nudge into a read of the plans, and hands an asked part on to the Host beside itself (the
//! Host may take long; the Peer never waits in its handler).

use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::actors::host::HostMsg;
use crate::control::protocol::{Failure, FailureKind, Reply};

use super::messages::PeerMsg;
use super::part::{self, Part};

/// How long the Host may take with an asked part: the longest a stop or start waits, plus
/// a margin (the asker waits a little longer still, see [`super::client`]).
pub const PART_DEADLINE: Duration = Duration::from_secs(105);

/// The Peer actor.
pub struct Peer;

/// What a Peer needs.
pub struct PeerArgs {
    /// Its host's name (its group).
    pub host: String,
    /// The Host it hands requests to.
    pub host_actor: ActorRef<HostMsg>,
}

impl Actor for Peer {
    type Msg = PeerMsg;
    type State = ActorRef<HostMsg>;
    type Arguments = PeerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<PeerMsg>,
        args: PeerArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        ractor::pg::join(super::group_of(&args.host), vec![myself.get_cell()]);
        Ok(args.host_actor)
    }

    async fn handle(
        &self,
        _myself: ActorRef<PeerMsg>,
        message: PeerMsg,
        host: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            PeerMsg::Nudge => {
                let _ = host.cast(HostMsg::Nudged);
            }
            PeerMsg::Ask(bytes, reply) => {
                tokio::spawn(answer(host.clone(), bytes, reply));
            }
        }
        Ok(())
    }
}

/// Decodes an asked part, has the Host carry it out, and sends its reply back.
async fn answer(host: ActorRef<HostMsg>, bytes: Vec<u8>, reply: RpcReplyPort<Vec<u8>>) {
    let failure = |message: String| Failure {
        kind: FailureKind::Internal,
        message,
    };
    let answer: Reply = match Part::decode(&bytes) {
        Err(reason) => Err(failure(reason)),
        Ok(asked) => match host
            .call(
                |reply| HostMsg::Part { part: asked, reply },
                Some(PART_DEADLINE),
            )
            .await
        {
            Ok(ractor::rpc::CallResult::Success(answer)) => answer,
            Ok(ractor::rpc::CallResult::Timeout) => Err(failure(format!(
                "not done within {} s; it goes on",
                PART_DEADLINE.as_secs()
            ))),
            _ => Err(failure("its host actor is restarting".into())),
        },
    };
    let _ = reply.send(part::encode_reply(&answer));
}
