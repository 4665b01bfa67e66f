//! The Service actor: one per deployed service with instances on this host. It holds the
//! service in memory (read from the store once, when it starts), asks [`mod@reconcile`] what to do
//! next whenever something happens, and carries that out: steps go to one NodeInstance actor
//! per instance, service-wide writes to the LockManager. Its handler never waits for either;
//! their answers come back as messages, so `service logs` is answered even mid-deploy.
//!
//! A crashed NodeInstance actor is spawned again; its step in flight counts as failed.

mod health;
mod messages;
pub mod reconcile;
#[cfg(test)]
mod reconcile_tests;
mod remote;
#[cfg(test)]
mod supervision_tests;
mod update;
#[cfg(test)]
mod update_tests;

pub use messages::{ServiceMsg, WATCH_PATIENCE, Write};
pub use reconcile::CHECK_PERIOD;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::time::Instant;

use super::node_instance::{self, NodeInstance, NodeInstanceArgs, NodeInstanceMsg, StepReport};
use super::{Context, RuntimeError, service_status};
use crate::control::protocol::{InstanceAction, ServiceStatus};
use crate::delegates::delegation::{DELEGATE_ATTRIBUTE, chosen};
use crate::delegates::profile::types;
use crate::delegates::protocol::DelegateKind;
use crate::delegates::protocol::is_a;
use crate::state::ServiceView;
use crate::state::records::{Health, InstanceRecord, InstanceState, ServicePhase};
use reconcile::{Decision, Effect, Goal, Instance, Observed, Outcome, Step, Wanted, reconcile};

/// The Service actor.
pub struct Service;

/// How a Service actor begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceStart {
    /// The service was just recorded: deploy it.
    Deploy,
    /// The agent (or this actor) restarted: adopt what runs.
    Resume,
}

/// Which service an actor runs.
#[derive(Clone, Debug)]
pub struct ServiceArgs {
    /// The agent's context.
    pub context: Context,
    /// The namespace.
    pub namespace: String,
    /// The service.
    pub name: String,
    /// How to begin.
    pub start: ServiceStart,
}

/// A Service actor's state: the service as last written, what was seen of its instances, and
/// the actors that work on them.
pub struct ServiceState {
    args: ServiceArgs,
    view: ServiceView,
    /// The view as handed to steps, until it changes again.
    snapshot: Option<Arc<ServiceView>>,
    goal: Goal,
    observed: Observed,
    /// For each instance of `observed`, its position in `view.instances`.
    records: Vec<usize>,
    /// For each instance of `observed`, the instances of `observed` that require it.
    dependents: Vec<Vec<usize>>,
    /// For each instance of `observed`, the kind of delegate that runs it.
    delegates: Vec<Option<DelegateKind>>,
    /// The positions in `view.instances` of the instances on other hosts that those here
    /// require (read again every [`CHECK_PERIOD`]).
    remote: Vec<usize>,
    actors: Vec<ActorRef<NodeInstanceMsg>>,
    by_actor: HashMap<ActorId, usize>,
    /// The instances whose deploy failed, with why (a rollback deletes them; they must still
    /// say why).
    failures: Failures,
    born: Instant,
    next_wake: Option<Duration>,
    /// The failure being recorded: the service's message, and the failed instances when the
    /// deploy was rolled back.
    failure_record: Option<(String, Option<Failures>)>,
    /// Raised at every change of `view`, for watchers.
    version: u64,
    watchers: Vec<Watcher>,
    /// Stops, starts and restarts whose askers wait for them to be done.
    controls: Vec<Control>,
    /// The health checks of the running instances that have some.
    checks: health::Checks,
    /// For each instance of `observed`, the digest of the definition its workload was made
    /// from, when known (see [`update`]).
    made_from: Vec<Option<String>>,
    /// The view as it was before the update under way, until either changes.
    before: Option<Arc<ServiceView>>,
    /// The service's message once the update's end is recorded.
    ended_message: Option<String>,
    /// The store's record changed while an update write of this actor was under way: it is
    /// read again once the write is over (what was read before may predate it).
    news_while_recording: bool,
}

/// A `service stop|start|restart` waiting to be done.
struct Control {
    instances: Vec<usize>,
    asked: Wanted,
    reply: ractor::RpcReplyPort<Result<Vec<String>, RuntimeError>>,
}

/// Failed instances with why: `(instance id, reason)`.
type Failures = Vec<(String, String)>;

/// A `service status --watch` (or a waiting deploy) waiting for a change.
struct Watcher {
    after: u64,
    until: Instant,
    reply: ractor::RpcReplyPort<Result<(ServiceStatus, u64), RuntimeError>>,
}

impl ServiceState {
    fn now(&self) -> Duration {
        self.born.elapsed()
    }

    /// The view changed: steps and watchers get the new one.
    fn changed(&mut self) {
        self.snapshot = None;
        self.before = None;
        self.version += 1;
    }

    /// Asks the reconciler to stop, start or restart instances; answers at once, or (with
    /// `wait`) once they are.
    fn control(
        &mut self,
        action: InstanceAction,
        instance: Option<String>,
        wait: bool,
        reply: ractor::RpcReplyPort<Result<Vec<String>, RuntimeError>>,
    ) {
        let asked = match action {
            InstanceAction::Stop => Wanted::Stopped,
            InstanceAction::Start => Wanted::Running,
            InstanceAction::Restart => Wanted::Restarted,
        };
        let instances: Vec<usize> = (0..self.observed.instances.len())
            .filter(|&i| {
                instance
                    .as_ref()
                    .is_none_or(|id| *id == self.observed.instances[i].id)
            })
            .collect();
        let refusal = if self.goal == Goal::Delete || self.observed.failed {
            Some(format!(
                "service {} is being deleted or its deploy failed",
                self.args.name
            ))
        } else if let Some(id) = instance.filter(|_| instances.is_empty()) {
            Some(format!(
                "service {} has no instance {id} on this host",
                self.args.name
            ))
        } else {
            None
        };
        if let Some(why) = refusal {
            let _ = reply.send(Err(RuntimeError::Invalid(why)));
            return;
        }
        for &index in &instances {
            self.observed.want(index, asked);
        }
        let control = Control {
            instances,
            asked,
            reply,
        };
        if wait {
            self.controls.push(control);
        } else {
            let ids = self.ids(&control.instances);
            let _ = control.reply.send(Ok(ids));
        }
    }

    fn ids(&self, instances: &[usize]) -> Vec<String> {
        instances
            .iter()
            .map(|&i| self.observed.instances[i].id.clone())
            .collect()
    }

    /// Answers the stops, starts and restarts that are done (or could not be).
    fn answer_controls(&mut self) {
        let controls = std::mem::take(&mut self.controls);
        for control in controls {
            let outcome: Result<Vec<bool>, String> = control
                .instances
                .iter()
                .map(|&i| self.observed.settled(i, control.asked))
                .collect();
            match outcome {
                Ok(done) if done.iter().all(|d| *d) => {
                    let ids = self.ids(&control.instances);
                    let _ = control.reply.send(Ok(ids));
                }
                Ok(_) => self.controls.push(control),
                Err(why) => {
                    let _ = control.reply.send(Err(RuntimeError::Invalid(why)));
                }
            }
        }
    }

    /// Answers the watchers whose version is passed, or whose patience is over.
    fn answer_watchers(&mut self) {
        if self.watchers.is_empty() {
            return;
        }
        let now = Instant::now();
        let (version, mut status) = (self.version, None);
        let (due, waiting) = std::mem::take(&mut self.watchers)
            .into_iter()
            .partition(|w: &Watcher| w.after < version || w.until <= now);
        self.watchers = waiting;
        for watcher in due {
            let status = status.get_or_insert_with(|| self.status()).clone();
            let _ = watcher.reply.send(Ok((status, version)));
        }
    }

    /// The service's status, with the instances whose workload is not up yet marked settling.
    fn status(&self) -> ServiceStatus {
        let mut status = service_status(&self.view);
        for (index, instance) in self.observed.instances.iter().enumerate() {
            if instance.not_up_yet()
                && let Some(shown) = status.instances.get_mut(self.records[index])
            {
                shown.settling = true;
            }
        }
        status
    }

    fn view(&mut self) -> Arc<ServiceView> {
        self.snapshot
            .get_or_insert_with(|| Arc::new(self.view.clone()))
            .clone()
    }

    async fn spawn_instance(
        &mut self,
        myself: &ActorRef<ServiceMsg>,
        index: usize,
    ) -> Result<(), ActorProcessingErr> {
        let args = NodeInstanceArgs {
            context: self.args.context.clone(),
            namespace: self.args.namespace.clone(),
            service: self.args.name.clone(),
            id: self.observed.instances[index].id.clone(),
            index,
            report_to: myself.clone(),
        };
        let (actor, _) = Actor::spawn_linked(None, NodeInstance, args, myself.get_cell()).await?;
        self.by_actor.insert(actor.get_id(), index);
        if let Some(slot) = self.actors.get_mut(index) {
            *slot = actor;
        } else {
            self.actors.push(actor);
        }
        Ok(())
    }

    /// Asks [`reconcile`] what is due and does it, until nothing more is.
    fn advance(&mut self, myself: &ActorRef<ServiceMsg>) {
        let on_failure = self.view.service.on_failure;
        self.try_due_checks(myself);
        loop {
            let now = self.now();
            let Decision { effects, wake } = reconcile(self.goal, on_failure, &self.observed, now);
            let wake = wake.into_iter().chain(self.checks.next_due()).min();
            if let Some(at) = wake
                && self.next_wake.is_none_or(|next| at < next)
            {
                self.next_wake = Some(at);
                myself.send_after(at.saturating_sub(now), || ServiceMsg::Wake);
            }
            if effects.is_empty() {
                return;
            }
            for effect in effects {
                self.observed.began(&effect);
                self.carry_out(myself, effect);
            }
        }
    }

    fn carry_out(&mut self, myself: &ActorRef<ServiceMsg>, effect: Effect) {
        match effect {
            Effect::Run(index, step) => {
                if !matches!(step, Step::Check | Step::Adopt) {
                    self.checks.forget(index);
                }
                let (view, made_from) = match step {
                    Step::Renew => (self.view(), Some(self.view_of(index))),
                    _ => (self.view_of(index), None),
                };
                let asked = NodeInstanceMsg {
                    step,
                    view,
                    made_from,
                };
                if self.actors[index].cast(asked).is_err() {
                    // Its actor is stopping: the supervision event ends the step.
                    tracing::debug!(instance = %self.observed.instances[index].id, "no actor for the step");
                }
            }
            Effect::RecordFailure { message, undone } => {
                tracing::warn!(service = %self.args.name, %message, "the deploy failed");
                let failures = failures_if(undone, &self.failures);
                self.failure_record = Some((message.clone(), failures.clone()));
                let (context, namespace, name) = self.names();
                spawn_write(myself, Write::Failure, async move {
                    context
                        .lock_manager
                        .fail_service(&namespace, &name, &context.host, &message, failures)
                        .await
                });
            }
            Effect::Remove => {
                let (context, namespace, name) = self.names();
                spawn_write(myself, Write::Removal, async move {
                    // The instances' host-private files (logs, pid files) go first: once the
                    // records are gone, whoever waits for the delete sees it done.
                    let private = context.runtime.service_dir(&namespace, &name);
                    if let Err(error) = context.runtime.filesystem().remove_dir_all(&private) {
                        tracing::warn!(path = %private.display(), %error, "could not remove");
                    }
                    let host = &context.host;
                    let part = context
                        .lock_manager
                        .remove_service_part(&namespace, &name, host);
                    part.await
                });
            }
            Effect::Abandon(_) => {}
            Effect::RollBack(reason) => self.roll_back(myself, reason),
            Effect::FinishUpdate => self.finish_update(myself),
        }
    }

    fn names(&self) -> (Context, String, String) {
        let args = &self.args;
        (
            args.context.clone(),
            args.namespace.clone(),
            args.name.clone(),
        )
    }

    /// Takes in a record a NodeInstance wrote (or showed), or a change of health; whether
    /// the reconciler has something new to decide on (its health changed).
    fn wrote(&mut self, index: usize, record: InstanceRecord) -> bool {
        let Some(&position) = self.records.get(index) else {
            return false;
        };
        if record.made_from.is_some() {
            self.made_from[index].clone_from(&record.made_from);
        }
        let (health, reason) = (record.health, record.message.clone());
        let changed = self.observed.instances[index].health != health;
        if changed {
            self.health_changed(index, health, reason);
        }
        self.view.instances[position] = Arc::new(record);
        self.changed();
        // Only its own wiring and that of the instances requiring it can have changed:
        // looking at every instance on every write made a deploy cubic in its size.
        let touched: Vec<usize> = std::iter::once(index)
            .chain(self.dependents[index].iter().copied())
            .collect();
        self.refresh_wiring_of(touched);
        changed
    }

    /// Tells the reconciler what instance `index`'s health checks concluded; a deploy that
    /// fails by it says why for that instance too.
    fn health_changed(&mut self, index: usize, health: Option<Health>, reason: Option<String>) {
        let failed_before = self.observed.failure.is_some();
        self.observed
            .health_changed(index, health, reason.as_deref());
        if !failed_before && self.observed.failure.is_some() {
            let id = self.observed.instances[index].id.clone();
            let why = reason.unwrap_or_else(|| "its health checks fail".into());
            self.failures.push((id, why));
        }
    }

    /// Marks the instances here that wait for, or must be made again after, instances they
    /// require on other hosts (see [`remote`]).
    fn refresh_wiring(&mut self) {
        self.refresh_wiring_of(0..self.observed.instances.len());
    }

    fn refresh_wiring_of(&mut self, indices: impl IntoIterator<Item = usize>) {
        let host = &self.args.context.host;
        for index in indices {
            let (awaits, stale) = remote::wiring_state(&self.view, host, self.records[index]);
            let instance = &mut self.observed.instances[index];
            instance.awaits = awaits;
            instance.stale = stale;
        }
    }

    /// Reads the records of the instances required here on other hosts, beside the actor.
    fn read_remote(&mut self, myself: &ActorRef<ServiceMsg>) {
        let (store, view) = (self.args.context.store.clone(), self.view());
        let (remote, myself) = (self.remote.clone(), myself.clone());
        tokio::spawn(async move {
            let read = store
                .clone()
                .spawn_blocking(move || remote::read(&store, &view, &remote));
            let read = match read.await {
                Ok(read) => read.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let _ = myself.cast(ServiceMsg::RemoteRead(read));
        });
    }

    /// Takes in what was read of the instances required here on other hosts.
    fn remote_read(&mut self, read: Result<Vec<(usize, Arc<InstanceRecord>)>, String>) {
        match read {
            Ok(records) => {
                for (position, record) in records {
                    if self.view.instances[position] != record {
                        self.view.instances[position] = record;
                        self.changed();
                    }
                }
                self.refresh_wiring();
            }
            Err(error) => {
                tracing::warn!(service = %self.args.name, %error, "could not read the instances it requires on other hosts")
            }
        }
    }

    /// Takes in how a NodeInstance's step ended (its records came before).
    fn finished(&mut self, report: StepReport) {
        let index = report.index;
        let Some(&position) = self.records.get(index) else {
            return;
        };
        let step = self.observed.instances[index].busy.map(|(step, _)| step);
        let record = &self.view.instances[position];
        if let (Some(Step::Renew), Some(_)) = (step, &report.error) {
            // Removed, half made again, or not: either definition may have to remove it.
            self.made_from[index] = None;
        }
        if let (Some(Step::Deploy | Step::Renew), Some(error)) = (step, &report.error) {
            let why = record.message.clone().unwrap_or_else(|| error.clone());
            self.failures.push((record.id.clone(), why));
        }
        if let Some(error) = &report.error {
            tracing::warn!(service = %self.args.name, instance = %record.id, ?step, %error, "step failed");
        }
        let crash = (step == Some(Step::Check)).then(|| crash(record)).flatten();
        let outcome = Outcome {
            state: record.state,
            error: report.error,
        };
        let now = self.now();
        self.observed.finished(index, outcome, now);
        if step == Some(Step::Check) {
            let failed_before = self.observed.failure.is_some();
            let settling = self.observed.instances[index].settling();
            let why = crash.clone();
            self.observed.looked_after_start(index, crash, now);
            if settling != self.observed.instances[index].settling() {
                // Watchers (a deploy waiting for it) see it settled.
                self.changed();
            }
            if let (false, true, Some(why)) = (failed_before, self.observed.failure.is_some(), why)
            {
                let id = self.observed.instances[index].id.clone();
                self.failures.push((id, why));
            }
        }
        self.track(index);
    }

    /// The store took the deploy's failure: the view says what it says.
    fn failure_recorded(&mut self) {
        let Some((message, failures)) = self.failure_record.take() else {
            return;
        };
        let service = Arc::make_mut(&mut self.view.service);
        service.phase = ServicePhase::Failed;
        service.message = Some(message);
        if let Some(failures) = failures {
            for record in &mut self.view.instances {
                Arc::make_mut(record).roll_back(&failures);
            }
        }
        self.changed();
    }

    /// `delete` was asked: the store now says the service and its instances are being deleted.
    /// Another host's part of the deploy failed: this part fails too (once), and is undone or
    /// kept as the service says.
    fn failed_elsewhere(&mut self, message: String) {
        let observed = &mut self.observed;
        if self.goal == Goal::Run && !observed.failed && observed.failure.is_none() {
            observed.failure = Some(message);
        }
    }

    fn delete(&mut self) {
        self.goal = Goal::Delete;
        Arc::make_mut(&mut self.view.service).phase = ServicePhase::Deleting;
        for record in &mut self.view.instances {
            let record = Arc::make_mut(record);
            record.state = InstanceState::Deleting;
            record.message = None;
        }
        self.changed();
        self.observed.deleting();
    }

    /// Where the output of the wanted instances goes, found beside the actor: delegates may
    /// take a while to answer, and steps go on meanwhile.
    fn logs(
        &mut self,
        instance: Option<String>,
        reply: ractor::RpcReplyPort<
            Result<Vec<(String, crate::delegates::protocol::LogSource)>, RuntimeError>,
        >,
    ) {
        let ids: Vec<String> = self
            .observed
            .instances
            .iter()
            .map(|i| i.id.clone())
            .filter(|id| instance.as_ref().is_none_or(|wanted| wanted == id))
            .collect();
        if let Some(wanted) = instance.filter(|_| ids.is_empty()) {
            let _ = reply.send(Err(RuntimeError::NotFound(format!(
                "service {} has no instance {wanted} on this host",
                self.args.name
            ))));
            return;
        }
        let (context, view) = (self.args.context.clone(), self.view());
        tokio::spawn(async move {
            let mut sources = Vec::new();
            for id in ids {
                match node_instance::log_source(&context, &view, &id).await {
                    Ok(source) => sources.push((id, source)),
                    Err(error) => {
                        let _ = reply.send(Err(error));
                        return;
                    }
                }
            }
            let _ = reply.send(Ok(sources));
        });
    }
}

impl ServiceState {
    /// How a command runs in `instance`, asked of its delegate beside the actor.
    fn exec(
        &mut self,
        instance: String,
        reply: ractor::RpcReplyPort<Result<crate::delegates::protocol::ExecSource, RuntimeError>>,
    ) {
        if !self.observed.instances.iter().any(|i| i.id == instance) {
            let _ = reply.send(Err(RuntimeError::NotFound(format!(
                "service {} has no instance {instance} on this host",
                self.args.name
            ))));
            return;
        }
        let (context, view) = (self.args.context.clone(), self.view());
        tokio::spawn(async move {
            let _ = reply.send(node_instance::exec_source(&context, &view, &instance).await);
        });
    }
}

/// Why `record`, as a look at it just wrote it, no longer runs as it was started: it failed,
/// is being restarted, or was restarted (its delegate counts restarts). A workload that ended
/// cleanly and is not restarted (a job) did not crash.
fn crash(record: &InstanceRecord) -> Option<String> {
    let message = record.message.clone();
    let restarts = (record.attributes.get("restarts")).and_then(serde_json::Value::as_u64);
    match record.state {
        InstanceState::Failed if message.as_deref() == Some(node_instance::STOPPED) => None,
        InstanceState::Failed => Some(message.unwrap_or_else(|| "it stopped".into())),
        _ if message
            .as_deref()
            .is_some_and(|m| m.starts_with(node_instance::RESTARTING)) =>
        {
            message
        }
        _ if restarts.is_some_and(|n| n > 0) => Some(format!(
            "it was restarted {} times",
            restarts.unwrap_or_default()
        )),
        _ => None,
    }
}

/// The failed instances, when the deploy was rolled back (their records say why).
fn failures_if(undone: bool, failures: &[(String, String)]) -> Option<Failures> {
    undone.then(|| failures.to_vec())
}

/// Runs a store write beside the actor and reports its end to it.
fn spawn_write(
    myself: &ActorRef<ServiceMsg>,
    write: Write,
    work: impl Future<Output = Result<(), RuntimeError>> + Send + 'static,
) {
    let myself = myself.clone();
    tokio::spawn(async move {
        let error = work.await.err().map(|error| error.to_string());
        let _ = myself.cast(ServiceMsg::Recorded { write, error });
    });
}

/// The service's node instances by id.
/// (Those an update under way removes, from what the service ran before.)
fn nodes_by_id(view: &ServiceView) -> HashMap<&str, &crate::tosca::instance::NodeInstance> {
    let service = &view.service;
    let previous = service.update.iter().flat_map(|u| u.previous.nodes.iter());
    let mut nodes: HashMap<&str, _> = previous.map(|node| (node.id.as_str(), node)).collect();
    let nodes_now = service.instantiation.nodes.iter();
    nodes.extend(nodes_now.map(|node| (node.id.as_str(), node)));
    nodes
}

/// The instances of `view` on `host`, dependencies first, as the reconciler sees them, with
/// each one's position in `view.instances`.
fn instances_on(view: &ServiceView, host: &str) -> (Vec<Instance>, Vec<usize>) {
    let nodes = nodes_by_id(view);
    let mut index: HashMap<&str, usize> = HashMap::new();
    let (mut instances, mut positions) = (Vec::new(), Vec::new());
    for (position, record) in view.instances.iter().enumerate() {
        if record.host != host {
            continue;
        }
        let requires = nodes
            .get(record.id.as_str())
            .map(|node| {
                node.relationships
                    .iter()
                    .filter_map(|r| index.get(r.target.as_str()).copied())
                    .collect()
            })
            .unwrap_or_default();
        index.insert(&record.id, instances.len());
        let mut instance = Instance::new(record.id.clone(), requires, record.state);
        instance.health = record.health;
        let node = nodes.get(record.id.as_str());
        instance.rewires = node.is_some_and(|node| is_a(&node.types, types::LOAD_BALANCER));
        instance.settles = node.is_some_and(|node| is_a(&node.types, types::WORKLOAD));
        instances.push(instance);
        positions.push(position);
    }
    (instances, positions)
}

/// The kind of delegate of the instances of `view` at `positions`.
fn delegate_kinds(view: &ServiceView, positions: &[usize]) -> Vec<Option<DelegateKind>> {
    let nodes = nodes_by_id(view);
    let kind = |&position: &usize| {
        let node = nodes.get(view.instances[position].id.as_str())?;
        // A policy that cannot be followed was refused at deploy; its instance has none.
        let recorded = view.instances[position].attributes.get(DELEGATE_ATTRIBUTE);
        chosen(
            &view.service.instantiation.policies,
            node,
            recorded.and_then(|name| name.as_str()),
        )
        .ok()?
    };
    positions.iter().map(kind).collect()
}

/// For each instance, the instances that require it.
fn dependents(instances: &[Instance]) -> Vec<Vec<usize>> {
    let mut dependents = vec![Vec::new(); instances.len()];
    for (index, instance) in instances.iter().enumerate() {
        for &required in &instance.requires {
            dependents[required].push(index);
        }
    }
    dependents
}

impl Actor for Service {
    type Msg = ServiceMsg;
    type State = ServiceState;
    type Arguments = ServiceArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: ServiceArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let view = args
            .context
            .store
            .load_service(&args.namespace, &args.name)?
            .ok_or_else(|| RuntimeError::NotFound(format!("service {}", args.name)))?;
        let (instances, records) = instances_on(&view, &args.context.host);
        let remote = remote::required_elsewhere(&view, &args.context.host, &records);
        let dependents = dependents(&instances);
        let delegates = delegate_kinds(&view, &records);
        let instance_count = instances.len();
        let mine: Vec<&InstanceRecord> = records.iter().map(|&p| &*view.instances[p]).collect();
        // Made before digests were recorded: from what the update under way changes, the
        // instantiation before it (or, while it is rolled back, the one it goes back to).
        let before = view
            .service
            .update
            .as_ref()
            .map(|update| match update.rolling_back {
                None => &update.previous,
                Some(_) => &view.service.instantiation,
            });
        let made_from = update::made_from(&mine, before);
        let mut observed = Observed::new(instances, args.start == ServiceStart::Resume);
        observed.failed = view.service.phase == ServicePhase::Failed;
        observed.settle = args.context.settle;
        let mut state = ServiceState {
            goal: Goal::Run,
            args,
            view,
            snapshot: None,
            observed,
            records,
            dependents,
            delegates,
            remote,
            actors: Vec::new(),
            by_actor: HashMap::new(),
            failures: Vec::new(),
            born: Instant::now(),
            next_wake: None,
            failure_record: None,
            version: 1,
            watchers: Vec::new(),
            controls: Vec::new(),
            checks: health::Checks::new(instance_count),
            made_from,
            before: None,
            ended_message: None,
            news_while_recording: false,
        };
        state.mark_update();
        if state.view.service.phase == ServicePhase::Deleting {
            state.delete();
        }
        state.refresh_wiring();
        if !state.remote.is_empty() {
            myself.send_after(CHECK_PERIOD, || ServiceMsg::ReadRemote);
        }
        for index in 0..state.observed.instances.len() {
            state.spawn_instance(&myself, index).await?;
        }
        Ok(state)
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut ServiceState,
    ) -> Result<(), ActorProcessingErr> {
        state.advance(&myself);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut ServiceState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            // Asked again (by the CLI here and the store's news) changes nothing.
            ServiceMsg::Delete if state.goal == Goal::Delete => {}
            ServiceMsg::Delete => state.delete(),
            ServiceMsg::FailedElsewhere(message) => state.failed_elsewhere(message),
            ServiceMsg::Resume(kinds) => {
                let delegates = &state.delegates;
                let again = |index: usize| delegates[index].is_some_and(|k| kinds.contains(&k));
                state.observed.readopt(again);
            }
            // A record changes nothing the reconciler decides on (how the step ended does)
            // unless the instance's health changed: otherwise only watchers hear of it.
            ServiceMsg::Wrote { index, record } => {
                if !state.wrote(index, *record) {
                    state.answer_watchers();
                    return Ok(());
                }
            }
            ServiceMsg::Tried {
                index,
                run,
                check,
                outcome,
            } => state.tried(&myself, index, run, check, outcome),
            ServiceMsg::Finished(report) => state.finished(report),
            ServiceMsg::Update { service, plan } => state.take_update(*service, plan),
            ServiceMsg::Changed { service, plan } => state.store_changed(*service, plan),
            ServiceMsg::PartFinished(done) => state.part_finished(&myself, done),
            ServiceMsg::Wake => state.next_wake = None,
            ServiceMsg::UpdateWriteOver => {
                state.observed.recording = false;
                state.read_news_again(&myself);
            }
            ServiceMsg::Recorded { write, error } => match (write, error) {
                (Write::Removal, None) => {
                    myself.stop(Some("deleted".into()));
                    return Ok(());
                }
                (Write::Removal, Some(error)) => {
                    tracing::warn!(service = %state.args.name, %error, "could not remove its records; trying again");
                    let now = state.now();
                    state.observed.removal_failed(now);
                }
                (Write::Failure, None) => state.failure_recorded(),
                (Write::Failure, Some(error)) => {
                    tracing::warn!(service = %state.args.name, %error, "could not record its failure")
                }
                (Write::Update { over }, error) => state.update_recorded(&myself, over, error),
            },
            ServiceMsg::Logs { instance, reply } => {
                state.logs(instance, reply);
                return Ok(());
            }
            ServiceMsg::Records(reply) => {
                let positions = state.records.iter();
                let records = positions
                    .map(|&p| state.view.instances[p].clone())
                    .collect();
                let _ = reply.send(records);
                return Ok(());
            }
            ServiceMsg::Exec { instance, reply } => {
                state.exec(instance, reply);
                return Ok(());
            }
            ServiceMsg::Watch { after, reply } => {
                let until = Instant::now() + WATCH_PATIENCE;
                state.watchers.push(Watcher {
                    after,
                    until,
                    reply,
                });
                myself.send_after(WATCH_PATIENCE, || ServiceMsg::WatchPatienceOver);
            }
            ServiceMsg::WatchPatienceOver => {}
            ServiceMsg::ReadRemote => {
                state.read_remote(&myself);
                return Ok(());
            }
            ServiceMsg::RemoteRead(read) => {
                state.remote_read(read);
                myself.send_after(CHECK_PERIOD, || ServiceMsg::ReadRemote);
            }
            ServiceMsg::Control {
                action,
                instance,
                wait,
                reply,
            } => state.control(action, instance, wait, reply),
        }
        state.advance(&myself);
        state.answer_watchers();
        state.answer_controls();
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut ServiceState,
    ) -> Result<(), ActorProcessingErr> {
        // Deleted (or stopping with the agent): watchers hear that it is gone from here.
        let gone = format!("there is no service {}", state.args.name);
        for watcher in state.watchers.drain(..) {
            let _ = watcher
                .reply
                .send(Err(RuntimeError::NotFound(gone.clone())));
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut ServiceState,
    ) -> Result<(), ActorProcessingErr> {
        // A NodeInstance actor only ends when this Service ends: any other end is a crash (a
        // failure, or a kill); it is spawned again, and the step it was taking failed.
        let (cell, reason) = match event {
            SupervisionEvent::ActorFailed(cell, error) => (cell, error.to_string()),
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                (cell, reason.unwrap_or_else(|| "killed".into()))
            }
            _ => return Ok(()),
        };
        let Some(index) = state.by_actor.remove(&cell.get_id()) else {
            return Ok(());
        };
        let id = state.observed.instances[index].id.clone();
        tracing::warn!(service = %state.args.name, instance = %id, %reason, "node instance actor ended; restarting it");
        state.spawn_instance(&myself, index).await?;
        if state.observed.instances[index].busy.is_some() {
            state.finished(StepReport {
                index,
                error: Some(format!("its actor stopped during the step ({reason})")),
            });
            state.advance(&myself);
        }
        Ok(())
    }
}
