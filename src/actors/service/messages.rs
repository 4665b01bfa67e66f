//! What the Host, the NodeInstance actors and the Service actor's own tasks tell a Service
//! actor.

use crate::delegates::protocol::LogSource;

use super::super::RuntimeError;
use super::super::node_instance::StepReport;

/// The Service actor's messages.
#[derive(Debug)]
pub enum ServiceMsg {
    /// `delete` was asked (the store already says so): remove every instance, dependents
    /// first, then the service's records; then stop.
    Delete,
    /// The delegates were restarted: adopt every instance again, dependencies first.
    Resume,
    /// A NodeInstance actor finished a step.
    Finished(StepReport),
    /// A store write the Service actor asked for ended.
    Recorded {
        /// Which write.
        write: Write,
        /// Why it failed, if it did.
        error: Option<String>,
    },
    /// Something may be due (a check, a retry).
    Wake,
    /// Where one instance's output goes (or every instance's, with `None`).
    Logs {
        /// One instance, or all.
        instance: Option<String>,
        /// Log sources by instance.
        reply: ractor::RpcReplyPort<Result<Vec<(String, LogSource)>, RuntimeError>>,
    },
}

/// The service-wide store writes a Service actor makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// The deploy's failure.
    Failure,
    /// The removal of the service's records.
    Removal,
}

// Local only: never sent to another host.
impl ractor::Message for ServiceMsg {}
