//! What the control channel asks of the Host actor.

use ractor::RpcReplyPort;

use crate::control::protocol::{Reply, Request};

use super::super::RuntimeError;
use super::deploy::Prepared;

/// The Host actor's messages.
pub enum HostMsg {
    /// A request from the CLI, already authenticated.
    Request {
        /// What is asked.
        request: Request,
        /// The answer.
        reply: RpcReplyPort<Reply>,
    },
    /// A deploy's template was compiled beside the Host: record the service and start it.
    Compiled {
        /// The new service's records, or why there are none.
        prepared: Box<Result<Prepared, RuntimeError>>,
        /// The deploy's answer.
        reply: RpcReplyPort<Reply>,
    },
}

// Local only: never sent to another host.
impl ractor::Message for HostMsg {}
