//! Delegates make node instances real: one module per resource kind, each behind a typed
//! message protocol.
//!
//! - [`protocol`]: the lifecycle every delegate answers ([`protocol::DelegateMsg`]: Create,
//!   Start, Status, Adopt, Stop, Delete, Logs), what it is told ([`protocol::InstanceSpec`])
//!   and [`protocol::delegate_for`], which picks the delegate of a node type.
//! - [`profile`]: the typed mirror of Khutulun's TOSCA profile (`profiles/khutulun/`): the type
//!   names the code dispatches on and the property sets it reads.
//! - [`process`]: bare executables and scripts, as systemd user units where a user manager
//!   answers, supervised by the agent otherwise; they outlive the agent and are adopted again.
//! - [`systemd`]: transient units of the systemd user manager over D-Bus (for the process
//!   delegate).
//! - [`ipport`]: TCP/UDP ports reserved per host (tables in the shared store, behind
//!   [`ipport::PortLedger`]) and known IP endpoints.
//! - [`nspawn`]: system containers with `systemd-nspawn`, run by the process delegate.
//! - [`firewalld`]: ingress ports opened in Firewalld over the system bus (for the ipport
//!   delegate), never confused with the administrator's own openings.
//! - [`directory`]: local directories, persistent or temporary, with owner and mode.
//! - [`tables`]: the per-host tables of the ipport and directory delegates, and how a change
//!   to one is handed to whoever keeps them (the LockManager, in the agent).
//! - [`naming`]: the one rule for the names of units, containers, pods and machines.
//! - [`wiring`]: what a workload of any kind gets from its requirements (variables, directories).
//! - [`podman`]: OCI containers through Podman's API socket, named and labelled so `podman ps`
//!   shows them and a restarted agent finds them again.
//! - [`docker`]: the same containers, and pods as containers sharing one network, through a
//!   Docker Engine API (dockerd's, or Podman's compatible one).
//! - [`oci`]: the container lifecycle the podman and docker delegates share, and the Kata
//!   check.
//! - [`libvirt`]: virtual machines as libvirt domains, booting a kernel or a disk image, with
//!   a cloud-init seed, on QEMU's user-mode network or a host bridge.
//! - [`delegation`]: which delegate runs a node (a Delegation policy's, else the first of its
//!   type's that is available on the host).
//!
//! Each delegate actor's own message enum wraps the lifecycle and adds what other delegates
//! may ask of it (the process delegate asks the systemd delegate for a unit); no delegate
//! reaches into another's state. [`Delegates`] spawns them all under the runtime's supervisor
//! and hands out the one for a [`protocol::DelegateKind`].

pub mod delegation;
pub mod directory;
pub mod distrobox;
pub mod docker;
mod engine_msg;
pub mod firewalld;
pub mod ipport;
pub mod libvirt;
pub mod naming;
pub mod nspawn;
pub mod oci;
pub mod pauses;
pub mod podman;
pub mod process;
pub mod profile;
pub mod protocol;
mod registry;
pub mod systemd;
pub mod tables;
#[cfg(test)]
mod testing;
pub mod wiring;

pub use registry::{DelegateFactory, Delegates, DelegatesConfig};
