//! The messages the firewalld delegate answers (the ipport delegate is its client).

use std::path::PathBuf;

use ractor::RpcReplyPort;

use super::record::{FirewallPort, Opening};
use crate::delegates::protocol::{DelegateError, InstanceHealth};

/// Messages of the firewalld delegate.
pub enum FirewalldMsg {
    /// Whether Firewalld answers; the error says why not (no system bus, or Firewalld is not
    /// on it).
    Available {
        /// `Ok` with Firewalld's version, or why it is unavailable.
        reply: RpcReplyPort<Result<String, DelegateError>>,
    },
    /// Opens `port` in the agent's zone (the one recorded, when it was opened before), in the
    /// running firewall and, when `permanent`, in the permanent configuration. What was open
    /// before and is not in the record stays the administrator's. Asking again is safe: it
    /// re-opens what a reload removed and duplicates nothing.
    Open {
        /// The port.
        port: FirewallPort,
        /// Whether the permanent configuration gets it too.
        permanent: bool,
        /// The file that records the instance's opening (in its private directory).
        record: PathBuf,
        /// The opening its attributes show, if any (Khutulun's too, should the record be lost).
        known: Option<Opening>,
        /// The opening, with what Khutulun owns of it.
        reply: RpcReplyPort<Result<Opening, DelegateError>>,
    },
    /// Whether the opening is still there (by whoever's rule).
    Inspect {
        /// The opening, as the instance's attributes show it.
        opening: Opening,
        /// Running, or failed with the reason.
        reply: RpcReplyPort<Result<InstanceHealth, DelegateError>>,
    },
    /// Closes what Khutulun opened for an instance, as its record file and its attributes
    /// say, and forgets the record. Nothing else is touched; nothing to close is `Ok`.
    Close {
        /// The file that records the instance's opening.
        record: PathBuf,
        /// The opening its attributes show, if any.
        known: Option<Opening>,
        /// Done.
        reply: RpcReplyPort<Result<(), DelegateError>>,
    },
}

// Local only: never sent to another host.
impl ractor::Message for FirewalldMsg {}
