//! The messages the nspawn delegate answers.

use ractor::RpcReplyPort;

use crate::delegates::protocol::{DelegateError, DelegateMsg};

/// Messages of the nspawn delegate.
pub enum NspawnMsg {
    /// A lifecycle call from the runtime.
    Lifecycle(Box<DelegateMsg>),
    /// Whether this host can run system containers (for `delegate list`): `systemd-nspawn` is
    /// installed and a systemd user manager answers. The error says what is missing.
    Available {
        /// `Ok` when both are there.
        reply: RpcReplyPort<Result<(), DelegateError>>,
    },
}

// Local only: never sent to another host.
impl ractor::Message for NspawnMsg {}

impl From<DelegateMsg> for NspawnMsg {
    fn from(message: DelegateMsg) -> Self {
        NspawnMsg::Lifecycle(Box::new(message))
    }
}

impl TryFrom<NspawnMsg> for DelegateMsg {
    type Error = NspawnMsg;

    fn try_from(message: NspawnMsg) -> Result<Self, Self::Error> {
        match message {
            NspawnMsg::Lifecycle(message) => Ok(*message),
            other => Err(other),
        }
    }
}
