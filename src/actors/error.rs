//! The runtime's errors: one sentence each, shown to the person at the CLI.

use crate::state::StoreError;

/// Why the runtime could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An actor the request needed is gone.
    #[error("the {0} is not running; the agent may be shutting down")]
    Unreachable(&'static str),
    /// A store write was asked for but not confirmed in time (a stalled store, a long queue of
    /// writes); it stays queued and may still be made.
    #[error(
        "{what} was not written within {} s (the store is slow or busy); the change may still be made",
        .waited.as_secs()
    )]
    WriteUnconfirmed {
        /// What was being written.
        what: String,
        /// How long the caller waited.
        waited: std::time::Duration,
    },
    /// Another host was asked for its part and did not answer (it is down, cut off, or not
    /// linked yet); the store still says what it runs.
    #[error("host {host} did not answer: {reason}")]
    HostUnreachable {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
    /// Another host was asked for its part and refused or failed.
    #[error("on host {host}: {}", .failure.message)]
    Remote {
        /// The host.
        host: String,
        /// Its answer.
        failure: crate::control::protocol::Failure,
    },
    /// A delegate could not do its part.
    #[error(transparent)]
    Delegate(#[from] crate::delegates::protocol::DelegateError),
    /// The template does not compile or instantiate; the text is the processor's rendering
    /// (file:line:column and what is wrong).
    #[error("{0}")]
    Template(String),
    /// The request itself is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The thing asked about does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The service's policies cannot be met by the live hosts.
    #[error("cannot place the service: {0}")]
    Placement(#[from] crate::actors::scheduler::PlacementError),
    /// Others depend on it, so it cannot go (a service whose instances other services select).
    #[error("{0}")]
    InUse(String),
}
