//! Running a process without systemd: start it detached, recognise it again later, stop it.
//!
//! The process gets its own process group (so a signal to the agent's group, e.g. Ctrl-C,
//! does not reach it, and stopping it reaches its children too), its output goes to a file
//! (not a pipe that would break when the agent exits), and it is identified by its pid *and*
//! its start time, so a recycled pid is never mistaken for it.

use std::fs::OpenOptions;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use tokio::process::{Child, Command};

use super::launch::LaunchPlan;
use crate::delegates::protocol::DelegateError;

/// How long a process may take to exit after SIGTERM before it gets SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// A process recognised by its pid and start time (clock ticks since boot, from `/proc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessIdentity {
    /// The process id.
    pub pid: i32,
    /// When it started, in clock ticks since boot.
    pub start_time: u64,
}

impl ProcessIdentity {
    /// The identity of the live process `pid`, or `None` when there is none (or a zombie).
    pub fn of(pid: i32) -> Option<ProcessIdentity> {
        Self::read(pid, false)
    }

    fn read(pid: i32, even_ended: bool) -> Option<ProcessIdentity> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) is in parentheses and may hold spaces: read after it.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // fields[0] is field 3 (state); the start time is field 22.
        if !even_ended && (fields.first() == Some(&"Z") || fields.first() == Some(&"X")) {
            return None;
        }
        let start_time = fields.get(19)?.parse().ok()?;
        Some(ProcessIdentity { pid, start_time })
    }

    /// Whether this very process still runs.
    pub fn is_running(&self) -> bool {
        ProcessIdentity::of(self.pid) == Some(*self)
    }
}

/// Starts the plan's program detached from the agent; returns the child (to wait for) and
/// its identity.
pub fn spawn(plan: &LaunchPlan) -> Result<(Child, ProcessIdentity), DelegateError> {
    std::fs::create_dir_all(&plan.state_dir).map_err(|e| {
        DelegateError::io(format!("create directory {}", plan.state_dir.display()), e)
    })?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&plan.log_file)
        .map_err(|e| DelegateError::io(format!("open {}", plan.log_file.display()), e))?;
    let log_too = log
        .try_clone()
        .map_err(|e| DelegateError::io(format!("open {}", plan.log_file.display()), e))?;
    let home = match &plan.user {
        Some(user) => user.dir.to_string_lossy().into_owned(),
        None => std::env::var("HOME").unwrap_or_else(|_| "/".into()),
    };
    let mut command = Command::new(&plan.program);
    command
        .args(&plan.arguments)
        .env_clear()
        .env("HOME", home)
        .envs(&plan.environment)
        .current_dir(&plan.working_directory)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_too)
        .process_group(0)
        .kill_on_drop(false);
    if let Some(user) = &plan.user {
        command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    let child = command.spawn().map_err(|e| {
        DelegateError::io(
            format!("start {} for {}", plan.program.display(), plan.instance),
            e,
        )
    })?;
    let pid = child
        .id()
        .and_then(|pid| i32::try_from(pid).ok())
        .ok_or_else(|| DelegateError::Failed(format!("{} exited at once", plan.instance)))?;
    // Our child stays readable until we reap it, even when it already ended (then its
    // watcher reports the exit).
    let identity = ProcessIdentity::read(pid, true).ok_or_else(|| {
        DelegateError::Failed(format!(
            "the new process {pid} of {} vanished",
            plan.instance
        ))
    })?;
    Ok((child, identity))
}

/// Stops the process and its process group: SIGTERM, then SIGKILL after [`STOP_GRACE`].
/// Already gone is fine.
pub async fn terminate(identity: ProcessIdentity) -> Result<(), DelegateError> {
    if !identity.is_running() {
        return Ok(());
    }
    let group = Pid::from_raw(identity.pid);
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = tokio::time::Instant::now() + STOP_GRACE;
    while identity.is_running() {
        if tokio::time::Instant::now() >= deadline {
            let _ = killpg(group, Signal::SIGKILL);
            let hard_deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while identity.is_running() {
                if tokio::time::Instant::now() >= hard_deadline {
                    return Err(DelegateError::Failed(format!(
                        "process {} did not end after SIGKILL",
                        identity.pid
                    )));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_recognised_and_a_different_start_time_is_not() {
        let me = ProcessIdentity::of(std::process::id() as i32).unwrap();
        assert!(me.is_running());
        let impostor = ProcessIdentity {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!impostor.is_running());
        assert_eq!(ProcessIdentity::of(i32::MAX), None);
    }
}
