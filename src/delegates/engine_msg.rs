//! The messages of a delegate that runs workloads through an engine a host may lack (Podman,
//! Docker, systemd-nspawn): the lifecycle, and whether the engine is there.

use ractor::RpcReplyPort;

use crate::delegates::protocol::{DelegateError, DelegateMsg};

/// Messages of the podman, docker and nspawn delegates.
pub enum EngineMsg {
    /// A lifecycle call from the runtime.
    Lifecycle(Box<DelegateMsg>),
    /// Whether this host can run the delegate's workloads (for `delegate list`): its engine is
    /// installed and answers. The error says what is missing.
    Available {
        /// `Ok` when it can.
        reply: RpcReplyPort<Result<(), DelegateError>>,
    },
}

// Local only: never sent to another host.
impl ractor::Message for EngineMsg {}

impl From<DelegateMsg> for EngineMsg {
    fn from(message: DelegateMsg) -> Self {
        EngineMsg::Lifecycle(Box::new(message))
    }
}

impl TryFrom<EngineMsg> for DelegateMsg {
    type Error = EngineMsg;

    fn try_from(message: EngineMsg) -> Result<Self, Self::Error> {
        match message {
            EngineMsg::Lifecycle(message) => Ok(*message),
            other => Err(other),
        }
    }
}
