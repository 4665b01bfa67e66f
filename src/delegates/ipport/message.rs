//! The messages the ipport delegate answers.

use ractor::RpcReplyPort;

use crate::delegates::profile::Protocol;
use crate::delegates::protocol::{DelegateError, DelegateMsg};

/// Messages of the ipport delegate.
pub enum IpPortMsg {
    /// A lifecycle call from the runtime (for `Port` and `IPEndpoint` instances).
    Lifecycle(Box<DelegateMsg>),
    /// Reserves a port of this host for `owner` (another delegate's instance, `service/instance`):
    /// `port` 0 picks one from the range. Asking again for the same owner and protocol gives the
    /// same port.
    Reserve {
        /// Who holds the port (`service/instance`).
        owner: String,
        /// TCP or UDP.
        protocol: Protocol,
        /// The port wanted, or 0 for any.
        port: u16,
        /// The port reserved.
        reply: RpcReplyPort<Result<u16, DelegateError>>,
    },
    /// Releases every port `owner` holds on this host.
    Release {
        /// Who held the ports.
        owner: String,
        /// Done.
        reply: RpcReplyPort<Result<(), DelegateError>>,
    },
}

// Local only: never sent to another host.
impl ractor::Message for IpPortMsg {}

impl From<DelegateMsg> for IpPortMsg {
    fn from(message: DelegateMsg) -> Self {
        IpPortMsg::Lifecycle(Box::new(message))
    }
}

impl TryFrom<IpPortMsg> for DelegateMsg {
    type Error = IpPortMsg;

    fn try_from(message: IpPortMsg) -> Result<Self, Self::Error> {
        match message {
            IpPortMsg::Lifecycle(message) => Ok(*message),
            other => Err(other),
        }
    }
}
