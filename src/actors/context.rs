//! What every actor of one agent shares: the host's name, the store, the runtime directory, the
//! LockManager and the delegates.

use std::sync::{Arc, RwLock};

use crate::control::RuntimePaths;
use crate::delegates::Delegates;
use crate::delegates::protocol::Deadlines;
use crate::state::Store;

use super::lock_manager::LockManagerRef;

/// The agent's shared facts and handles.
#[derive(Debug)]
pub struct RuntimeContext {
    /// This host's name.
    pub host: String,
    /// The shared store (for reads; writes go through the LockManager).
    pub store: Store,
    /// This host's private directory.
    pub runtime: RuntimePaths,
    /// The only writer of the store.
    pub lock_manager: LockManagerRef,
    /// How long delegate operations may take here.
    pub deadlines: Deadlines,
    /// How long a workload started by a deploy or an update must keep running for them to
    /// count it as up (see [`super::service::reconcile::SETTLE_TIME`]).
    pub settle: std::time::Duration,
    delegates: RwLock<Delegates>,
}

/// The context as actors hold it.
pub type Context = Arc<RuntimeContext>;

impl RuntimeContext {
    /// A context over these parts, with the default deadlines.
    pub fn new(
        host: String,
        store: Store,
        runtime: RuntimePaths,
        lock_manager: LockManagerRef,
        delegates: Delegates,
    ) -> Self {
        RuntimeContext {
            host,
            store,
            runtime,
            lock_manager,
            deadlines: Deadlines::default(),
            settle: super::service::reconcile::SETTLE_TIME,
            delegates: RwLock::new(delegates),
        }
    }

    /// The same context with these deadlines.
    pub fn with_deadlines(self, deadlines: Deadlines) -> Self {
        RuntimeContext { deadlines, ..self }
    }

    /// The same context with this settle time.
    pub fn with_settle(self, settle: std::time::Duration) -> Self {
        RuntimeContext { settle, ..self }
    }

    /// The delegates as they are now (the Host replaces them when one crashed).
    pub fn delegates(&self) -> Delegates {
        self.delegates
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Swaps in a newly spawned set of delegates.
    pub fn replace_delegates(&self, delegates: Delegates) {
        *self
            .delegates
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = delegates;
    }
}
