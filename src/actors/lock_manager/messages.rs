//! What the LockManager is asked to write.

use ractor::RpcReplyPort;

use crate::state::records::{
    HostRecord, InstanceRecord, InstanceState, PlanRecord, RegistryEntry, ServicePhase,
    ServiceRecord,
};
use crate::state::{RegistryKind, StoreError};

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

    /// The instance failed, for this reason.
    pub fn failed(reason: impl Into<String>) -> Self {
        InstanceUpdate {
            state: Some(InstanceState::Failed),
            message: Some(Some(reason.into())),
            ..Self::default()
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
    }
}

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
        /// Where and why it failed.
        message: String,
        /// When the deploy was undone: the instances that failed, with why.
        undone: Option<Vec<(String, String)>>,
        /// Done.
        reply: WriteReply<()>,
    },
    /// Removes a service and all its records.
    RemoveService {
        /// The namespace.
        namespace: String,
        /// The service.
        service: String,
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
