//! The nspawn delegate: runs each `SystemContainer` instance with `systemd-nspawn`.
//!
//! A system container is, to the host, one process: `systemd-nspawn` with the instance's root
//! filesystem. So this delegate works out that command line ([`MachinePlan`]) and asks the
//! process delegate to run it as a systemd user unit (`systemctl --user status
//! khutulun-<service>-<instance>`), restarted per the template's `restart` policy, outliving
//! the agent and adopted again after a restart. Only a unit will do: when `systemd-nspawn` is
//! killed, what runs inside the container lives on (it has its own session), and only the
//! unit's cgroup stops it before the container is started again. Where no user manager
//! answers, a system container is refused with that reason.
//!
//! The container shares the host's network, so a server in it listens on the port its
//! connection reserved. Its requirements reach it as they reach a process: `<NAME>_HOST`,
//! `<NAME>_PORT` and `<NAME>_PATH` variables (`--setenv`), and every attached directory bound
//! at the same path (read-only when the relationship says so). With a `command` the program
//! runs as PID 2 under a minimal init, in the first attached directory; without one the
//! container boots its own init. `ephemeral` puts a throw-away overlay on the image.
//!
//! The image is a root filesystem directory on the host, or a `SystemImage` artifact of the
//! node: a tar archive (plain, gzip or xz; on disk or inside the template's CSAR) unpacked into
//! the instance's private directory at Create and removed with it.
//!
//! Machines are not registered with systemd-machined (`--register=no`): these hosts need not
//! run systemd as PID 1. Attributes: those of the process delegate (`unit`, `pid`, `log`, …)
//! and `machine`, the container's name and host name.

mod actor;
mod machine;
mod message;

pub use actor::{NspawnConfig, NspawnDelegate};
pub use machine::{MachinePlan, machine_name};
pub(crate) use machine::{image_archive, unit_process_spec};
pub use message::NspawnMsg;
