//! The actor runtime: the root supervisor, the host actor the CLI talks to, the lock manager
//! that alone writes the shared store, service and node-instance actors, and delegate actors.
//!
//! ```text
//! LockManager                        the only writer of the store (spawned first by the agent)
//! Root ─ Host ─┬─ Membership         SWIM over UDP, when the agent has --listen
//!              ├─ Peer               host-to-host messages over ractor_cluster (same)
//!              ├─ delegates          process, systemd, ipport, directory… (src/delegates)
//!              └─ Service (per service)
//!                  └─ NodeInstance (per node instance on this host)
//! ```
//!
//! Everything that writes the store sends its write to the LockManager: the Host and the
//! Service and NodeInstance actors through [`lock_manager::LockManagerRef`], the ipport and
//! directory delegates through their ledgers ([`StorePortLedger`], [`StoreDirectoryClaims`]),
//! which hold a handle to it. Every actor keeps only what it can reload from the store, so a
//! supervisor restarts a crashed child by spawning it again: it reads its facts back and
//! carries on.

mod context;
mod directory_claims;
mod error;
pub mod health;
pub mod host;
pub mod lock_manager;
pub mod membership;
pub mod node_instance;
pub mod peer;
mod port_ledger;
pub mod root;
pub mod scheduler;
pub mod service;
mod status;
mod tosca_bridge;

pub use context::{Context, RuntimeContext};
pub use directory_claims::StoreDirectoryClaims;
pub use error::RuntimeError;
pub use port_ledger::StorePortLedger;
pub use status::{service_events, service_status};
