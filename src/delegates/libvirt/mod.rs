//! The libvirt delegate: runs each `VirtualMachine` instance as a libvirt domain named
//! `khutulun-<namespace>.<service>.<instance>` (`virsh list` shows it), through the libvirt
//! library (the `virt` crate), as a sysadmin would with `virsh define` and `virsh start`. Only
//! the helper process `khutulun-libvirt` (src/bin/khutulun-libvirt) links that library; the
//! agent runs it for each call ([`helper`]).
//!
//! The domain boots a kernel and initrd directly, or the instance's own copy of a disk image
//! (a qcow2 overlay in its directory; the image stays untouched), with the node's memory and
//! CPUs. Its serial console is appended to `serial.log` in the instance's directory, which
//! `service logs` shows. It has user-mode networking, and each reserved `Port` it connects to
//! is forwarded from the host's address and port to the same port of the guest. Its metadata
//! names the instance, so a domain of that name that Khutulun did not make is never touched.
//!
//! libvirt keeps the domain running when the agent stops, and starts the guest again when it
//! powers off or crashes as the node's `restart` says; `Adopt` finds it again by name. `Stop`
//! powers it off at once (`virsh destroy`); `Delete` undefines it and removes its directory.
//!
//! Guests run with KVM where `/dev/kvm` exists, else emulated by QEMU alone (TCG); the agent's
//! `--vm-accelerator` chooses. Attributes: `domain` and `log`.

mod actor;
mod domain;
pub mod helper;
mod message;

pub use actor::{LibvirtConfig, LibvirtDelegate, SYSTEM_URI};
pub use domain::{Accelerator, DomainPlan, Source};
pub use message::LibvirtMsg;
