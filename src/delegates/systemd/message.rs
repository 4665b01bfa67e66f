//! The messages the systemd delegate answers.

use ractor::RpcReplyPort;

use super::unit::{UnitSpec, UnitStatus};
use crate::delegates::protocol::DelegateError;

/// Messages of the systemd delegate.
pub enum SystemdMsg {
    /// Whether a user manager answers; the error says why not.
    Available {
        /// `Ok` with systemd's version, or why it is unavailable.
        reply: RpcReplyPort<Result<String, DelegateError>>,
    },
    /// Starts `unit` as a transient unit and waits until its command runs (or failed, in which
    /// case the unit is removed again and the error says how it ended).
    Run {
        /// What to run (boxed: it is much larger than the other messages).
        unit: Box<UnitSpec>,
        /// The unit's status once running.
        reply: RpcReplyPort<Result<UnitStatus, DelegateError>>,
    },
    /// The status of a unit; `None` when systemd does not know it.
    Status {
        /// The unit's name.
        name: String,
        /// Its status.
        reply: RpcReplyPort<Result<Option<UnitStatus>, DelegateError>>,
    },
    /// Stops a unit and removes what is left of it (a transient unit disappears once stopped;
    /// a failed one is reset). Already gone is `Ok`.
    Remove {
        /// The unit's name.
        name: String,
        /// Done.
        reply: RpcReplyPort<Result<(), DelegateError>>,
    },
}

// Local only: never sent to another host.
impl ractor::Message for SystemdMsg {}
