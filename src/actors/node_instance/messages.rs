//! What a Service actor asks of a NodeInstance actor.

use ractor::RpcReplyPort;

use crate::delegates::protocol::LogSource;

use super::super::RuntimeError;

/// The reply to a lifecycle step: done, or why not.
pub type StepReply = RpcReplyPort<Result<(), RuntimeError>>;

/// The NodeInstance actor's messages.
pub enum NodeInstanceMsg {
    /// Create and start the instance (its dependencies already run).
    Deploy {
        /// Done when it runs.
        reply: StepReply,
    },
    /// Re-attach to the instance after an agent restart and record what is found.
    Adopt {
        /// Done.
        reply: StepReply,
    },
    /// Look at the instance and record what is found (a dead workload becomes `failed`).
    Check {
        /// Done.
        reply: StepReply,
    },
    /// Remove the instance (its dependents are already gone).
    Delete {
        /// Done when nothing of it is left.
        reply: StepReply,
    },
    /// Where the instance's output goes.
    Logs {
        /// The log source.
        reply: RpcReplyPort<Result<LogSource, RuntimeError>>,
    },
}

// Local only: never sent to another host.
impl ractor::Message for NodeInstanceMsg {}
