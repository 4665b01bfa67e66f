//! The messages the nspawn delegate answers.

use crate::delegates::protocol::DelegateMsg;

/// Messages of the nspawn delegate.
pub enum NspawnMsg {
    /// A lifecycle call from the runtime.
    Lifecycle(Box<DelegateMsg>),
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
        }
    }
}
