//! Where port tables live: the seam between the ipport delegate and the shared store.

use std::collections::HashMap;
use std::sync::Mutex;

use super::table::PortTable;
use crate::delegates::protocol::DelegateError;

/// Keeps every host's [`PortTable`]. The runtime implements it over the shared store
/// (`ports/<host>.yaml`, changed under the store's exclusive lock with a fenced, atomic write);
/// the simulator and unit tests use [`MemoryPortLedger`].
pub trait PortLedger: Send + Sync + 'static {
    /// Loads `host`'s table (empty if it has none) under the store's exclusive lock, runs
    /// `change` on it, and saves it atomically if `change` returned `Ok`; nothing is written
    /// when it fails.
    fn update(
        &self,
        host: &str,
        change: &mut dyn FnMut(&mut PortTable) -> Result<(), DelegateError>,
    ) -> Result<(), DelegateError>;

    /// Reads `host`'s table as it is now (empty if it has none).
    fn read(&self, host: &str) -> Result<PortTable, DelegateError>;
}

/// Port tables in memory, shared by whoever holds the ledger: for the simulator and tests
/// (reservations do not survive the process).
#[derive(Debug, Default)]
pub struct MemoryPortLedger {
    tables: Mutex<HashMap<String, PortTable>>,
}

impl PortLedger for MemoryPortLedger {
    fn update(
        &self,
        host: &str,
        change: &mut dyn FnMut(&mut PortTable) -> Result<(), DelegateError>,
    ) -> Result<(), DelegateError> {
        let mut tables = self.tables.lock().expect("port ledger lock poisoned");
        let mut table = tables.get(host).cloned().unwrap_or_default();
        change(&mut table)?;
        tables.insert(host.to_owned(), table);
        Ok(())
    }

    fn read(&self, host: &str) -> Result<PortTable, DelegateError> {
        let tables = self.tables.lock().expect("port ledger lock poisoned");
        Ok(tables.get(host).cloned().unwrap_or_default())
    }
}
