//! Delegates make node instances real: one module per resource kind, each behind a typed
//! message protocol.
//!
//! The runtime drives every delegate with the same lifecycle messages ([`protocol`]); each
//! delegate actor's own message enum adds what other delegates may ask of it (the process
//! delegate asks the systemd delegate for a unit). [`Delegates`] holds the actors of one host.

pub mod directory;
pub mod ipport;
pub mod process;
pub mod profile;
pub mod protocol;
mod registry;
pub mod systemd;

pub use registry::{Delegates, DelegatesConfig};
