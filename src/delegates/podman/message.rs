//! The messages the podman delegate answers.

use ractor::RpcReplyPort;

use crate::delegates::protocol::{DelegateError, DelegateMsg};

/// Messages of the podman delegate.
pub enum PodmanMsg {
    /// A lifecycle call from the runtime.
    Lifecycle(Box<DelegateMsg>),
    /// Whether Podman's API answers a ping (for `delegate list`); the error says why not.
    Available {
        /// `Ok` when it answered in time.
        reply: RpcReplyPort<Result<(), DelegateError>>,
    },
}

// Local only: never sent to another host.
impl ractor::Message for PodmanMsg {}

impl From<DelegateMsg> for PodmanMsg {
    fn from(message: DelegateMsg) -> Self {
        PodmanMsg::Lifecycle(Box::new(message))
    }
}

impl TryFrom<PodmanMsg> for DelegateMsg {
    type Error = PodmanMsg;

    fn try_from(message: PodmanMsg) -> Result<Self, Self::Error> {
        match message {
            PodmanMsg::Lifecycle(message) => Ok(*message),
            other => Err(other),
        }
    }
}
