//! What the LockManager is asked to write.

use std::fmt;
use std::path::{Path, PathBuf};

use ractor::RpcReplyPort;

use crate::state::records::{
    Health, HostRecord, InstanceEvent, InstanceMove, InstanceRecord, InstanceState, PlanRecord,
    RegistryEntry, ServicePhase, ServiceRecord, UpdateRecord,
};
use crate::state::{Layout, RegistryKind, StoreError, Transaction};
use crate::tosca::instance::Instantiation;

/// The reply of a store write.
pub type WriteReply<T> = RpcReplyPort<Result<T, StoreError>>;

/// A change to one instance record; `None` fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceUpdate {
    /// Its new state.
    pub state: Option<InstanceState>,
    /// Its attributes, replacing the stored ones.
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
    /// Its message (`Some(None)` clears it).
    pub message: Option<Option<String>>,
    /// Count one more restart.
    pub restarted: bool,
    /// Its health (`Some(None)` clears it).
    pub health: Option<Option<Health>>,
    /// The wiring it was made with (see [`InstanceRecord::wired`]).
    pub wired: Option<String>,
    /// The digest of the definition it was made from (see [`InstanceRecord::made_from`]).
    pub made_from: Option<String>,
    /// Changes of state its step showed before this write without writing them (a deploy's
    /// `creating`): kept among its events, before the one this write makes.
    pub shown: Vec<InstanceEvent>,
}

impl InstanceUpdate {
    /// Only the state changes (and any old message is cleared).
    pub fn state(state: InstanceState) -> Self {
        InstanceUpdate {
            state: Some(state),
            message: Some(None),
            ..Self::default()
        }
    }

    /// The instance failed, for this reason (what its health checks found no longer holds).
    pub fn failed(reason: impl Into<String>) -> Self {
        InstanceUpdate {
            state: Some(InstanceState::Failed),
            message: Some(Some(reason.into())),
            health: Some(None),
            ..Self::default()
        }
    }

    /// The instance was (re)started: it runs, and if it has health checks they have not
    /// found it healthy yet.
    pub fn started(checked: bool) -> Self {
        InstanceUpdate {
            health: Some(checked.then_some(Health::Unknown)),
            ..Self::state(InstanceState::Running)
        }
    }

    /// Applies the update to a record.
    pub fn apply(self, record: &mut InstanceRecord) {
        if let Some(state) = self.state {
            record.state = state;
        }
        if let Some(attributes) = self.attributes {
            record.attributes = attributes;
        }
        if let Some(message) = self.message {
            record.message = message;
        }
        if self.restarted {
            record.restarts += 1;
        }
        if let Some(health) = self.health {
            record.health = health;
        }
        if let Some(wired) = self.wired {
            record.wired = Some(wired);
        }
        if let Some(made_from) = self.made_from {
            record.made_from = Some(made_from);
        }
        for event in self.shown {
            record.keep_event(event);
        }
    }
}

/// A per-host table that delegates keep in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostTable {
    /// The ipport delegate's port reservations, `ports/<host>.yaml`.
    Ports,
    /// The directory delegate's claims, `directories/<host>.yaml`.
    DirectoryClaims,
}

impl HostTable {
    /// Where `host`'s table of this kind is kept.
    pub fn path(self, layout: &Layout, host: &str) -> PathBuf {
        match self {
            HostTable::Ports => layout.ports(host),
            HostTable::DirectoryClaims => layout.directory_claims(host),
        }
    }
}

impl fmt::Display for HostTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostTable::Ports => "port table",
            HostTable::DirectoryClaims => "directory claims",
        })
    }
}

/// A change to one host table, run by the LockManager inside the transaction that writes it:
/// given the transaction and the table's path, it reads the table and stages it again, or
/// stages nothing when the change is refused (see `LockManagerRef::update_table`, which
/// builds it from a typed change).
pub type TableChange =
    Box<dyn FnOnce(&mut Transaction<'_>, &Path) -> Result<(), StoreError> + Send>;

/// The LockManager's messages: one per kind of store write. Reads do not go through it
/// (readers read whole files, which only ever appear by rename).
pub enum LockManagerMsg {
    /// Records a new service, its plan and instances, all at once; replies with the epoch.
    CreateService {
        /// `service.yaml`.
        service: Box<ServiceRecord>,
        /// `plan.yaml`.
        plan: PlanRecord,
        /// `instances/*.yaml`.
        instances: Vec<InstanceRecord>,
        /// The epoch it was written at.
        reply: WriteReply<u64>,
    },
    /// Changes one instance record; replies with it as written.
    UpdateInstance {
        /// Its service's namespace.
        namespace: String,
        /// Its service.
        service: String,
        /// The instance id.
        id: String,
        /// The change.
        update: InstanceUpdate,
        /// The record as written.
        reply: WriteReply<InstanceRecord>,
    },
    /// Commits the instance updates received so far in one transaction (the LockManager sends
    /// it to itself).
    FlushInstanceUpdates,
    /// Marks a service active or being deleted.
    SetServicePhase {
        /// The namespace.
        namespace: String,
        /// The service.
        service: String,
        /// Its new phase.
        phase: ServicePhase,
        /// Done.
        reply: WriteReply<()>,
    },
    /// Records that a service's deploy failed (see [`crate::state::Store::fail_service`]).
    FailService {
        /// The namespace.
        namespace: String,
        /// The service.
        service: String,
        /// The host whose part failed.
        host: String,
        /// Where and why it failed.
        message: String,
        /// When the deploy was undone: the instances that failed, with why.
        undone: Option<Vec<(String, String)>>,
        /// Done.
        reply: WriteReply<()>,
    },
    /// Begins an update of a service (see [`crate::state::Store::begin_update`]); replies
    /// with the epoch.
    BeginUpdate {
        /// `service.yaml`, with its update.
        service: Box<ServiceRecord>,
        /// `plan.yaml`, with the added instances placed.
        plan: PlanRecord,
        /// The records of the instances the update adds.
        added: Vec<InstanceRecord>,
        /// The epoch it was written at.
        reply: WriteReply<u64>,
    },
    /// Records an update turned back (see [`crate::state::Store::roll_back_update`]).
    RollBackUpdate {
        /// The namespace.
        namespace: String,
        /// The service.
        service: String,
        /// The instantiation it is to run again.
        instantiation: Box<Instantiation>,
        /// The update, rolling back.
        update: Box<UpdateRecord>,
        /// Done.
        reply: WriteReply<()>,
    },
    /// Records one host's part of an update done, and ends the update when it was the last
    /// (see [`crate::state::Store::finish_update_part`]).
    FinishUpdatePart {
        /// The namespace.
        namespace: String,
        /// The service.
        service: String,
        /// The host whose part is done.
        host: String,
        /// Which stage: why the update is rolled back, or `None` on its way forward.
        rolling_back: Option<String>,
        /// The service's message once the update is over.
        message: Option<String>,
        /// Whether the update is over.
        reply: WriteReply<bool>,
    },
    /// Removes a host's part of a deleted service, and the service once no part is left (see
    /// [`crate::state::Store::remove_service_part`]).
    RemoveService {
        /// The namespace.
        namespace: String,
        /// The service.
        service: String,
        /// Whose part.
        host: String,
        /// Done.
        reply: WriteReply<()>,
    },
    /// Forgets a host that left (see [`crate::state::Store::remove_host`]).
    RemoveHost {
        /// The host.
        host: String,
        /// Done.
        reply: WriteReply<()>,
    },
    /// Drains a host or undrains it (see [`crate::state::Store::set_drained`]).
    SetDrained {
        /// The host.
        host: String,
        /// Drained or not.
        drained: bool,
        /// Done.
        reply: WriteReply<()>,
    },
    /// Renews a host's lease (see [`crate::state::records::LeaseRecord`]).
    RenewLease {
        /// Whose.
        host: String,
        /// Now, in ms since the Unix epoch.
        now: u64,
        /// Done.
        reply: WriteReply<()>,
    },
    /// Moves instances of a service to other hosts, if its plan is still at `based_on` (see
    /// [`crate::state::Store::move_instances`]).
    MoveInstances {
        /// The namespace.
        namespace: String,
        /// The service.
        service: String,
        /// The plan version the moves were computed from.
        based_on: u64,
        /// The moves.
        moves: Vec<InstanceMove>,
        /// Done.
        reply: WriteReply<()>,
    },
    /// Writes a host record.
    PutHost {
        /// The record.
        host: HostRecord,
        /// Done.
        reply: WriteReply<()>,
    },
    /// Registers a template, profile or delegate with its files.
    Register {
        /// The entry record.
        entry: RegistryEntry,
        /// Relative path → content.
        files: Vec<(String, Vec<u8>)>,
        /// Done.
        reply: WriteReply<()>,
    },
    /// Changes one host's table (port reservations, directory claims) in one transaction;
    /// the change reports its own outcome to whoever made it.
    UpdateTable {
        /// Which table.
        table: HostTable,
        /// Whose.
        host: String,
        /// The change.
        change: TableChange,
        /// Done: the change ran and what it staged was committed.
        reply: WriteReply<()>,
    },
    /// Removes a registry entry.
    Delist {
        /// Which registry.
        kind: RegistryKind,
        /// The namespace.
        namespace: String,
        /// The name.
        name: String,
        /// Done.
        reply: WriteReply<()>,
    },
}

// Local only: never sent to another host.
impl ractor::Message for LockManagerMsg {}
