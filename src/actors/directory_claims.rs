//! The directory delegate's claim tables, kept in the store at `directories/<host>.yaml`.

use super::port_ledger::{read_table, update_table};
use crate::delegates::directory::{ClaimTable, DirectoryClaims};
use crate::delegates::protocol::DelegateError;
use crate::state::{Layout, Store};

/// [`DirectoryClaims`] over the shared store: each change is one fenced transaction under the
/// store's exclusive lock, so two agents (or two deploys) never give one path to two
/// instances, and claims outlive agent restarts.
#[derive(Clone, Debug)]
pub struct StoreDirectoryClaims {
    store: Store,
}

impl StoreDirectoryClaims {
    /// The claims of `store`.
    pub fn new(store: Store) -> Self {
        StoreDirectoryClaims { store }
    }
}

impl DirectoryClaims for StoreDirectoryClaims {
    fn update(
        &self,
        host: &str,
        change: &mut dyn FnMut(&mut ClaimTable) -> Result<(), DelegateError>,
    ) -> Result<(), DelegateError> {
        update_table(&self.store, Layout::directory_claims, host, change)
    }

    fn read(&self, host: &str) -> Result<ClaimTable, DelegateError> {
        read_table(&self.store, Layout::directory_claims, host)
    }
}
