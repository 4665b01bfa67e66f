//! The ipport delegate's port tables, kept in the store at `ports/<host>.yaml`.

use crate::delegates::ipport::{PortLedger, PortTable};
use crate::delegates::protocol::DelegateError;
use crate::state::{Store, StoreError};

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

impl PortLedger for StorePortLedger {
    fn update(
        &self,
        host: &str,
        change: &mut dyn FnMut(&mut PortTable) -> Result<(), DelegateError>,
    ) -> Result<(), DelegateError> {
        crate::state::check_name("host", host).map_err(failed)?;
        let mut outcome = Ok(());
        self.store
            .transact(|tx| {
                let path = tx.layout().ports(host);
                let mut table: PortTable = tx.read(&path)?.unwrap_or_default();
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

    fn read(&self, host: &str) -> Result<PortTable, DelegateError> {
        crate::state::check_name("host", host).map_err(failed)?;
        Ok(self
            .store
            .read(&self.store.layout().ports(host))
            .map_err(failed)?
            .unwrap_or_default())
    }
}
