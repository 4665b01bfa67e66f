//! The process delegate: runs a bare executable or script for each `Process` instance, and
//! HAProxy for each `LoadBalancer` (`balancer.rs`: its configuration is written from its
//! requirements, then it runs as any process).
//!
//! Where a systemd user manager answers, the process runs as a transient user unit (the
//! process delegate asks the systemd delegate for it), so `systemctl --user status
//! khutulun-<service>-<instance>` shows it and systemd restarts it per the template's
//! `restart` policy. Otherwise the agent supervises it: the process runs in its own process
//! group with its output appended to `<state_dir>/output.log`, is started again per its
//! policy when it exits, and is recorded by pid and start time, in its attributes and in
//! `<state_dir>/process.pid`. Stopping it stops its whole process group, and what an ended
//! process leaves in its group is stopped before it is started again. Either way it keeps
//! running when the agent stops or crashes.
//!
//! Adoption is exact: what identifies an instance's workload is recorded before it starts, so
//! an agent that dies at any point leaves at most one copy, which the next agent finds. Under
//! the agent, `process.pid` first holds the start's launch token (also in the process's
//! `KHUTULUN_LAUNCH` variable), then its pid and start time, then how it ended; the child
//! writes its pid to `process.forked` before exec, so a start the agent never confirmed is
//! known to have begun. Under systemd, the unit's name is fixed by the instance, and
//! `unit.started` (written by systemd as the unit starts) says that it ran. `Start` and
//! `Adopt` both look there first: a live process or unit is adopted, never doubled; one that
//! ended is started again only when its policy says so (a `restart: "no"` process that ended
//! stays ended). Stops run beside the actor, so a slow one holds up no other instance.
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
mod balancer;
mod launch;
mod message;
mod supervisor;

pub use actor::{ProcessConfig, ProcessDelegate, SupervisorChoice};
pub use launch::{LaunchPlan, find_program};
pub use message::ProcessMsg;
pub use supervisor::{ProcessIdentity, close_inherited_descriptors_on_exec};
