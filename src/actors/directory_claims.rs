//! The directory delegate's claim tables, kept in the store at `directories/<host>.yaml`:
//! changes go through the LockManager, reads go to the store.

use super::lock_manager::{HostTable, LockManagerRef};
use super::port_ledger::{read_table, update_table};
use crate::delegates::directory::{ClaimTable, DirectoryClaims};
use crate::delegates::tables::{TableChange, TableFuture};
use crate::state::Store;

/// [`DirectoryClaims`] over the shared store: each change is one fenced transaction of the
/// LockManager, under the store's exclusive lock, so two agents (or two deploys) never give
/// one path to two instances, and claims outlive agent restarts.
#[derive(Clone, Debug)]
pub struct StoreDirectoryClaims {
    store: Store,
    lock_manager: LockManagerRef,
}

impl StoreDirectoryClaims {
    /// The claims of `store`, whose changes `lock_manager` writes.
    pub fn new(store: Store, lock_manager: LockManagerRef) -> Self {
        StoreDirectoryClaims {
            store,
            lock_manager,
        }
    }
}

impl DirectoryClaims for StoreDirectoryClaims {
    fn update<'a>(&'a self, host: &'a str, change: TableChange<ClaimTable>) -> TableFuture<'a, ()> {
        Box::pin(update_table(
            &self.lock_manager,
            HostTable::DirectoryClaims,
            host,
            change,
        ))
    }

    fn read<'a>(&'a self, host: &'a str) -> TableFuture<'a, ClaimTable> {
        Box::pin(read_table(&self.store, HostTable::DirectoryClaims, host))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ractor::Actor;

    use super::*;
    use crate::actors::lock_manager::LockManager;

    #[tokio::test]
    async fn claims_are_written_by_the_lock_manager() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (actor, _) = Actor::spawn(None, LockManager, store.clone())
            .await
            .unwrap();
        let claims = StoreDirectoryClaims::new(store.clone(), LockManagerRef(actor.clone()));
        claims
            .update(
                "alpha",
                Box::new(|table: &mut ClaimTable| {
                    table
                        .claim(
                            "default/site/data-0",
                            Path::new("/srv/site"),
                            false,
                            "alpha",
                        )
                        .map_err(|e| {
                            crate::delegates::protocol::DelegateError::Failed(e.to_string())
                        })
                }),
            )
            .await
            .unwrap();
        let stored: ClaimTable = store
            .read(&store.layout().directory_claims("alpha"))
            .unwrap()
            .unwrap();
        assert_eq!(stored.claims[0].owner, "default/site/data-0");
        assert_eq!(claims.read("alpha").await.unwrap(), stored);
        actor.stop(None);
    }
}
