//! What the Host (and the Service actor itself) asks of a Service actor.

/// The Service actor's messages.
#[derive(Debug)]
pub enum ServiceMsg {
    /// Make every instance on this host real, dependencies first.
    Deploy,
    /// After an agent restart: re-attach to every instance, dependencies first.
    Resume,
    /// Look at every running instance and record what changed (sent periodically).
    Check,
    /// Remove every instance, dependents first, then the service's records; then stop.
    Delete,
    /// Where one instance's output goes (or every instance's, with `None`).
    Logs {
        /// One instance, or all.
        instance: Option<String>,
        /// Log sources by instance.
        reply: ractor::RpcReplyPort<
            Result<
                Vec<(String, crate::delegates::protocol::LogSource)>,
                super::super::RuntimeError,
            >,
        >,
    },
}

// Local only: never sent to another host.
impl ractor::Message for ServiceMsg {}
