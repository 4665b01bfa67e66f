//! What the control channel asks of the Host actor.

use ractor::RpcReplyPort;

use crate::control::protocol::{Reply, Request};

/// The Host actor's messages.
pub enum HostMsg {
    /// A request from the CLI, already authenticated.
    Request {
        /// What is asked.
        request: Request,
        /// The answer.
        reply: RpcReplyPort<Reply>,
    },
}

// Local only: never sent to another host.
impl ractor::Message for HostMsg {}
