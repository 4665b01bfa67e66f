//! The firewalld delegate: opens the `ingress` ports of this host in Firewalld, for the
//! ipport delegate, which reserves them and asks by message ([`FirewalldMsg`]).
//!
//! It talks to `org.fedoraproject.FirewallD1` on the system bus with zbus (the agent's
//! `--firewalld-bus`, else `DBUS_SYSTEM_BUS_ADDRESS`, else the usual socket), every call with a
//! deadline. A port is opened in the agent's zone (`--firewalld-zone`, else Firewalld's default
//! zone) when its instance starts: in the running firewall, and also in the permanent
//! configuration when the port's `permanent` property says so. It is what `firewall-cmd
//! --zone Z --add-port 8080/tcp` (and `--permanent`) would do, and `firewall-cmd --list-ports`
//! shows it.
//!
//! Khutulun's openings are never confused with the administrator's: before opening, the
//! delegate writes what it is about to open in the instance's private directory
//! (`firewalld.json`), and it reports the same as the instance's attributes (`firewalld_zone`,
//! `firewalld_port`, `firewalld_opened`, and `firewalld_note` when something was open before).
//! A port already open in that zone is the administrator's: it is not taken over, and deleting
//! the instance leaves it open. Opening again (an agent restart adopting the instance) finds
//! its own opening and duplicates nothing, and re-opens what a reload of Firewalld removed.
//! Deleting closes exactly what Khutulun opened.
//!
//! The decisions are pure ([`plan`]) and table-tested; [`record`] holds what was opened.

mod actor;
mod bus;
mod message;
pub mod plan;
pub mod record;

pub use actor::{FirewalldConfig, FirewalldDelegate};
pub use bus::{CALL_DEADLINE, FirewalldBus};
pub use message::FirewalldMsg;
pub use record::{FirewallPort, Ingress, Layers, Opening};
