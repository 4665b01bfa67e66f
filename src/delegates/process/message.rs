//! The messages the process delegate answers.

use crate::delegates::protocol::DelegateMsg;

/// Messages of the process delegate.
pub enum ProcessMsg {
    /// A lifecycle call from the runtime.
    Lifecycle(Box<DelegateMsg>),
    /// A process the agent supervises ended (sent by its watcher).
    Exited {
        /// `service/instance`.
        instance: String,
        /// Which start of the instance ended (stale news of an earlier start is ignored).
        generation: u64,
        /// Its exit code, or `None` after a signal (or when it was not our child).
        code: Option<i32>,
    },
    /// A stop (or delete) that ran beside the actor ended: the instance may be started again.
    Stopped {
        /// `service/instance`.
        instance: String,
    },
    /// Time to start an exited process again (sent after its restart delay).
    Restart {
        /// `service/instance`.
        instance: String,
        /// The start that ended; ignored when the instance was stopped or started since.
        generation: u64,
    },
}

// Local only: never sent to another host.
impl ractor::Message for ProcessMsg {}

impl From<DelegateMsg> for ProcessMsg {
    fn from(message: DelegateMsg) -> Self {
        ProcessMsg::Lifecycle(Box::new(message))
    }
}

impl TryFrom<ProcessMsg> for DelegateMsg {
    type Error = ProcessMsg;

    fn try_from(message: ProcessMsg) -> Result<Self, Self::Error> {
        match message {
            ProcessMsg::Lifecycle(message) => Ok(*message),
            other => Err(other),
        }
    }
}
