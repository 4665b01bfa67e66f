//! The messages the directory delegate answers.

use crate::delegates::protocol::DelegateMsg;

/// Messages of the directory delegate.
pub enum DirectoryMsg {
    /// A lifecycle call from the runtime.
    Lifecycle(Box<DelegateMsg>),
}

// Local only: never sent to another host.
impl ractor::Message for DirectoryMsg {}

impl From<DelegateMsg> for DirectoryMsg {
    fn from(message: DelegateMsg) -> Self {
        DirectoryMsg::Lifecycle(Box::new(message))
    }
}

impl TryFrom<DirectoryMsg> for DelegateMsg {
    type Error = DirectoryMsg;

    fn try_from(message: DirectoryMsg) -> Result<Self, Self::Error> {
        match message {
            DirectoryMsg::Lifecycle(message) => Ok(*message),
        }
    }
}
