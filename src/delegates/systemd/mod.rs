//! The systemd delegate: runs commands as transient units of the systemd user manager.
//!
//! It talks to `org.freedesktop.systemd1` on the session bus (`DBUS_SESSION_BUS_ADDRESS`, else
//! `$XDG_RUNTIME_DIR/bus`) with
//! zbus: `StartTransientUnit` with the command (`ExecStartEx` with `no-env-expand`, so `$` in
//! arguments reaches the program unchanged), `Restart=`, the working directory, environment,
//! user, and output appended to a log file; unit status (`ActiveState`, `SubState`, `MainPID`);
//! `StopUnit`; and `ResetFailedUnit` so that no failed unit is left behind. Units are named
//! `khutulun-<service>-<instance>.service`, so `systemctl --user status` shows them, and they
//! keep running when the agent stops: systemd, not the agent, is their parent.
//!
//! The process delegate is its client ([`SystemdMsg`]); when no user manager answers, every
//! request fails with [`crate::delegates::protocol::DelegateError::Unavailable`] saying why.

mod actor;
mod bus;
mod message;
mod unit;

pub use actor::SystemdDelegate;
pub use bus::SystemdBus;
pub use message::SystemdMsg;
pub use unit::{UnitSpec, UnitStatus, unit_name};

use crate::delegates::protocol::DelegateError;

/// Whether a user manager answers, for a delegate whose workloads run only as units; the error
/// says `why` units are needed, then what is missing.
pub async fn units_needed(
    systemd: &ractor::ActorRef<SystemdMsg>,
    why: &str,
) -> Result<(), DelegateError> {
    match systemd
        .call(|reply| SystemdMsg::Available { reply }, None)
        .await
    {
        Ok(ractor::rpc::CallResult::Success(Ok(_))) => Ok(()),
        Ok(ractor::rpc::CallResult::Success(Err(error))) => {
            Err(DelegateError::Unavailable(format!("{why}, but {error}")))
        }
        _ => Err(DelegateError::Unreachable("systemd delegate".into())),
    }
}
