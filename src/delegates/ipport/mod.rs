//! The ipport delegate: TCP and UDP ports reserved per host, and known IP endpoints.
//!
//! A `Port` instance gets a port of its host: the one its `port` property asks for, or (with
//! 0) a free one from the host's configured range. A host never hands out one port twice, also
//! when two deploys run at once, because every host's reservations are one table in the shared
//! store (`ports/<host>.yaml`), changed only under the store's exclusive lock, by the agent's
//! LockManager ([`PortLedger`]).
//! Before a port is handed out it is bound once, to be sure no program outside Khutulun uses
//! it. The instance reports `address` and `port`; processes that require it get them as
//! environment variables. Deleting the instance releases the port.
//!
//! An `ingress` port is also opened in Firewalld when it starts and closed when it is deleted,
//! by the firewalld delegate ([`crate::delegates::firewalld`]), which this delegate asks by
//! message. When no Firewalld answers, the port is refused before anything is reserved (or,
//! with the agent's `--ingress-without-firewalld`, reserved without exposure, which its
//! `firewalld_note` attribute says).
//!
//! An `IPEndpoint` reserves nothing: it reports the address and port its properties give.
//!
//! Other delegates (containers publishing a port) ask with [`IpPortMsg::Reserve`] and
//! [`IpPortMsg::Release`].

mod actor;
mod ingress;
mod ledger;
mod message;
mod table;

pub use actor::{IpPortConfig, IpPortDelegate};
pub use ledger::{MemoryPortLedger, PortLedger};
pub use message::IpPortMsg;
pub use table::{PortReservation, PortTable, is_port_free};
