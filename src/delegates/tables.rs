//! The per-host tables some delegates keep (the ipport delegate's port reservations, the
//! directory delegate's claims): how a change to one is handed over, and their in-memory form.
//!
//! In the agent the tables live in the shared store and only the LockManager writes them, so
//! a change is a closure sent to it and run there, inside the fenced write that saves the
//! table: it must own what it uses (`'static`) and be sendable, and it reports anything it
//! computed through what it captured. The ledgers' methods are asynchronous because the
//! caller waits for that write; they return [`TableFuture`] so the ledger traits stay
//! usable as `dyn` objects.
//!
//! ```
//! use khutulun::delegates::ipport::{MemoryPortLedger, PortLedger};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let ledger = MemoryPortLedger::default();
//! ledger
//!     .update("alpha", Box::new(|table| { table.next = Some(20001); Ok(()) }))
//!     .await
//!     .unwrap();
//! assert_eq!(ledger.read("alpha").await.unwrap().next, Some(20001));
//! # }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use super::protocol::DelegateError;

/// A change to one host's table: it runs once, on the table as stored (its default when the
/// host has none), and the table is saved only when it returns `Ok`.
pub type TableChange<T> = Box<dyn FnOnce(&mut T) -> Result<(), DelegateError> + Send>;

/// What a ledger's methods return: a boxed future, so that the traits can be `dyn`.
pub type TableFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DelegateError>> + Send + 'a>>;

/// Tables in memory, one per host, shared by whoever holds them: for the simulator and tests
/// (they do not survive the process).
#[derive(Debug)]
pub struct MemoryTables<T> {
    tables: Mutex<HashMap<String, T>>,
}

impl<T> Default for MemoryTables<T> {
    fn default() -> Self {
        MemoryTables {
            tables: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone + Default> MemoryTables<T> {
    /// Runs `change` on a copy of `host`'s table and keeps the copy only when it succeeds.
    pub fn change(&self, host: &str, change: TableChange<T>) -> Result<(), DelegateError> {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let mut table = tables.get(host).cloned().unwrap_or_default();
        change(&mut table)?;
        tables.insert(host.to_owned(), table);
        Ok(())
    }

    /// `host`'s table as it is now (empty if it has none).
    pub fn table(&self, host: &str) -> T {
        let tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables.get(host).cloned().unwrap_or_default()
    }
}
