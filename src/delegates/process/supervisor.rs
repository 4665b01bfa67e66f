//! Running a process without systemd: start it detached, recognise it again later, stop it.
//!
//! The process gets its own process group (so a signal to the agent's group, e.g. Ctrl-C,
//! does not reach it, and stopping it reaches its children too), its output goes to a file
//! (not a pipe that would break when the agent exits), and it is identified by its pid *and*
//! its start time, so a recycled pid is never mistaken for it.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
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

/// The file in an instance's private directory naming the process that runs it now.
///
/// The agent rewrites it at every (re)start, so it stays right when the runtime's record of
/// the pid is out of date (an attribute update lost when the agent died, or not sent yet).
pub fn pid_file(state_dir: &Path) -> PathBuf {
    state_dir.join("process.pid")
}

/// Records `identity` as the instance's current process: written beside, then renamed over
/// the pid file, so a reader sees the old or the new identity, never half of one.
pub fn record(state_dir: &Path, identity: ProcessIdentity) -> Result<(), DelegateError> {
    let file = pid_file(state_dir);
    let partial = state_dir.join("process.pid.partial");
    let text = serde_json::to_string(&identity).expect("an identity serialises");
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, &file))
        .map_err(|e| DelegateError::io(format!("write {}", file.display()), e))
}

/// The process the pid file names, if there is a readable one.
pub fn recorded(state_dir: &Path) -> Option<ProcessIdentity> {
    let text = std::fs::read_to_string(pid_file(state_dir)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Removes the pid file (the instance runs no process any more).
pub fn forget(state_dir: &Path) {
    let _ = std::fs::remove_file(pid_file(state_dir));
}

/// The live (not zombie) processes of process group `group`.
fn group_members(group: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            // After the command name: state, parent pid, process group.
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            !matches!(fields.first(), Some(&"Z") | Some(&"X"))
                && fields.get(2).and_then(|g| g.parse().ok()) == Some(group)
        })
        .collect()
}

/// Whether anything of the process group that `identity` leads still runs.
///
/// The group's number is the leader's pid, and the kernel does not hand that number to a new
/// process while any member of the group lives. So: the leader itself runs, or the leader is
/// gone and members remain; a *different* live process with that pid means the group is long
/// gone (and that process is not ours to signal).
fn group_runs(identity: ProcessIdentity) -> bool {
    match ProcessIdentity::of(identity.pid) {
        Some(now) => now == identity,
        None => !group_members(identity.pid).is_empty(),
    }
}

/// Waits up to `limit` for the group to end; says whether it did.
async fn group_ended_within(identity: ProcessIdentity, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while group_runs(identity) {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Stops the process and everything left of its process group (children it started, also
/// after the process itself ended): SIGTERM, then SIGKILL after [`STOP_GRACE`], and checks
/// that nothing of the group remains. Already gone is fine.
pub async fn terminate(identity: ProcessIdentity) -> Result<(), DelegateError> {
    if !group_runs(identity) {
        return Ok(());
    }
    let group = Pid::from_raw(identity.pid);
    let _ = killpg(group, Signal::SIGTERM);
    if group_ended_within(identity, STOP_GRACE).await {
        return Ok(());
    }
    let _ = killpg(group, Signal::SIGKILL);
    if group_ended_within(identity, Duration::from_secs(5)).await {
        return Ok(());
    }
    Err(DelegateError::Failed(format!(
        "process group {} still has processes {:?} after SIGKILL",
        identity.pid,
        group_members(identity.pid)
    )))
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

    #[test]
    fn the_pid_file_holds_the_last_recorded_identity() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(recorded(dir.path()), None);
        let first = ProcessIdentity {
            pid: 10,
            start_time: 20,
        };
        let second = ProcessIdentity {
            pid: 11,
            start_time: 30,
        };
        record(dir.path(), first).unwrap();
        record(dir.path(), second).unwrap();
        assert_eq!(recorded(dir.path()), Some(second));
        forget(dir.path());
        assert_eq!(recorded(dir.path()), None);
    }

    #[test]
    fn a_reused_pid_is_not_taken_for_our_group() {
        let me = ProcessIdentity::of(std::process::id() as i32).unwrap();
        let earlier_owner = ProcessIdentity {
            start_time: me.start_time.saturating_sub(1),
            ..me
        };
        assert!(!group_runs(earlier_owner));
    }
}
