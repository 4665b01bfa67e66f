//! Where port tables live: the seam between the ipport delegate and the shared store.

use super::table::PortTable;
use crate::delegates::tables::{MemoryTables, TableChange, TableFuture};

/// Keeps every host's [`PortTable`]. The runtime implements it over the shared store
/// (`ports/<host>.yaml`, changed by the LockManager in one fenced, atomic write under the
/// store's exclusive lock); the simulator and unit tests use [`MemoryPortLedger`].
pub trait PortLedger: Send + Sync + 'static {
    /// Loads `host`'s table (empty if it has none), runs `change` on it, and saves it
    /// atomically if `change` returned `Ok`; nothing is written when it fails. The change is
    /// made at most once, also when the caller stops waiting for it.
    fn update<'a>(&'a self, host: &'a str, change: TableChange<PortTable>) -> TableFuture<'a, ()>;

    /// Reads `host`'s table as it is now (empty if it has none).
    fn read<'a>(&'a self, host: &'a str) -> TableFuture<'a, PortTable>;
}

/// Port tables in memory, shared by whoever holds the ledger: for the simulator and tests
/// (reservations do not survive the process).
pub type MemoryPortLedger = MemoryTables<PortTable>;

impl PortLedger for MemoryPortLedger {
    fn update<'a>(&'a self, host: &'a str, change: TableChange<PortTable>) -> TableFuture<'a, ()> {
        let result = self.change(host, change);
        Box::pin(std::future::ready(result))
    }

    fn read<'a>(&'a self, host: &'a str) -> TableFuture<'a, PortTable> {
        Box::pin(std::future::ready(Ok(self.table(host))))
    }
}
