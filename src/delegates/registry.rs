//! The delegate actors of one host, spawned together under the runtime's supervisor.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ractor::{Actor, ActorCell, SpawnErr};

use super::directory::DirectoryDelegate;
use super::protocol::{DelegateError, DelegateKind, DelegateRef};

/// How this host's delegates are set up; the agent fills it from its command line.
#[derive(Clone, Debug)]
pub struct DelegatesConfig {
    /// This host's name in the cluster (ports are reserved per host).
    pub host: String,
    /// The shared store's root directory.
    pub store: PathBuf,
}

/// The ActorRefs of all delegate actors on this host.
#[derive(Clone, Debug, Default)]
pub struct Delegates {
    lifecycle: BTreeMap<DelegateKind, DelegateRef>,
}

impl Delegates {
    /// Spawns every implemented delegate, each linked to `supervisor` (the runtime restarts
    /// them; a delegate keeps no state it cannot rebuild from the attributes it is given).
    pub async fn spawn(config: DelegatesConfig, supervisor: ActorCell) -> Result<Self, SpawnErr> {
        let _ = config;
        let mut lifecycle = BTreeMap::new();
        let (directory, _) =
            Actor::spawn_linked(None, DirectoryDelegate, (), supervisor.clone()).await?;
        lifecycle.insert(DelegateKind::Directory, directory.get_derived());
        Ok(Delegates { lifecycle })
    }

    /// The delegate of `kind`, or a clear error when that kind has no delegate yet.
    pub fn for_kind(&self, kind: DelegateKind) -> Result<DelegateRef, DelegateError> {
        self.lifecycle
            .get(&kind)
            .cloned()
            .ok_or_else(|| DelegateError::NotImplemented(format!("the {kind} delegate")))
    }

    /// The kinds that have a running delegate here (for `khutulun delegate list`).
    pub fn kinds(&self) -> impl Iterator<Item = DelegateKind> + '_ {
        self.lifecycle.keys().copied()
    }
}
