//! What the Host, the NodeInstance actors and the Service actor's own tasks tell a Service
//! actor.

use std::time::Duration;

use crate::control::protocol::{InstanceAction, ServiceStatus};
use crate::delegates::protocol::{DelegateKind, LogSource};
use crate::state::records::InstanceRecord;

use super::super::RuntimeError;
use super::super::node_instance::StepReport;

/// The Service actor's messages.
#[derive(Debug)]
pub enum ServiceMsg {
    /// `delete` was asked (the store already says so): remove every instance, dependents
    /// first, then the service's records; then stop.
    Delete,
    /// The deploy failed on another host of the service (the store says so, with this first
    /// failure's message): undo this host's part too, as the service's `on_failure` says.
    FailedElsewhere(String),
    /// These delegates were spawned again: adopt their instances again, dependencies first.
    Resume(Vec<DelegateKind>),
    /// A NodeInstance actor wrote its instance's record (in the middle of a step, or at its
    /// end), or showed a change its step writes when it ends.
    Wrote {
        /// The instance's position in the Service actor's list.
        index: usize,
        /// The record as written.
        record: Box<InstanceRecord>,
    },
    /// A try of one of an instance's health checks ended.
    Tried {
        /// The instance's position in the Service actor's list.
        index: usize,
        /// Which run of the instance the try was for (see `health::Checks`): a try begun
        /// before it was stopped or restarted is ignored.
        run: u64,
        /// The check's position among the instance's checks.
        check: usize,
        /// Why it failed, if it did.
        outcome: Result<(), String>,
    },
    /// A NodeInstance actor finished a step (what it wrote came before, as `Wrote`).
    Finished(StepReport),
    /// A store write the Service actor asked for ended.
    Recorded {
        /// Which write.
        write: Write,
        /// Why it failed, if it did.
        error: Option<String>,
    },
    /// An update that adds no instance was recorded (the service with its update, and its
    /// plan): carry it out on the instances this actor has.
    Update {
        /// `service.yaml` as written.
        service: Box<crate::state::records::ServiceRecord>,
        /// `plan.yaml` as written.
        plan: crate::state::records::PlanRecord,
    },
    /// The service's record changed in the store (another host wrote it): take an update
    /// begun, turned back or ended there.
    Changed {
        /// `service.yaml` as read.
        service: Box<crate::state::records::ServiceRecord>,
        /// `plan.yaml` as read.
        plan: crate::state::records::PlanRecord,
    },
    /// This host's part of the update was recorded done: whether the update is over, or why
    /// it could not be recorded.
    PartFinished(Result<bool, String>),
    /// Something may be due (a check, a retry).
    Wake,
    /// A write of the update failed a while ago: decide again.
    UpdateWriteOver,
    /// The service's status once its version passes `after`, or after [`WATCH_PATIENCE`]
    /// (whichever comes first).
    Watch {
        /// The version the watcher has seen.
        after: u64,
        /// The status and its version.
        reply: ractor::RpcReplyPort<Result<(ServiceStatus, u64), RuntimeError>>,
    },
    /// Stop, start or restart instances (all, or one).
    Control {
        /// What to do.
        action: InstanceAction,
        /// One instance, or all.
        instance: Option<String>,
        /// Answer once it is done (else at once).
        wait: bool,
        /// The instances it applies to.
        reply: ractor::RpcReplyPort<Result<Vec<String>, RuntimeError>>,
    },
    /// Watchers that waited [`WATCH_PATIENCE`] are answered.
    WatchPatienceOver,
    /// Time to read the records of the instances required here that run on other hosts.
    ReadRemote,
    /// Those records as read (by position in the service's instances), or why they are not.
    RemoteRead(Result<Vec<(usize, std::sync::Arc<InstanceRecord>)>, String>),
    /// Where one instance's output goes (or every instance's, with `None`).
    Logs {
        /// One instance, or all.
        instance: Option<String>,
        /// Log sources by instance.
        reply: ractor::RpcReplyPort<Result<Vec<(String, LogSource)>, RuntimeError>>,
    },
    /// This host's instances as the actor holds them now: a step shows its progress here
    /// before it writes it (`service status` and `service events` overlay them on the store).
    Records(ractor::RpcReplyPort<Vec<std::sync::Arc<InstanceRecord>>>),
    /// How a command runs in one instance (`service exec`).
    Exec {
        /// The instance.
        instance: String,
        /// How.
        reply: ractor::RpcReplyPort<Result<crate::delegates::protocol::ExecSource, RuntimeError>>,
    },
}

/// How long a watch waits for a change before it is answered anyway.
pub const WATCH_PATIENCE: Duration = Duration::from_secs(1);

/// The service-wide store writes a Service actor makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// The deploy's failure.
    Failure,
    /// The removal of the service's records.
    Removal,
    /// Where an update stands: turned back, or (`over`) ended.
    Update {
        /// Whether it recorded the update's end.
        over: bool,
    },
}

// Local only: never sent to another host.
impl ractor::Message for ServiceMsg {}
