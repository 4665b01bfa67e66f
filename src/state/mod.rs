//! The shared store: a directory every host mounts, written only under an exclusive lock and
//! only by atomic rename.
//!
//! Layout (the names are a contract between hosts and versions, see [`layout`]):
//!
//! ```text
//! <root>/cluster.yaml                      identity, protocol version
//! <root>/cluster-secret.yaml               the key hosts authenticate each other with
//! <root>/hosts/<host>.yaml                 host records
//! <root>/registry/{profiles,templates,delegates}/<namespace>/<name>/…
//! <root>/services/<namespace>/<service>/{service.yaml,plan.yaml,instances/<id>.yaml}
//! <root>/ports/<host>.yaml                 port reservations
//! <root>/directories/<host>.yaml           directory paths claimed, one owner each
//! <root>/locks/…                           lock files and the fencing epoch
//! ```
//!
//! Every file carries a `format_version` ([`document`]); a file that does not parse, or that a
//! newer Khutulun wrote, is reported with its path and never overwritten. Writers go through
//! [`Store::transact`]: it takes the store's exclusive `flock`, reads the fencing epoch, lets the
//! caller read and stage writes, and commits only if the epoch is still the one it started from
//! (a writer whose lock silently lapsed — an NFS lease — is refused), bumping it. Readers read
//! whole files, which only ever appear by rename.
//!
//! The filesystem and the clock are seams ([`Filesystem`], [`Clock`]): the simulator replaces
//! them; [`RealFs`] and [`SystemClock`] are the production implementations.
//!
//! ```no_run
//! use khutulun::state::{Store, records::HostRecord};
//! let store = Store::open("/tmp/khutulun-store").unwrap();
//! store.transact(|tx| tx.put(&store.layout().host("alpha"), &HostRecord::new("alpha", "now"))).unwrap();
//! ```

mod artifact_cache;
pub mod clock;
mod cluster_secret;
pub mod document;
mod error;
pub mod fs;
pub mod layout;
pub mod lock_check;
mod member_state;
mod parsed;
pub mod records;
mod registry;
mod reserve;
pub use services::{InstanceChange, ServiceView};
mod services;
mod store;
mod updates;

pub use artifact_cache::{ArtifactCache, download_limits};
pub use clock::{Clock, SystemClock};
pub use cluster_secret::ClusterSecret;
pub use error::StoreError;
pub use fs::{Filesystem, HeldLock, RealFs};
pub use layout::{Layout, RegistryKind, check_name};
pub use member_state::MemberState;
pub use store::{PROTOCOL_VERSION, Store, Transaction};
