//! The NodeInstance actor: makes one node instance real by driving its delegate through the
//! lifecycle, one step at a time as its Service actor asks, and writes what the delegate reports
//! to the store through the LockManager.
//!
//! It keeps nothing but its identity: each step comes with the service as its Service actor
//! holds it in memory, and the step reports the record it wrote back to that actor, so nothing
//! re-reads the store and a restarted actor simply takes the next step.

mod artifacts;
mod leftover;
mod lifecycle;
mod messages;
mod mounts;
mod script;
mod spec;

pub use spec::wiring;

pub use leftover::remove_leftover;
pub use messages::{NodeInstanceMsg, StepReport};

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::delegates::delegation::{DELEGATE_ATTRIBUTE, alternatives, chosen};
use crate::delegates::profile::{HealthCheck, PropertySet, RestartPolicy, WorkloadProperties};
use crate::delegates::protocol::{
    self, Attributes, DelegateError, DelegateKind, DelegateRef, ExecSource, InstanceHealth,
    InstanceSpec, LogSource, Observation, Operation,
};
use crate::state::records::{InstanceEvent, InstanceRecord, InstanceState};
use crate::state::{ArtifactCache, ServiceView};
use crate::tosca::instance::Resolver;
use crate::tosca::instance::diff::digest;
use crate::tosca::instance::{ArtifactInstance, ArtifactLocation};

use super::lock_manager::InstanceUpdate;
use super::service::ServiceMsg;
use super::service::reconcile::Step;
use super::{Context, RuntimeError};

/// The NodeInstance actor.
pub struct NodeInstance;

/// The message of an instance whose workload ended by itself and is not started again (it
/// exited cleanly, or was stopped outside Khutulun): a job done, not a crash.
pub const STOPPED: &str = "it is stopped";

/// How the message of an instance whose workload is being restarted begins.
pub const RESTARTING: &str = "restarting";

/// How long an instance's record waits for room on a full disk before its step fails (and
/// the deploy is undone, as on any other write error): the delegates' longest deadline.
const DISK_FULL_PATIENCE: Duration = Duration::from_secs(300);

/// How often a record waiting for room is tried again.
const DISK_FULL_RETRY: Duration = Duration::from_secs(1);

/// Which instance an actor runs.
#[derive(Clone, Debug)]
pub struct NodeInstanceArgs {
    /// The agent's context.
    pub context: Context,
    /// The service's namespace.
    pub namespace: String,
    /// The service.
    pub service: String,
    /// The instance id.
    pub id: String,
    /// Its position in its Service actor's list (reports carry it).
    pub index: usize,
    /// Where reports go: its Service actor.
    pub report_to: ActorRef<ServiceMsg>,
}

impl Actor for NodeInstance {
    type Msg = NodeInstanceMsg;
    type State = NodeInstanceArgs;
    type Arguments = NodeInstanceArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: NodeInstanceArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        me: &mut NodeInstanceArgs,
    ) -> Result<(), ActorProcessingErr> {
        let report = match Work::new(me, message.view) {
            Ok(mut work) => {
                let result = match (message.step, message.made_from) {
                    (Step::Adopt, _) => work.adopt().await,
                    (Step::Check, _) => work.check().await,
                    (Step::Delete, _) => work.delete().await,
                    (Step::Renew, Some(made_from)) => work.renew(made_from).await,
                    (step, _) => work.change(step).await,
                };
                StepReport {
                    index: me.index,
                    error: result.err().map(|error| error.to_string()),
                }
            }
            Err(error) => StepReport {
                index: me.index,
                error: Some(error.to_string()),
            },
        };
        // Its Service actor gone means this actor is stopping too.
        let _ = me.report_to.cast(ServiceMsg::Finished(report));
        Ok(())
    }
}

/// The delegate of an instance, if its type has one (a node of an abstract type has nothing
/// to make real).
struct Target {
    spec: InstanceSpec,
    delegate: Option<DelegateRef>,
    /// Whether the node has Lifecycle operations to run (most have none).
    has_operations: bool,
    /// The attributes its operations set, kept when its delegate reports its own.
    output_attributes: Vec<String>,
}

/// What instance `id` of `view` needs from its delegate, with `state_dir` as its directory.
fn target(
    context: &Context,
    view: &ServiceView,
    id: &str,
    state_dir: std::path::PathBuf,
) -> Result<Target, RuntimeError> {
    let mut spec = spec::instance_spec(view, id, state_dir)?;
    artifacts::use_downloads(&ArtifactCache::of(context.store.layout()), &mut spec);
    mounts::localize(context, view, &mut spec)?;
    let node = spec::node(view, id)?;
    let recorded = view
        .instances
        .iter()
        .find(|instance| instance.id == id)
        .and_then(|instance| instance.attributes.get(DELEGATE_ATTRIBUTE))
        .and_then(|name| name.as_str());
    let chosen = chosen(&view.service.instantiation.policies, node, recorded)
        .map_err(|e| DelegateError::Failed(e.to_string()))?;
    let delegate = match chosen {
        Some(kind) => Some(delegate(context, kind)?),
        None => None,
    };
    // The delegate's choice outlives every report of the delegate, like an operation's output.
    let mut output_attributes = lifecycle::output_attributes(node);
    output_attributes.push(DELEGATE_ATTRIBUTE.to_owned());
    Ok(Target {
        spec,
        delegate,
        has_operations: lifecycle::has_operations(node),
        output_attributes,
    })
}

fn delegate(context: &Context, kind: DelegateKind) -> Result<DelegateRef, RuntimeError> {
    Ok(context.delegates().for_kind(kind)?)
}

/// Instance `id` of `view` as its delegate sees it, and its attributes as recorded.
fn as_recorded(
    context: &Context,
    view: &ServiceView,
    id: &str,
) -> Result<(Target, Attributes), RuntimeError> {
    let state_dir = context
        .runtime
        .instance_dir(&view.service.namespace, &view.service.name, id);
    let target = target(context, view, id, state_dir)?;
    let attributes = view
        .instances
        .iter()
        .find(|instance| instance.id == id)
        .map(|instance| instance.attributes.clone())
        .unwrap_or_default();
    Ok((target, attributes))
}

/// How a command runs in instance `id` of `view`, asked of its delegate within the agent's
/// deadline (nothing, for a node without one).
pub async fn exec_source(
    context: &Context,
    view: &ServiceView,
    id: &str,
) -> Result<ExecSource, RuntimeError> {
    let (target, attributes) = as_recorded(context, view, id)?;
    let Some(delegate) = target.delegate else {
        return Ok(ExecSource::None);
    };
    let asked = protocol::exec(&delegate, target.spec.clone(), attributes);
    let bounded = context
        .deadlines
        .bound(Operation::Exec, &target.spec, asked);
    Ok(bounded.await?)
}

/// Where the output of instance `id` of `view` goes, asked of its delegate within the agent's
/// deadline (the file its Lifecycle operations write for a node without one).
pub async fn log_source(
    context: &Context,
    view: &ServiceView,
    id: &str,
) -> Result<LogSource, RuntimeError> {
    let (target, attributes) = as_recorded(context, view, id)?;
    match target.delegate {
        Some(delegate) => {
            let source = protocol::logs(&delegate, target.spec.clone(), attributes);
            let bounded = context
                .deadlines
                .bound(Operation::Logs, &target.spec, source);
            Ok(bounded.await?)
        }
        None => {
            let log = script::log_file(&target.spec.state_dir);
            Ok(if log.exists() {
                LogSource::File(log)
            } else {
                LogSource::None
            })
        }
    }
}

/// Whether the instance's node declares health checks (its Service actor tries them).
fn has_checks(spec: &InstanceSpec) -> bool {
    let checks = spec.properties.get(CHECKS);
    checks
        .and_then(|c| c.as_object())
        .is_some_and(|c| !c.is_empty())
}

/// The name of the Workload property holding its health checks.
const CHECKS: &str = "checks";

/// The health checks of instance `id` of `view` (none for a node without), and whether its
/// restart policy restarts it when they find it unhealthy.
pub fn health_checks(
    view: &ServiceView,
    id: &str,
) -> Result<(Vec<(String, HealthCheck)>, bool), RuntimeError> {
    let node = spec::node(view, id)?;
    let wanted = [CHECKS, "restart"];
    let values: indexmap::IndexMap<_, _> = node
        .properties
        .iter()
        .filter(|(name, _)| wanted.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let resolver = Resolver::new(&view.service.instantiation);
    let properties = spec::evaluate(view, &resolver, id, &values, "property")?;
    let WorkloadProperties { checks } = WorkloadProperties::from_properties(&properties, id)?;
    let restart = properties
        .get("restart")
        .map(|policy| serde_json::from_value::<RestartPolicy>(policy.clone()))
        .transpose()
        .map_err(|e| RuntimeError::Invalid(format!("{id}: property restart: {e}")))?
        .unwrap_or_default();
    Ok((checks.into_iter().collect(), restart.after_failure()))
}

/// One step under way: the service as it was when the step began, and this instance's record
/// as the step has written it since.
struct Work<'a> {
    me: &'a NodeInstanceArgs,
    view: Arc<ServiceView>,
    record: InstanceRecord,
    /// The changes of state shown but not yet written (see [`Work::show`]).
    shown: Vec<InstanceEvent>,
}

impl<'a> Work<'a> {
    fn new(me: &'a NodeInstanceArgs, view: Arc<ServiceView>) -> Result<Self, RuntimeError> {
        let record = view
            .instances
            .iter()
            .find(|instance| instance.id == me.id)
            .map(|record| InstanceRecord::clone(record))
            .ok_or_else(|| RuntimeError::NotFound(format!("instance {} has no record", me.id)))?;
        Ok(Work {
            me,
            view,
            record,
            shown: Vec::new(),
        })
    }

    /// The service with this instance's attributes as the step has them (its properties and
    /// operation inputs may read them): the view it was given, unless they changed.
    fn current(&self) -> Cow<'_, ServiceView> {
        let position = self.view.instances.iter().position(|i| i.id == self.me.id);
        let Some(position) = position else {
            return Cow::Borrowed(&self.view);
        };
        if self.view.instances[position].attributes == self.record.attributes {
            return Cow::Borrowed(&self.view);
        }
        let mut view = (*self.view).clone();
        view.instances[position] = Arc::new(self.record.clone());
        Cow::Owned(view)
    }

    fn target(&self) -> Result<Target, RuntimeError> {
        let me = self.me;
        let state_dir = me
            .context
            .runtime
            .instance_dir(&me.namespace, &me.service, &me.id);
        target(&me.context, &self.current(), &me.id, state_dir)
    }

    /// Writes the step's change to the record. On a full disk the write waits for room (tried
    /// again every [`DISK_FULL_RETRY`], at most [`DISK_FULL_PATIENCE`]): what the step made
    /// runs on, and the deploy resumes once space returns instead of being undone.
    async fn record(&mut self, mut update: InstanceUpdate) -> Result<(), RuntimeError> {
        let me = self.me;
        update.shown = std::mem::take(&mut self.shown);
        let lock_manager = &me.context.lock_manager;
        let mut waited = Duration::ZERO;
        self.record = loop {
            let written = lock_manager
                .update_instance(&me.namespace, &me.service, &me.id, update.clone())
                .await;
            match written {
                Err(RuntimeError::Store(error))
                    if error.is_disk_full() && waited < DISK_FULL_PATIENCE =>
                {
                    if waited.is_zero() {
                        tracing::warn!(instance = %me.id, %error, "the store's disk is full; the instance's record waits for room");
                    }
                    tokio::time::sleep(DISK_FULL_RETRY).await;
                    waited += DISK_FULL_RETRY;
                }
                written => break written?,
            }
        };
        self.report();
        Ok(())
    }

    /// Shows the instance in `state` to its Service actor (and whoever watches the service)
    /// without writing it: the step's one write keeps it among the instance's events. What is
    /// only shown is safe to lose: a restarted agent finds the instance as last written and
    /// takes the same step again.
    fn show(&mut self, state: InstanceState) {
        let now = self.me.context.store.now();
        self.record.state = state;
        self.record.message = None;
        self.record.updated.clone_from(&now);
        self.record.push_event(&now);
        self.shown.extend(self.record.events.last().cloned());
        self.report();
    }

    /// Its Service actor's view follows every change of the record.
    fn report(&self) {
        let wrote = ServiceMsg::Wrote {
            index: self.me.index,
            record: Box::new(self.record.clone()),
        };
        let _ = self.me.report_to.cast(wrote);
    }

    /// Runs a delegate call within this agent's deadline for `operation`.
    async fn bound<T>(
        &self,
        operation: Operation,
        spec: &InstanceSpec,
        call: impl std::future::Future<Output = Result<T, DelegateError>>,
    ) -> Result<T, DelegateError> {
        self.me.context.deadlines.bound(operation, spec, call).await
    }

    /// Records that the step failed, with the attributes it had reached (what it made is
    /// found from them when it is deleted).
    async fn record_failure(
        &mut self,
        error: RuntimeError,
        attributes: Attributes,
    ) -> RuntimeError {
        let update = InstanceUpdate {
            attributes: Some(attributes),
            ..InstanceUpdate::failed(error.to_string())
        };
        if let Err(store_error) = self.record(update).await {
            tracing::warn!(instance = %self.me.id, %store_error, "could not record a failure");
        }
        error
    }

    /// Deploys, stops or starts the instance; when that fails, records the failure with the
    /// attributes it had reached (what it made is found from them later).
    async fn change(&mut self, step: Step) -> Result<(), RuntimeError> {
        let mut attributes = self.record.attributes.clone();
        let changed = match step {
            Step::Deploy => self.try_deploy(&mut attributes).await,
            Step::Stop => self.try_stop(&mut attributes).await,
            Step::Start => self.try_start(&mut attributes).await,
            Step::Replace | Step::Renew => self.try_replace(&mut attributes).await,
            Step::Adopt | Step::Check | Step::Delete => Ok(()),
        };
        match changed {
            Ok(()) => Ok(()),
            Err(error) => Err(self.record_failure(error, attributes).await),
        }
    }

    /// Creating is shown, not written (an agent that dies midway finds the instance pending
    /// and makes it again, as it would a creating one); the one write is when it runs (or
    /// failed), with what its delegate and operations reported.
    async fn try_deploy(&mut self, attributes: &mut Attributes) -> Result<(), RuntimeError> {
        self.show(InstanceState::Creating);
        self.choose_delegate(attributes).await?;
        let mut target = self.target()?;
        if self.prepare_artifacts(&target.spec).await? {
            target = self.target()?;
        }
        self.copy_artifacts(&target.spec).await?;
        mounts::attach(
            &self.me.context,
            &self.current(),
            &target.spec,
            Operation::Create,
        )
        .await?;
        if let Some(delegate) = &target.delegate {
            let created = protocol::create(delegate, target.spec.clone());
            let created = self.bound(Operation::Create, &target.spec, created).await?;
            *attributes = lifecycle::keep_outputs(&target.output_attributes, attributes, created);
            self.record.attributes = attributes.clone();
        }
        if target.has_operations {
            self.operate("create", attributes).await?;
            self.operate("configure", attributes).await?;
            // What they set may be read by the delegate's spec.
            target = self.target()?;
        }
        if let Some(delegate) = &target.delegate {
            let started = protocol::start(delegate, target.spec.clone(), attributes.clone());
            let started = self.bound(Operation::Start, &target.spec, started).await?;
            *attributes = lifecycle::keep_outputs(&target.output_attributes, attributes, started);
            self.record.attributes = attributes.clone();
        }
        if target.has_operations {
            self.operate("start", attributes).await?;
        }
        let wired = spec::wiring(&self.current(), &self.me.id);
        let made_from = digest(spec::node(&self.view, &self.me.id)?);
        self.record(InstanceUpdate {
            attributes: Some(attributes.clone()),
            wired: Some(wired),
            made_from: Some(made_from),
            ..InstanceUpdate::started(has_checks(&target.spec))
        })
        .await
    }

    /// Removes what runs as the definition in `made_from` says, and makes the instance again
    /// from its definition now, as new (an update changed it): one write, at the end.
    async fn renew(&mut self, made_from: Arc<ServiceView>) -> Result<(), RuntimeError> {
        tracing::info!(instance = %self.me.id, "its definition changed; making it again");
        let mut attributes = self.record.attributes.clone();
        let current = std::mem::replace(&mut self.view, made_from);
        let removed = self.remove(&attributes).await;
        self.view = current;
        let renewed = match removed {
            Ok(()) => {
                attributes.clear();
                self.record.attributes.clear();
                self.try_deploy(&mut attributes).await
            }
            Err(error) => Err(error),
        };
        match renewed {
            Ok(()) => Ok(()),
            Err(error) => Err(self.record_failure(error, attributes).await),
        }
    }

    /// Records in `attributes` which delegate deploys the instance when its node has several
    /// and no Delegation policy names one: the first available here, in the order of
    /// [`alternatives`] (when none is, the first, whose failure says why).
    async fn choose_delegate(&mut self, attributes: &mut Attributes) -> Result<(), RuntimeError> {
        let node = spec::node(&self.view, &self.me.id)?;
        let alternatives = alternatives(&self.view.service.instantiation.policies, node)
            .map_err(|e| DelegateError::Failed(e.to_string()))?;
        if alternatives.len() < 2 {
            return Ok(());
        }
        let delegates = self.me.context.delegates();
        let mut choice = alternatives[0];
        for kind in alternatives {
            match delegates.available(kind).await {
                Ok(()) => {
                    choice = kind;
                    break;
                }
                Err(reason) => {
                    tracing::info!(instance = %self.me.id, delegate = %kind, %reason, "not available here");
                }
            }
        }
        attributes.insert(DELEGATE_ATTRIBUTE.to_owned(), choice.name().into());
        self.record.attributes = attributes.clone();
        Ok(())
    }

    /// Makes the node's artifacts ready before anything uses them (see [`artifacts`]): off
    /// the async threads (a download or an image archive takes a while) and within the
    /// create deadline.
    /// Whether any is at a URL (the spec then names its downloaded copy only when built
    /// again).
    async fn prepare_artifacts(&self, spec: &InstanceSpec) -> Result<bool, RuntimeError> {
        let needed: Vec<(String, ArtifactInstance)> = spec::node(&self.view, &self.me.id)?
            .artifacts
            .iter()
            .filter(|(_, artifact)| {
                artifact.checksum.is_some()
                    || matches!(artifact.location, ArtifactLocation::Url { .. })
            })
            .map(|(name, artifact)| (name.clone(), artifact.clone()))
            .collect();
        if needed.is_empty() {
            return Ok(false);
        }
        let downloads = needed
            .iter()
            .any(|(_, artifact)| matches!(artifact.location, ArtifactLocation::Url { .. }));
        let instance = spec.qualified_name();
        let cache = ArtifactCache::of(self.me.context.store.layout());
        let work =
            tokio::task::spawn_blocking(move || artifacts::make_ready(&cache, &instance, &needed));
        let ready = async {
            work.await
                .map_err(|e| DelegateError::Failed(format!("preparing artifacts failed: {e}")))?
        };
        self.bound(Operation::Create, spec, ready).await?;
        Ok(downloads)
    }

    /// Writes the copies of its artifacts the node asks for, off the async threads and within
    /// the create deadline.
    async fn copy_artifacts(&self, spec: &InstanceSpec) -> Result<(), RuntimeError> {
        let copies = spec::node(&self.view, &self.me.id)?.artifact_copies.clone();
        if copies.is_empty() {
            return Ok(());
        }
        let copying = spec.clone();
        let work = tokio::task::spawn_blocking(move || artifacts::copy(&copying, &copies));
        let copied = async {
            work.await
                .map_err(|e| DelegateError::Failed(format!("copying artifacts failed: {e}")))?
        };
        self.bound(Operation::Create, spec, copied).await?;
        Ok(())
    }

    /// Removes what runs and makes it again from the current view: an instance it requires
    /// moved to another host, so its wiring (addresses, ports) changed.
    async fn try_replace(&mut self, attributes: &mut Attributes) -> Result<(), RuntimeError> {
        let target = self.target()?;
        tracing::info!(instance = %self.me.id, "an instance it requires moved; making it again");
        if target.has_operations {
            self.operate("stop", &mut attributes.clone()).await?;
        }
        if let Some(delegate) = &target.delegate {
            let deleted = protocol::delete(delegate, target.spec.clone(), attributes.clone());
            self.bound(Operation::Delete, &target.spec, deleted).await?;
        }
        self.try_deploy(attributes).await
    }

    /// Runs the instance's Lifecycle operation `operation`, if it has one, and adds the
    /// attributes its outputs set to `attributes` (and to the record the next operations see).
    async fn operate(
        &mut self,
        operation: &str,
        attributes: &mut Attributes,
    ) -> Result<(), RuntimeError> {
        self.record.attributes = attributes.clone();
        let run = {
            let view = self.current();
            let target = self.target()?;
            lifecycle::prepare(&view, &target.spec, operation)?
        };
        let Some(run) = run else {
            return Ok(());
        };
        tracing::info!(instance = %self.me.id, operation = %run.name, "running");
        let outputs = script::run(&run).await?;
        attributes.extend(outputs);
        self.record.attributes = attributes.clone();
        Ok(())
    }

    /// Records what the delegate saw: running (with its current attributes), restarting, or
    /// failed.
    async fn record_observation(&mut self, observation: Observation) -> Result<(), RuntimeError> {
        let update = match observation.health {
            InstanceHealth::Running => InstanceUpdate::state(InstanceState::Running),
            InstanceHealth::Stopped => InstanceUpdate::failed(STOPPED),
            InstanceHealth::Failed { reason } => InstanceUpdate::failed(reason),
            InstanceHealth::Missing => InstanceUpdate::failed("it is gone"),
            // Its supervisor brings it back by itself: not a failure; the state stays as
            // recorded until an observation sees it running again (or failed).
            InstanceHealth::Restarting { reason } => InstanceUpdate {
                message: Some(Some(format!("{RESTARTING}: {reason}"))),
                ..InstanceUpdate::default()
            },
        };
        self.record(InstanceUpdate {
            attributes: Some(observation.attributes),
            ..update
        })
        .await
    }

    async fn adopt(&mut self) -> Result<(), RuntimeError> {
        let target = self.target()?;
        let Some(delegate) = target.delegate.clone() else {
            return Ok(());
        };
        let attributes = self.record.attributes.clone();
        let mounted = mounts::attach(&self.me.context, &self.view, &target.spec, Operation::Adopt);
        if let Err(error) = mounted.await {
            return Err(self.record_failure(error, attributes).await);
        }
        let adopted = protocol::adopt(&delegate, target.spec.clone(), attributes.clone());
        match self.bound(Operation::Adopt, &target.spec, adopted).await {
            Ok(mut observation) => {
                observation.attributes = lifecycle::keep_outputs(
                    &target.output_attributes,
                    &attributes,
                    observation.attributes,
                );
                self.record_observation(observation).await
            }
            Err(error) => Err(self.record_failure(error.into(), attributes).await),
        }
    }

    async fn check(&mut self) -> Result<(), RuntimeError> {
        let target = self.target()?;
        let Some(delegate) = target.delegate.clone() else {
            return Ok(());
        };
        let attributes = self.record.attributes.clone();
        let seen = protocol::status(&delegate, target.spec.clone(), attributes.clone());
        let mut observation = self.bound(Operation::Status, &target.spec, seen).await?;
        observation.attributes = lifecycle::keep_outputs(
            &target.output_attributes,
            &attributes,
            observation.attributes,
        );
        let running = observation.health == InstanceHealth::Running;
        let restarting = matches!(observation.health, InstanceHealth::Restarting { .. });
        // A restart that begins is written once (its message says so): a deploy waiting for
        // the instance to settle must see it.
        let shown_restarting =
            (self.record.message.as_deref()).is_some_and(|m| m.starts_with(RESTARTING));
        let unchanged = match self.record.state {
            InstanceState::Running => {
                (running || (restarting && shown_restarting))
                    && observation.attributes == attributes
            }
            // A failed instance keeps the message of its failure until it runs again (its
            // delegate may restart it per its policy).
            _ => !running,
        };
        if unchanged {
            return Ok(());
        }
        self.record_observation(observation).await
    }

    /// Stops the instance as asked (`service stop`): its Lifecycle stop operation, then its
    /// delegate's stop; it keeps what it has, to start again.
    async fn try_stop(&mut self, attributes: &mut Attributes) -> Result<(), RuntimeError> {
        let target = self.target()?;
        if target.has_operations {
            self.operate("stop", attributes).await?;
        }
        if let Some(delegate) = &target.delegate {
            let stopped = protocol::stop(delegate, target.spec.clone(), attributes.clone());
            let stopped = self.bound(Operation::Stop, &target.spec, stopped).await?;
            *attributes = lifecycle::keep_outputs(&target.output_attributes, attributes, stopped);
        }
        self.record(InstanceUpdate {
            attributes: Some(attributes.clone()),
            health: Some(None),
            ..InstanceUpdate::state(InstanceState::Stopped)
        })
        .await
    }

    /// Starts a stopped instance again: its delegate's start, then its Lifecycle start
    /// operation.
    async fn try_start(&mut self, attributes: &mut Attributes) -> Result<(), RuntimeError> {
        let target = self.target()?;
        if let Some(delegate) = &target.delegate {
            let started = protocol::start(delegate, target.spec.clone(), attributes.clone());
            let started = self.bound(Operation::Start, &target.spec, started).await?;
            *attributes = lifecycle::keep_outputs(&target.output_attributes, attributes, started);
        }
        if target.has_operations {
            self.operate("start", attributes).await?;
        }
        self.record(InstanceUpdate {
            attributes: Some(attributes.clone()),
            ..InstanceUpdate::started(has_checks(&target.spec))
        })
        .await
    }

    async fn delete(&mut self) -> Result<(), RuntimeError> {
        if self.record.state != InstanceState::Deleting {
            self.record(InstanceUpdate::state(InstanceState::Deleting))
                .await?;
        }
        let attributes = self.record.attributes.clone();
        match self.remove(&attributes).await {
            Ok(()) => Ok(()),
            Err(error) => Err(self.record_failure(error, attributes).await),
        }
    }

    /// Stops and removes what the instance has (its Lifecycle stop and delete operations, its
    /// delegate's delete, its mounts), as its definition in the step's view says.
    async fn remove(&mut self, attributes: &Attributes) -> Result<(), RuntimeError> {
        let target = self.target()?;
        if target.has_operations {
            self.operate("stop", &mut attributes.clone()).await?;
        }
        if let Some(delegate) = &target.delegate {
            let deleted = protocol::delete(delegate, target.spec.clone(), attributes.clone());
            self.bound(Operation::Delete, &target.spec, deleted).await?;
        }
        if target.has_operations {
            self.operate("delete", &mut attributes.clone()).await?;
            script::forget(&target.spec.state_dir);
        }
        mounts::detach(&self.me.context, &self.view, &target.spec).await?;
        let copies = &spec::node(&self.view, &self.me.id)?.artifact_copies;
        artifacts::remove_copies(&target.spec.qualified_name(), copies);
        Ok(())
    }
}
