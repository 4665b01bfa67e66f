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
use crate::delegates::pauses::Pauses;
use crate::delegates::protocol::DelegateError;
use crate::throttle::LogLimit;

/// How long a process may take to exit after SIGTERM before it gets SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// How often a watcher looks at a process it did not start (and cannot wait for).
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// At most one warning per this interval about a process whose `/proc` entry cannot be read:
/// the reason (e.g. out of file descriptors) lasts, and each watcher asks twice a second.
const UNREADABLE_WARNING_INTERVAL: Duration = Duration::from_secs(30);

/// A process recognised by its pid and start time (clock ticks since boot, from `/proc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessIdentity {
    /// The process id.
    pub pid: i32,
    /// When it started, in clock ticks since boot.
    pub start_time: u64,
}

/// Whether a process still runs, as far as `/proc` can tell.
#[derive(Debug)]
pub enum Liveness {
    /// It runs.
    Running,
    /// It is gone for certain: no such process, a zombie, or another process under its pid.
    Gone,
    /// `/proc` could not be read (out of file descriptors, no permission…): it may well run,
    /// so it is taken as running and asked about again later; never a reason to restart it.
    Unknown(std::io::Error),
}

/// Whether a failed read of `/proc/<pid>/…` means that the process is gone (no entry, or it
/// ended while being read) rather than that the entry could not be read.
pub fn means_gone(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::NotFound
        || error.raw_os_error() == Some(nix::errno::Errno::ESRCH as i32)
}

/// The text of `/proc/<pid>/stat`: `None` when the process is gone, an error when it cannot
/// be read.
fn read_stat(pid: i32) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => Ok(Some(stat)),
        Err(error) if means_gone(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The fields of a stat line after the command name (which is in parentheses and may hold
/// spaces): the first is field 3 (state).
fn fields_after_name(stat: &str) -> std::io::Result<Vec<&str>> {
    let close = stat.rfind(')').ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "a stat line without ')'")
    })?;
    Ok(stat[close + 1..].split_whitespace().collect())
}

fn ended(fields: &[&str]) -> bool {
    matches!(fields.first(), Some(&"Z") | Some(&"X"))
}

impl ProcessIdentity {
    /// The identity of the live process `pid`: `None` when there is none (or a zombie), an
    /// error when `/proc` cannot tell.
    pub fn probe(pid: i32) -> std::io::Result<Option<ProcessIdentity>> {
        Self::read(pid, false)
    }

    fn read(pid: i32, even_ended: bool) -> std::io::Result<Option<ProcessIdentity>> {
        let Some(stat) = read_stat(pid)? else {
            return Ok(None);
        };
        let fields = fields_after_name(&stat)?;
        if !even_ended && ended(&fields) {
            return Ok(None);
        }
        // The start time is field 22.
        let start_time = fields
            .get(19)
            .and_then(|field| field.parse().ok())
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "a stat line too short")
            })?;
        Ok(Some(ProcessIdentity { pid, start_time }))
    }

    /// Whether this very process still runs.
    pub fn liveness(&self) -> Liveness {
        match ProcessIdentity::probe(self.pid) {
            Ok(Some(now)) if now == *self => Liveness::Running,
            Ok(_) => Liveness::Gone,
            Err(error) => Liveness::Unknown(error),
        }
    }
}

/// Waits until `identity` is gone for certain; while `/proc` cannot tell, it is taken as
/// running (and `instance` gets a warning now and then saying why).
pub async fn until_gone(instance: &str, identity: ProcessIdentity) {
    let mut warnings = LogLimit::new(UNREADABLE_WARNING_INTERVAL);
    loop {
        match identity.liveness() {
            Liveness::Gone => return,
            Liveness::Running => {}
            Liveness::Unknown(error) => {
                if let Some(suppressed) = warnings.allow(std::time::Instant::now()) {
                    tracing::warn!(
                        %instance, pid = identity.pid, %error, suppressed,
                        "cannot tell whether its process runs; taking it as running"
                    );
                }
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The shell that notes a process began before its program runs (see [`NOTE_THEN_EXEC`]).
const NOTING_SHELL: &str = "/bin/sh";

/// What that shell runs (`$1` is the [`forked_file`], the rest the program and its
/// arguments): it writes its pid, which stays the program's, then becomes the program. The
/// note is made by the child itself, so an agent killed at any moment after the spawn leaves
/// the evidence that the program began, and a restarted agent never starts it a second time.
const NOTE_THEN_EXEC: &str = r#"printf %s "$$" > "$1"; shift; exec "$@""#;

/// Starts the plan's program detached from the agent, with `launch` (the token of this start,
/// recorded before) in its environment; returns the child (to wait for) and its identity.
pub fn spawn(plan: &LaunchPlan, launch: &str) -> Result<(Child, ProcessIdentity), DelegateError> {
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
    // Truncated for this start; the process writes its pid into it before the program runs.
    let forked = forked_file(&plan.state_dir);
    std::fs::File::create(&forked)
        .map_err(|e| DelegateError::io(format!("create {}", forked.display()), e))?;
    let mut command = Command::new(NOTING_SHELL);
    command
        .args(["-c", NOTE_THEN_EXEC, "khutulun-start"])
        .arg(&forked)
        .arg(&plan.program)
        .args(&plan.arguments)
        .env_clear()
        .env("HOME", home)
        .envs(&plan.environment)
        .env(LAUNCH_VARIABLE, launch)
        .current_dir(&plan.working_directory)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_too)
        .process_group(0)
        .kill_on_drop(false);
    if let Some(user) = &plan.user {
        command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    // No code runs between fork and exec, so the standard library starts it with
    // posix_spawn: a fork would copy the agent's page tables, a cost that grows with the
    // number of instances it runs (descriptors are closed on exec since the agent started:
    // see [`close_inherited_descriptors_on_exec`]).
    let spawned = command.spawn();
    let child = spawned.map_err(|e| {
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
    match ProcessIdentity::read(pid, true) {
        Ok(Some(identity)) => Ok((child, identity)),
        unreadable => {
            // Unrecognisable later, it must not run on: it is our unreaped child, so its pid
            // is still its own.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            Err(DelegateError::Failed(format!(
                "cannot read the new process {pid} of {}: {}",
                plan.instance,
                match unreadable {
                    Err(error) => error.to_string(),
                    Ok(_) => "it vanished".into(),
                }
            )))
        }
    }
}

/// The file in an instance's private directory naming the process that runs it now.
///
/// The agent rewrites it at every (re)start, so it stays right when the runtime's record of
/// the pid is out of date (an attribute update lost when the agent died, or not sent yet).
pub fn pid_file(state_dir: &Path) -> PathBuf {
    state_dir.join("process.pid")
}

/// The environment variable that carries a start's [`PidRecord::launch`] token, by which a
/// process started just before the agent died (and not yet recorded by pid) is found again.
pub const LAUNCH_VARIABLE: &str = "KHUTULUN_LAUNCH";

/// What the pid file says: written with only `launch` before a start (the intent), then with
/// the identity of the process that start made, then with how it ended. Whatever the agent
/// crashes between, the instance's process can be found: by pid, or by its launch token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidRecord {
    /// The token of the latest start, in the started process's [`LAUNCH_VARIABLE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<String>,
    /// The process that start made, once known.
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub identity: Option<ProcessIdentity>,
    /// How it ended, when the agent saw it end: `Some(code)`, `None` for a signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<Option<i32>>,
}

/// A token no other start on this host had: the agent's pid, the time and a counter.
pub fn new_launch_token() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}-{count}", std::process::id())
}

/// Writes the pid file: written beside, then renamed over it, so a reader sees the old or the
/// new record, never half of one.
pub fn write_record(state_dir: &Path, record: &PidRecord) -> Result<(), DelegateError> {
    let file = pid_file(state_dir);
    let partial = state_dir.join("process.pid.partial");
    let text = serde_json::to_string(record).expect("a pid record serialises");
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, &file))
        .map_err(|e| DelegateError::io(format!("write {}", file.display()), e))
}

/// Records `identity` as the instance's current process (adopted, so of no known launch).
pub fn record(state_dir: &Path, identity: ProcessIdentity) -> Result<(), DelegateError> {
    let record = PidRecord {
        identity: Some(identity),
        ..PidRecord::default()
    };
    write_record(state_dir, &record)
}

/// Records how `identity` ended, if the pid file still names it (so that a restarted agent
/// knows whether its restart policy starts it again).
pub fn record_exit(state_dir: &Path, identity: ProcessIdentity, code: Option<i32>) {
    if let Ok(Some(mut record)) = read_record(state_dir)
        && record.identity == Some(identity)
    {
        record.exit = Some(code);
        if let Err(error) = write_record(state_dir, &record) {
            tracing::warn!(%error, "could not record how a process ended");
        }
    }
}

/// The pid file's record: `None` when there is none (or a garbled one), an error when it
/// cannot be read (then the instance may well have a process).
pub fn read_record(state_dir: &Path) -> std::io::Result<Option<PidRecord>> {
    match std::fs::read_to_string(pid_file(state_dir)) {
        Ok(text) => Ok(serde_json::from_str(&text).ok()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// The process the pid file names: `None` when there is no pid file (or a garbled one, or
/// one with only an intent), an error when it cannot be read.
pub fn recorded(state_dir: &Path) -> std::io::Result<Option<ProcessIdentity>> {
    Ok(read_record(state_dir)?.and_then(|record| record.identity))
}

/// Removes the pid file (the instance runs no process any more).
pub fn forget(state_dir: &Path) {
    let _ = std::fs::remove_file(pid_file(state_dir));
    let _ = std::fs::remove_file(forked_file(state_dir));
}

/// The file the pid of a starting process goes into the moment it exists: evidence that the
/// latest start recorded in the pid file only by its intent did begin, when the agent died
/// before it recorded the pid (so a process gone since ran, rather than never started).
pub fn forked_file(state_dir: &Path) -> PathBuf {
    state_dir.join("process.forked")
}

/// Whether the latest start's process began (see [`forked_file`]).
pub fn was_forked(state_dir: &Path) -> bool {
    std::fs::metadata(forked_file(state_dir)).is_ok_and(|meta| meta.len() > 0)
}

/// Marks every descriptor above stderr close-on-exec, once as the agent starts: it may have
/// inherited some without it (a lock its own parent held, a socket), and a workload must not
/// hold them for its life; what the agent opens itself is close-on-exec already. Best effort:
/// a kernel without close_range (before 5.11) leaves them as they are.
pub fn close_inherited_descriptors_on_exec() {
    // SAFETY: close_range only changes this process's descriptor flags.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
}

/// The ids of the processes `/proc` lists now; an error when it cannot be listed.
fn process_ids() -> std::io::Result<Vec<i32>> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        if let Some(pid) = entry?.file_name().to_str().and_then(|n| n.parse().ok()) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// The live process group leader started with `token` in its [`LAUNCH_VARIABLE`] (a start
/// whose pid was never recorded); an error when `/proc` cannot be listed.
pub fn find_launched(token: &str) -> std::io::Result<Option<ProcessIdentity>> {
    let wanted = format!("{LAUNCH_VARIABLE}={token}");
    for pid in process_ids()? {
        // Unreadable (another user's, or gone): not one the agent started.
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if !environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()) {
            continue;
        }
        if let Some(stat) = read_stat(pid)?
            && fields_after_name(&stat)?.get(2) == Some(&pid.to_string().as_str())
        {
            return ProcessIdentity::probe(pid);
        }
    }
    Ok(None)
}

/// The live (not zombie) processes of process group `group`; an error when `/proc` cannot
/// tell.
fn group_members(group: i32) -> std::io::Result<Vec<i32>> {
    let mut members = Vec::new();
    for pid in process_ids()? {
        let Some(stat) = read_stat(pid)? else {
            continue;
        };
        // After the command name: state, parent pid, process group.
        let fields = fields_after_name(&stat)?;
        if !ended(&fields) && fields.get(2).and_then(|g| g.parse().ok()) == Some(group) {
            members.push(pid);
        }
    }
    Ok(members)
}

/// Whether anything of the process group that `identity` leads still runs; an error when
/// `/proc` cannot tell. With `list_members` false, a group whose leader has ended but which
/// is not empty yet (most often only the leader's zombie, until it is reaped) counts as
/// running without listing `/proc`.
///
/// The group's number is the leader's pid, and the kernel does not hand that number to a new
/// process while any member of the group lives. So: the leader itself runs, or the leader is
/// gone and members remain; a *different* live process with that pid means the group is long
/// gone (and that process is not ours to signal).
fn group_runs(identity: ProcessIdentity, list_members: bool) -> std::io::Result<bool> {
    match ProcessIdentity::probe(identity.pid)? {
        Some(now) => Ok(now == identity),
        // No process at all in the group, not even a zombie: the kernel says so at once,
        // where listing /proc costs as much as the host has processes (a delete of many
        // instances was quadratic).
        None if group_is_empty(identity.pid) => Ok(false),
        None if !list_members => Ok(true),
        None => Ok(!group_members(identity.pid)?.is_empty()),
    }
}

/// How long a stopped group that is not empty yet is given to become empty before `/proc` is
/// listed to tell what of it still runs: its leader's zombie is reaped within milliseconds,
/// and a delete of a thousand processes listed `/proc` for each of them.
const REAP_PATIENCE: Duration = Duration::from_millis(200);

/// Whether process group `group` has no process left, zombies included.
fn group_is_empty(group: i32) -> bool {
    killpg(Pid::from_raw(group), None::<Signal>) == Err(nix::errno::Errno::ESRCH)
}

/// Waits up to `limit` for the group to end; says whether it did (while `/proc` cannot tell,
/// it has not).
async fn group_ended_within(identity: ProcessIdentity, limit: Duration) -> bool {
    let began = tokio::time::Instant::now();
    let deadline = began + limit;
    // Most processes end within a millisecond of their signal, and an update that replaces
    // one waits for this.
    let mut pauses = Pauses::new(Duration::from_millis(1), Duration::from_millis(20));
    loop {
        if let Ok(false) = group_runs(identity, began.elapsed() >= REAP_PATIENCE) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        pauses.wait().await;
    }
}

/// Stops the process and everything left of its process group (children it started, also
/// after the process itself ended): SIGTERM, then SIGKILL after [`STOP_GRACE`], and checks
/// that nothing of the group remains. Already gone is fine.
pub async fn terminate(identity: ProcessIdentity) -> Result<(), DelegateError> {
    let group_text = || format!("tell whether process group {} runs", identity.pid);
    // Unknown is not gone: reporting it stopped could leave it running unrecorded.
    if !group_runs(identity, true).map_err(|e| DelegateError::io(group_text(), e))? {
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
    let members = group_members(identity.pid).map_err(|e| DelegateError::io(group_text(), e))?;
    Err(DelegateError::Failed(format!(
        "process group {} still has processes {members:?} after SIGKILL",
        identity.pid,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_recognised_and_a_different_start_time_is_not() {
        let me = ProcessIdentity::probe(std::process::id() as i32)
            .unwrap()
            .unwrap();
        assert!(matches!(me.liveness(), Liveness::Running));
        let impostor = ProcessIdentity {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(matches!(impostor.liveness(), Liveness::Gone));
        assert_eq!(ProcessIdentity::probe(i32::MAX).unwrap(), None);
    }

    #[test]
    fn the_pid_file_holds_the_last_recorded_identity() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(recorded(dir.path()).unwrap(), None);
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
        assert_eq!(recorded(dir.path()).unwrap(), Some(second));
        forget(dir.path());
        assert_eq!(recorded(dir.path()).unwrap(), None);
    }

    #[test]
    fn only_a_missing_entry_means_gone_and_other_read_errors_are_unknown() {
        use nix::errno::Errno;
        let error = |errno: Errno| std::io::Error::from_raw_os_error(errno as i32);
        assert!(means_gone(&error(Errno::ENOENT)));
        assert!(means_gone(&error(Errno::ESRCH)));
        assert!(!means_gone(&error(Errno::EMFILE)));
        assert!(!means_gone(&error(Errno::ENFILE)));
        assert!(!means_gone(&error(Errno::EACCES)));
        assert!(!means_gone(&error(Errno::EIO)));
    }

    #[test]
    fn an_unreadable_pid_file_is_an_error_not_no_process() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(pid_file(dir.path())).unwrap();
        assert!(recorded(dir.path()).is_err());
    }

    #[tokio::test]
    async fn a_watcher_returns_once_its_process_ended() {
        let mut child = tokio::process::Command::new("true").spawn().unwrap();
        let pid = child.id().unwrap() as i32;
        let identity = ProcessIdentity::read(pid, true).unwrap().unwrap();
        child.wait().await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), until_gone("test", identity))
            .await
            .unwrap();
    }

    #[test]
    fn a_reused_pid_is_not_taken_for_our_group() {
        let me = ProcessIdentity::probe(std::process::id() as i32)
            .unwrap()
            .unwrap();
        let earlier_owner = ProcessIdentity {
            start_time: me.start_time.saturating_sub(1),
            ..me
        };
        assert!(!group_runs(earlier_owner, true).unwrap());
    }

    #[test]
    fn an_older_pid_file_still_reads_and_an_intent_names_no_process() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(pid_file(dir.path()), r#"{"pid":10,"start_time":20}"#).unwrap();
        let old = read_record(dir.path()).unwrap().unwrap();
        assert_eq!(old.identity.map(|i| i.pid), Some(10));
        assert_eq!(old.launch, None);
        let intent = PidRecord {
            launch: Some("token".into()),
            ..PidRecord::default()
        };
        write_record(dir.path(), &intent).unwrap();
        assert_eq!(read_record(dir.path()).unwrap(), Some(intent));
        assert_eq!(recorded(dir.path()).unwrap(), None);
    }

    #[tokio::test]
    async fn a_process_inherits_no_descriptor_the_agent_left_open() {
        use std::os::fd::{FromRawFd, OwnedFd};
        let dir = tempfile::tempdir().unwrap();
        // As `flock file khutulun agent` would leave one: open across exec.
        // (F_DUPFD makes a copy without close-on-exec, numbered past what `ls` would open.)
        let held = std::fs::File::create(dir.path().join("held")).unwrap();
        let fd = nix::fcntl::fcntl(&held, nix::fcntl::FcntlArg::F_DUPFD(100)).unwrap();
        // SAFETY: F_DUPFD just made this descriptor, and nothing else owns it.
        let _copy = unsafe { OwnedFd::from_raw_fd(fd) };
        // What the agent does as it starts.
        close_inherited_descriptors_on_exec();
        let spec = crate::delegates::testing::spec(
            "fds",
            "lister-0",
            crate::delegates::profile::types::PROCESS,
            serde_json::json!({"command": "ls", "arguments": ["/proc/self/fd"]}),
            vec![],
        );
        let mut plan = LaunchPlan::of(&spec).unwrap();
        plan.state_dir = dir.path().to_owned();
        plan.log_file = dir.path().join("output.log");
        plan.working_directory = dir.path().to_owned();
        let (mut child, _) = spawn(&plan, &new_launch_token()).unwrap();
        assert!(child.wait().await.unwrap().success());
        let listed = std::fs::read_to_string(&plan.log_file).unwrap();
        let open: Vec<&str> = listed.split_whitespace().collect();
        // 0, 1, 2, and the directory ls itself opened to list them.
        assert!(open.len() <= 4, "{open:?}");
        assert!(!open.contains(&fd.to_string().as_str()), "{open:?}");
    }

    #[tokio::test]
    async fn a_start_is_found_by_its_launch_token_and_leaves_evidence_that_it_began() {
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::delegates::testing::spec(
            "adopt",
            "worker-0",
            crate::delegates::profile::types::PROCESS,
            serde_json::json!({"command": "sleep", "arguments": ["600"]}),
            vec![],
        );
        let mut plan = LaunchPlan::of(&spec).unwrap();
        plan.state_dir = dir.path().to_owned();
        plan.log_file = dir.path().join("output.log");
        plan.working_directory = dir.path().to_owned();
        assert!(!was_forked(dir.path()));
        let token = new_launch_token();
        let (mut child, identity) = spawn(&plan, &token).unwrap();
        // The process notes itself before its program runs: soon, and bounded.
        for _ in 0..200 {
            if was_forked(dir.path()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(was_forked(dir.path()));
        let noted = std::fs::read_to_string(forked_file(dir.path())).unwrap();
        assert_eq!(noted, identity.pid.to_string());
        // Found by its token once the shell that noted it became the program (while the
        // kernel swaps the one for the other, /proc may show no environment).
        let mut found = None;
        for _ in 0..200 {
            found = find_launched(&token).unwrap();
            if found.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(found, Some(identity));
        assert_eq!(find_launched(&new_launch_token()).unwrap(), None);
        terminate(identity).await.unwrap();
        child.wait().await.unwrap();
        forget(dir.path());
        assert!(!was_forked(dir.path()));
    }

    #[tokio::test]
    async fn a_group_whose_leader_is_an_unreaped_zombie_ends_once_nothing_else_of_it_runs() {
        // The leader (`exec sleep 31`) has a child in its group (`sleep 30`); nobody reaps
        // the leader, so after the stop it stays a zombie, and the group is not empty.
        let child = tokio::process::Command::new("sh")
            .args(["-c", "sleep 30 & exec sleep 31"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap() as i32;
        let identity = ProcessIdentity::read(pid, true).unwrap().unwrap();
        let member = async {
            loop {
                let members = group_members(pid).unwrap();
                if members.len() == 2 {
                    return members;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), member)
            .await
            .expect("the leader and its child run");
        tokio::time::timeout(Duration::from_secs(10), terminate(identity))
            .await
            .expect("a stop ends without waiting out its grace")
            .unwrap();
        assert!(group_members(pid).unwrap().is_empty());
        assert!(!group_is_empty(pid), "the leader is a zombie until reaped");
        drop(child);
    }
}
