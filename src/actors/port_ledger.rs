//! The ipport delegate's port tables, kept in the store at `ports/<host>.yaml`, and the
//! per-host table helpers other ledgers share: changes go through the LockManager, reads go
//! to the store.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::RuntimeError;
use super::lock_manager::{HostTable, LockManagerRef};
use crate::delegates::ipport::{PortLedger, PortTable};
use crate::delegates::protocol::DelegateError;
use crate::delegates::tables::{TableChange, TableFuture};
use crate::state::Store;

/// How long a delegate waits for the LockManager to write a table change; a delegate
/// operation that waits longer fails and may be tried again (a change made late is harmless:
/// reserving and claiming again for the same owner give what it already holds).
pub const TABLE_WRITE_DEADLINE: Duration = Duration::from_secs(30);

/// A [`PortLedger`] over the shared store: each change is one fenced transaction of the
/// LockManager, under the store's exclusive lock, so two agents (or two deploys) never hand
/// out the same port.
#[derive(Clone, Debug)]
pub struct StorePortLedger {
    store: Store,
    lock_manager: LockManagerRef,
}

impl StorePortLedger {
    /// The ledger of `store`, whose changes `lock_manager` writes.
    pub fn new(store: Store, lock_manager: LockManagerRef) -> Self {
        StorePortLedger {
            store,
            lock_manager,
        }
    }
}

/// Has the LockManager run `change` on `host`'s `table` and save it when it succeeds; waits
/// at most [`TABLE_WRITE_DEADLINE`].
pub(super) async fn update_table<T>(
    lock_manager: &LockManagerRef,
    table: HostTable,
    host: &str,
    change: TableChange<T>,
) -> Result<(), DelegateError>
where
    T: Serialize + DeserializeOwned + Default + 'static,
{
    lock_manager
        .update_table(table, host, TABLE_WRITE_DEADLINE, change)
        .await
        .map_err(|error| match error {
            RuntimeError::WriteUnconfirmed { .. } => DelegateError::Failed(error.to_string()),
            other => DelegateError::Failed(format!(
                "could not change the {table} of host {host}: {other}"
            )),
        })?
}

/// Reads `host`'s `table` as it is now (empty if it has none), off the caller's thread.
pub(super) async fn read_table<T>(
    store: &Store,
    table: HostTable,
    host: &str,
) -> Result<T, DelegateError>
where
    T: DeserializeOwned + Default + Send + 'static,
{
    let (store, host) = (store.clone(), host.to_owned());
    let read = store.clone().spawn_blocking(move || {
        crate::state::check_name("host", &host)?;
        store.read(&table.path(store.layout(), &host))
    });
    let stored = read
        .await
        .map_err(|e| DelegateError::Failed(format!("reading the {table} failed: {e}")))?
        .map_err(|error| DelegateError::Failed(error.to_string()))?;
    Ok(stored.unwrap_or_default())
}

impl PortLedger for StorePortLedger {
    fn update<'a>(&'a self, host: &'a str, change: TableChange<PortTable>) -> TableFuture<'a, ()> {
        Box::pin(update_table(
            &self.lock_manager,
            HostTable::Ports,
            host,
            change,
        ))
    }

    fn read<'a>(&'a self, host: &'a str) -> TableFuture<'a, PortTable> {
        Box::pin(read_table(&self.store, HostTable::Ports, host))
    }
}

#[cfg(test)]
mod tests {
    use ractor::Actor;

    use super::*;
    use crate::actors::lock_manager::LockManager;
    use crate::delegates::profile::Protocol;

    fn reserve(owner: &'static str, port: u16) -> TableChange<PortTable> {
        Box::new(move |table: &mut PortTable| {
            table
                .reserve(
                    owner,
                    Protocol::Tcp,
                    port,
                    &(20000..=20009),
                    "alpha",
                    &|_, _| true,
                )
                .map(drop)
        })
    }

    #[tokio::test]
    async fn reservations_are_written_by_the_lock_manager_and_refused_ones_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (actor, handle) = Actor::spawn(None, LockManager, store.clone())
            .await
            .unwrap();
        let ledger = StorePortLedger::new(store.clone(), LockManagerRef(actor.clone()));
        let stored =
            || -> Option<PortTable> { store.read(&store.layout().ports("alpha")).unwrap() };
        let epoch = store.epoch().unwrap();

        ledger
            .update("alpha", reserve("default/web/port-0", 20003))
            .await
            .unwrap();
        let table = stored().expect("the table is in the store");
        assert_eq!(
            table.holder(Protocol::Tcp, 20003).unwrap().owner,
            "default/web/port-0"
        );
        assert_eq!(store.epoch().unwrap(), epoch + 1, "one fenced commit");
        assert_eq!(ledger.read("alpha").await.unwrap(), table);

        let refused = ledger
            .update("alpha", reserve("default/db/port-0", 20003))
            .await
            .unwrap_err();
        assert!(matches!(refused, DelegateError::Exhausted(_)), "{refused}");
        assert_eq!(
            stored(),
            Some(table.clone()),
            "a refused change writes nothing"
        );
        assert_eq!(store.epoch().unwrap(), epoch + 1, "and commits nothing");

        // The ledger never writes by itself: without its LockManager nothing changes.
        actor.stop(None);
        handle.await.unwrap();
        let error = ledger
            .update("alpha", reserve("default/db/port-0", 20004))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("lock manager is not running"),
            "{error}"
        );
        assert_eq!(stored(), Some(table));
        assert_eq!(store.epoch().unwrap(), epoch + 1);
    }
}
