//! The distrobox delegate: runs each `SystemContainer` a Delegation policy gives it as a
//! distrobox, a pristine Podman container sharing the user's home, network and devices.
//!
//! Create imports the box's image (a root filesystem archive artifact or directory, tagged
//! `localhost/<box>:khutulun`; or an image reference Podman resolves) and runs `distrobox
//! create`. The node's command then runs inside the box as `distrobox enter --name <box> --
//! COMMAND`, which the process delegate runs as a systemd user unit: `systemctl --user status`
//! shows it, it outlives the agent and is adopted again, and stopping the unit stops the command
//! (the exec'd process lives in the unit's cgroup). Stop also stops the box; Delete removes the
//! box and its imported image. The box carries its instance's name as a label: a box of that
//! name Khutulun did not make is never touched.
//!
//! Distrobox refuses to run as root, so this delegate works for an agent run by a regular user
//! with its own user manager and rootless Podman. The box shares the host's network: a server in
//! it listens on the port its connection reserved. Requirements reach the command as a process's
//! do (`<NAME>_PORT`, …, passed through by `distrobox enter`); attached directories are bound at
//! the same path, and the first is the command's working directory.

mod actor;
mod engine;
mod message;
mod plan;

pub use actor::{DistroboxConfig, DistroboxDelegate};
pub use message::DistroboxMsg;
pub use plan::{BoxName, BoxPlan, ImageSource};
