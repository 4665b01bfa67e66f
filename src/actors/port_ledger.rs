//! The ipport delegate's port tables, kept in the store at `ports/<host>.yaml`, and the
//! per-host table helpers other ledgers share.

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::delegates::ipport::{PortLedger, PortTable};
use crate::delegates::protocol::DelegateError;
use crate::state::{Layout, Store, StoreError};

/// A [`PortLedger`] over the shared store: each change is one fenced transaction under the
/// store's exclusive lock, so two agents (or two deploys) never hand out the same port.
#[derive(Clone, Debug)]
pub struct StorePortLedger {
    store: Store,
}

impl StorePortLedger {
    /// The ledger of `store`.
    pub fn new(store: Store) -> Self {
        StorePortLedger { store }
    }
}

fn failed(error: StoreError) -> DelegateError {
    DelegateError::Failed(error.to_string())
}

/// Loads the table of `host` at `place(layout, host)` in one fenced transaction, runs
/// `change` on it and saves it only when `change` succeeds.
pub(super) fn update_table<T: Serialize + DeserializeOwned + Default>(
    store: &Store,
    place: fn(&Layout, &str) -> PathBuf,
    host: &str,
    change: &mut dyn FnMut(&mut T) -> Result<(), DelegateError>,
) -> Result<(), DelegateError> {
    crate::state::check_name("host", host).map_err(failed)?;
    let mut outcome = Ok(());
    store
        .transact(|tx| {
            let path = place(tx.layout(), host);
            let mut table: T = tx.read(&path)?.unwrap_or_default();
            match change(&mut table) {
                Ok(()) => tx.put(&path, &table),
                Err(error) => {
                    outcome = Err(error);
                    Ok(())
                }
            }
        })
        .map_err(failed)?;
    outcome
}

/// Reads the table of `host` at `place(layout, host)` as it is now (empty if it has none).
pub(super) fn read_table<T: DeserializeOwned + Default>(
    store: &Store,
    place: fn(&Layout, &str) -> PathBuf,
    host: &str,
) -> Result<T, DelegateError> {
    crate::state::check_name("host", host).map_err(failed)?;
    Ok(store
        .read(&place(store.layout(), host))
        .map_err(failed)?
        .unwrap_or_default())
}

impl PortLedger for StorePortLedger {
    fn update(
        &self,
        host: &str,
        change: &mut dyn FnMut(&mut PortTable) -> Result<(), DelegateError>,
    ) -> Result<(), DelegateError> {
        update_table(&self.store, Layout::ports, host, change)
    }

    fn read(&self, host: &str) -> Result<PortTable, DelegateError> {
        read_table(&self.store, Layout::ports, host)
    }
}
