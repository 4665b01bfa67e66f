//! The directory delegate: local directories, persistent or temporary, with an owner and mode;
//! and networked directories (sshfs, NFS), mounted on each host where an instance attaches one.
//!
//! Local: `Create` makes the directory (and its parents), sets its owner, group and mode, and
//! reports its `path`; `Delete` removes a temporary directory with its content and keeps a
//! persistent one. A temporary directory must be new or empty when it is created, so that
//! deleting it can never remove files Khutulun did not put there. Every directory claims its
//! path on its host first ([`DirectoryClaims`]): one instance per path, and no directory
//! inside another instance's temporary one, so deleting one instance never removes another's
//! files.
//!
//! Networked: a `NetworkDirectory` instance checks its source and options and reports them;
//! the mounts are made for the workloads that attach it, on their own hosts
//! ([`DirectoryMsg::Attach`], asked by the runtime before such a workload is made, and
//! [`DirectoryMsg::Detach`] after it is deleted). Workloads of one host share one mount,
//! which goes with the last of them; a restarted agent finds its mounts in the mount table
//! and adopts them. The mount and unmount commands are built by [`mount_command`] and
//! [`unmount_command`].

mod actor;
mod attach;
mod claims;
mod holders;
mod message;
mod mount;
mod mountinfo;
mod mounts;
mod network;
mod ops;

pub use actor::{DirectoryConfig, DirectoryDelegate};
pub use attach::MOUNT_DEADLINE;
pub use claims::{
    ClaimError, ClaimTable, DirectoryClaim, DirectoryClaims, MemoryDirectoryClaims, canonical,
};
pub use message::DirectoryMsg;
pub use mount::{
    CommandLine, MountError, MountSource, Protocol, default_mount_point, mount_command,
    unmount_command,
};
pub use network::NetworkPlan;
