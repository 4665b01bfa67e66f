//! Where the agent and the libvirt helper write their log lines.

/// Sends `tracing` events to standard error, filtered by `KHUTULUN_LOG` (`info` by default):
/// where systemd runs the agent, its journal keeps them; the helper's reach the agent's.
pub fn log_to_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KHUTULUN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}
