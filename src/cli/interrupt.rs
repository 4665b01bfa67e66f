//! Ctrl-C while `service deploy` or `service delete` waits: the work goes on in the agent, so
//! the CLI only stops waiting. A SIGINT handler sets a flag the wait loops look at between
//! polls, and they say how to go on watching instead of dying mid-line.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// The exit code of a command stopped by SIGINT, as shells report it (128 + 2).
pub const EXIT_INTERRUPTED: u8 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_signal: std::ffi::c_int) {
    // Only an atomic store: nothing else is safe in a signal handler.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Has SIGINT set the flag instead of ending the process; a failure is logged and Ctrl-C then
/// ends the CLI as before (the work in the agent goes on either way).
pub fn catch() {
    let action = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    if let Err(error) = unsafe { sigaction(Signal::SIGINT, &action) } {
        tracing::warn!("cannot catch Ctrl-C: {error}");
    }
}

/// Whether SIGINT arrived since [`catch`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The command that shows how the service goes on, with `--namespace` when not the default.
pub fn status_command(namespace: &str, name: &str) -> String {
    if namespace == crate::state::records::DEFAULT_NAMESPACE {
        format!("khutulun service status {name}")
    } else {
        format!("khutulun service status {name} --namespace {namespace}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_command_names_a_namespace_other_than_the_default() {
        assert_eq!(
            status_command("default", "web"),
            "khutulun service status web"
        );
        assert_eq!(
            status_command("team", "web"),
            "khutulun service status web --namespace team"
        );
    }
}
