//! The messages the directory delegate answers.

use std::path::PathBuf;

use crate::delegates::protocol::{DelegateMsg, InstanceSpec, Reply};

/// Messages of the directory delegate.
pub enum DirectoryMsg {
    /// A lifecycle call from the runtime.
    Lifecycle(Box<DelegateMsg>),
    /// Mount a networked directory on this host for an instance here that attaches it (or
    /// share or adopt the mount already there); replies with the mount point. Asked before
    /// the instance is made, and again when it is adopted.
    Attach {
        /// The `NetworkDirectory` instance, with its private directory on this host.
        directory: Box<InstanceSpec>,
        /// The attaching instance, `namespace/service/instance`.
        holder: String,
        /// The mount point.
        reply: Reply<PathBuf>,
    },
    /// The attaching instance is gone from this host: unmount the directory if it was the
    /// last one here that used it.
    Detach {
        /// The `NetworkDirectory` instance, with its private directory on this host.
        directory: Box<InstanceSpec>,
        /// The instance that is gone, `namespace/service/instance`.
        holder: String,
        /// Done.
        reply: Reply<()>,
    },
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
            other => Err(other),
        }
    }
}
