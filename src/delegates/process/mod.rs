//! The process delegate: runs a bare executable or script for each `Process` instance.
//!
//! Where a systemd user manager answers, the process runs as a transient user unit (the
//! process delegate asks the systemd delegate for it), so `systemctl --user status
//! khutulun-<service>-<instance>` shows it and systemd restarts it per the template's
//! `restart` policy. Otherwise the agent supervises it: the process runs in its own process
//! group with its output appended to `<state_dir>/output.log`, is started again per its
//! policy when it exits, and is recorded by pid and start time, in its attributes and in
//! `<state_dir>/process.pid` (rewritten at every start, so `Adopt`, `Stop` and `Delete` find
//! the process that runs now even when the attributes they get are out of date). Stopping it
//! stops its whole process group, and what an ended process leaves in its group is stopped
//! before it is started again. Either way it keeps running when the agent stops or crashes;
//! a restarted agent's `Adopt` re-attaches to it (and starts it again if it died meanwhile
//! and its policy says so).
//!
//! What the process gets from its requirements: for each connection to an endpoint,
//! `<NAME>_HOST` and `<NAME>_PORT`; for each attached directory, `<NAME>_PATH`, and the first
//! one as its working directory unless the template sets one (NAME is the requirement's name
//! in upper case, or the relationship's `variable`). The template's `environment` comes last
//! and wins.
//!
//! Attributes: `supervisor` (`systemd` or `agent`), `pid`, `unit` (systemd), `start_time`
//! (agent), `restarts`, `log`.

mod actor;
mod launch;
mod message;
mod supervisor;

pub use actor::{ProcessConfig, ProcessDelegate, SupervisorChoice};
pub use launch::{LaunchPlan, find_program};
pub use message::ProcessMsg;
pub use supervisor::ProcessIdentity;
