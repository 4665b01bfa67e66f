//! What a Service actor does next, decided by a pure function over what it wants and what it
//! has seen: `reconcile(desired, observed, now) → effects`. The actor shell carries the effects
//! out (as messages to NodeInstance actors and the LockManager) and feeds what they report back
//! through [`Observed::finished`]. Deploy, adoption after a restart, periodic checks, retries,
//! rollback and delete are all this one loop; nothing here touches an actor, a store or a
//! process, so it is tested as a table of cases.

use std::time::Duration;

use crate::state::records::{Health, InstanceState, OnFailure};

/// How often a running instance is looked at.
pub const CHECK_PERIOD: Duration = Duration::from_secs(2);

/// How long a workload must keep running after it was started by a deploy or an update for
/// them to count it as up, unless the agent is given another (`--settle-time`): one that stops
/// or is restarted sooner (it exits at once, or crash-loops) fails them. Checked once it is
/// over, by a look at the workload.
pub const SETTLE_TIME: Duration = Duration::from_millis(500);

/// Checks due this much later are run with the ones due now, so a service's instances are
/// looked at in batches rather than one tick each.
const CHECK_SLACK: Duration = Duration::from_millis(500);

/// The first wait before a failed delete is tried again; it doubles up to [`RETRY_CAP`].
const RETRY_BASE: Duration = Duration::from_secs(1);
const RETRY_CAP: Duration = Duration::from_secs(60);

/// What the service is asked to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// Every instance runs.
    Run,
    /// Nothing of it is left.
    Delete,
}

/// One step a NodeInstance actor takes on its instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Create and start it.
    Deploy,
    /// Re-attach to what runs after this agent (or its delegates) restarted.
    Adopt,
    /// Look at it and record what changed.
    Check,
    /// Remove it.
    Delete,
    /// Stop it, keeping what it has (`service stop`).
    Stop,
    /// Start it again after a stop.
    Start,
    /// Remove it and make it again with its requirements' current wiring (an instance it
    /// requires moved to another host).
    Replace,
    /// Remove it as the definition it was made from says and make it from the current one
    /// (`service update` changed it).
    Renew,
}

/// Whether an instance is asked to run (`service start|stop|restart`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// It runs.
    Running,
    /// It is stopped, and stays so until started.
    Stopped,
    /// It is stopped, then started again.
    Restarted,
}

/// One instance on this host: what it needs, and what was last seen of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// Its id.
    pub id: String,
    /// The instances (indices into [`Observed::instances`]) it requires: deployed before it,
    /// deleted after it.
    pub requires: Vec<usize>,
    /// Its state as last recorded.
    pub state: InstanceState,
    /// The step in flight, and the adoption generation it began in.
    pub busy: Option<(Step, u64)>,
    /// The generation in which it was last deployed or adopted.
    pub adopted: u64,
    /// When a step last ended on it (a check is due [`CHECK_PERIOD`] later).
    pub looked_at: Option<Duration>,
    /// Its delete finished.
    pub gone: bool,
    /// Failed deletes so far, and when the next may run.
    pub retry: Option<(u32, Duration)>,
    /// Whether it is asked to run.
    pub wanted: Wanted,
    /// Why its last stop or start failed, since it was last asked to stop or start.
    pub refused: Option<String>,
    /// An instance it requires on another host does not run yet: its deploy waits.
    pub awaits: bool,
    /// An instance it requires on another host now reports another address, port or path
    /// than it was made with: it is made again.
    pub stale: bool,
    /// What its health checks concluded, when its node has checks and it runs.
    pub health: Option<Health>,
    /// Whether its restart policy restarts it when its checks find it unhealthy.
    pub restarts_unhealthy: bool,
    /// Its delegate takes new wiring in place when it looks at it (a load balancer writes
    /// its configuration again and reloads): it is checked, never made again, when stale.
    pub rewires: bool,
    /// What runs was made from another definition than the service's now: an update makes
    /// it again.
    pub outdated: bool,
    /// An update made it again; it counts against the update's parallelism until ready.
    pub renewed: bool,
    /// It runs a workload, which must keep running for [`SETTLE_TIME`] after it starts.
    pub settles: bool,
    /// When its workload last started (a step ended with it running).
    pub started: Option<Duration>,
    /// A look after [`SETTLE_TIME`] found its workload still running since it started.
    pub settled: bool,
    /// The service no longer has it (an update removed it): it is deleted once the rest of
    /// the update is done.
    pub retired: bool,
}

impl Instance {
    /// Whether it is there for the instances that require it: it runs and, if it has health
    /// checks, they pass.
    pub fn is_ready(&self) -> bool {
        self.state == InstanceState::Running && self.health.is_none_or(|h| h == Health::Healthy)
    }

    /// Whether its workload started and has not yet been seen running [`SETTLE_TIME`] later.
    pub fn settling(&self) -> bool {
        self.settles && self.started.is_some() && !self.settled
    }

    /// Whether whoever waits for its workload to be up must wait still: it settles, or a step
    /// that starts it is under way (its record may say running before the step ends).
    pub fn not_up_yet(&self) -> bool {
        let starting = matches!(
            self.busy,
            Some((Step::Deploy | Step::Renew | Step::Replace | Step::Start, _))
        );
        self.settling() || (self.settles && starting)
    }
}

impl Instance {
    /// An instance in `state`, requiring `requires`, untouched so far.
    pub fn new(id: impl Into<String>, requires: Vec<usize>, state: InstanceState) -> Self {
        Instance {
            id: id.into(),
            requires,
            state,
            busy: None,
            adopted: 0,
            looked_at: None,
            gone: false,
            retry: None,
            wanted: match state {
                InstanceState::Stopped => Wanted::Stopped,
                _ => Wanted::Running,
            },
            refused: None,
            awaits: false,
            stale: false,
            health: None,
            restarts_unhealthy: false,
            rewires: false,
            outdated: false,
            renewed: false,
            retired: false,
            settles: false,
            started: None,
            settled: false,
        }
    }
}

/// What the Service actor has seen of its service.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// Its instances on this host, dependencies first.
    pub instances: Vec<Instance>,
    /// Raised when whatever ran the workloads restarted: every running instance is adopted
    /// again (an instance is adopted when its `adopted` equals this).
    pub generation: u64,
    /// Why the deploy failed, once a deploy step failed.
    pub failure: Option<String>,
    /// Why undoing a failed deploy failed.
    pub undo_failure: Option<String>,
    /// The failure is recorded (or the service was failed when this actor started): nothing
    /// more happens until it is deleted.
    pub failed: bool,
    /// The records' removal is under way.
    pub removing: bool,
    /// The records' removal failed: when it is tried again.
    pub remove_after: Option<Duration>,
    /// Every instance was ready at once since the deploy began (or the service was deployed
    /// before this actor started): from then on an unhealthy instance is restarted rather
    /// than failing the deploy.
    pub through: bool,
    /// An update under way.
    pub update: Option<Updating>,
    /// A service-wide write of the update is under way: nothing is decided until it ends.
    pub recording: bool,
    /// This host's part of the update's stage is recorded done; the update ends when the
    /// other hosts' parts are (their news comes from the store).
    pub part_done: bool,
    /// How long a workload must keep running after it starts (the agent's, by default
    /// [`SETTLE_TIME`]).
    pub settle: Duration,
}

/// An update under way, as the reconciler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Updating {
    /// How many instances are made again at once.
    pub max_parallel: usize,
    /// Why the update failed, while it is rolled back.
    pub rolling_back: Option<String>,
}

impl Observed {
    /// A service whose instances are as recorded; `resume` when they may run already (after an
    /// agent restart), so running ones are adopted before anything else.
    pub fn new(instances: Vec<Instance>, resume: bool) -> Self {
        Observed {
            instances,
            generation: u64::from(resume),
            failure: None,
            undo_failure: None,
            failed: false,
            removing: false,
            remove_after: None,
            through: resume,
            update: None,
            recording: false,
            part_done: false,
            settle: SETTLE_TIME,
        }
    }
}

/// What the shell is asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Run a step on an instance (by index).
    Run(usize, Step),
    /// Record the deploy's failure with this message.
    RecordFailure {
        /// The service's message.
        message: String,
        /// Whether the deploy was rolled back (in full or not: the instances it removed are
        /// recorded as such, the failed ones keep why).
        undone: bool,
    },
    /// Every instance is gone: remove the service's records, then stop.
    Remove,
    /// The deploy cannot go on (a required instance failed): fail it for this reason.
    Abandon(String),
    /// A step of the update failed, for this reason: go back to what the service ran before
    /// (the instantiations swap; what was made again is made again as it was).
    RollBack(String),
    /// Every instance is made from the service's definition and ready, and the ones it no
    /// longer has are gone: the update is over.
    FinishUpdate,
}

/// The effects due now, and when to look again if nothing reports before.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// What to do now.
    pub effects: Vec<Effect>,
    /// When something becomes due (a check, a retry), measured like `now`.
    pub wake: Option<Duration>,
}

impl Decision {
    fn wake_at(&mut self, at: Duration) {
        self.wake = Some(self.wake.map_or(at, |wake| wake.min(at)));
    }
}

/// What to do next, given what is wanted and what was seen; `now` is time since the actor
/// started.
pub fn reconcile(goal: Goal, on_failure: OnFailure, seen: &Observed, now: Duration) -> Decision {
    let mut decision = Decision::default();
    if seen.removing || seen.recording {
        return decision;
    }
    match goal {
        Goal::Delete => delete(seen, now, &mut decision),
        Goal::Run if seen.failed => {}
        Goal::Run if seen.failure.is_some() && seen.update.is_some() => {
            fail_update(seen, &mut decision)
        }
        Goal::Run if seen.failure.is_some() => fail(on_failure, seen, &mut decision),
        Goal::Run => {
            run(seen, now, &mut decision);
            update(seen, now, &mut decision);
        }
    }
    decision
}

/// Deploys what is pending, adopts what may run already, checks what runs.
fn run(seen: &Observed, now: Duration, decision: &mut Decision) {
    if let Some(reason) = blocked(seen) {
        decision.effects.push(Effect::Abandon(reason));
        return;
    }
    let adopted = |i: usize| seen.instances[i].adopted == seen.generation;
    let stop_waits = stop_waits(seen);
    // Checks wait until the deploy is through: they would only compete with it, and its
    // steps report what they made anyway.
    // (An instance held back by a stopped requirement is not deploying.)
    let held = |i: &Instance| {
        let stopped = |&r: &usize| seen.instances[r].state == InstanceState::Stopped;
        i.requires.iter().any(stopped)
    };
    let deploying = seen.instances.iter().any(|i| {
        let pending = matches!(i.state, InstanceState::Pending | InstanceState::Creating);
        (pending && !held(i) && !i.awaits) || matches!(i.busy, Some((Step::Deploy, _)))
    });
    for (index, instance) in seen.instances.iter().enumerate() {
        // What an update removes or makes again is its business (see [`update`]), once adopted.
        let updated = instance.outdated && adopted(index);
        if instance.busy.is_some() || instance.retired || updated {
            continue;
        }
        let requires_ready = instance.requires.iter().all(|&r| {
            let required = &seen.instances[r];
            required.busy.is_none() && adopted(r) && required.is_ready()
        });
        let requires_adopted = instance
            .requires
            .iter()
            .all(|&r| seen.instances[r].busy.is_none() && adopted(r));
        let stopping = instance.wanted != Wanted::Running;
        let step = match instance.state {
            InstanceState::Pending | InstanceState::Creating => {
                (requires_ready && !instance.awaits).then_some(Step::Deploy)
            }
            // Adopted once its requirements are: dependencies first.
            InstanceState::Running | InstanceState::Failed if !adopted(index) => {
                requires_adopted.then_some(Step::Adopt)
            }
            // Stopped after the instances that require it and are stopping too.
            InstanceState::Running | InstanceState::Failed if stopping => {
                (!stop_waits[index]).then_some(Step::Stop)
            }
            // Its deploy step failed after the service was through (an instance a failover
            // moved here): deployed again once its wait is over, the rest left alone.
            InstanceState::Failed if instance.retry.is_some() => {
                let (_, due) = instance.retry.unwrap_or_default();
                if due > now {
                    decision.wake_at(due);
                }
                (due <= now).then_some(Step::Deploy)
            }
            // Looked at once its settle time is over, even while a deploy goes on.
            InstanceState::Running if instance.settling() => {
                let due = instance.started.unwrap_or(now) + seen.settle;
                if due > now {
                    decision.wake_at(due);
                }
                (due <= now).then_some(Step::Check)
            }
            InstanceState::Running | InstanceState::Failed if deploying => None,
            InstanceState::Running if instance.stale && !instance.rewires => Some(Step::Replace),
            InstanceState::Running | InstanceState::Failed => {
                let due = instance.looked_at.map_or(now, |at| at + CHECK_PERIOD);
                let check = due <= now + CHECK_SLACK;
                if !check {
                    decision.wake_at(due);
                }
                check.then_some(Step::Check)
            }
            InstanceState::Stopped if !stopping => requires_ready.then_some(Step::Start),
            InstanceState::Stopped | InstanceState::Deleting => None,
        };
        if let Some(step) = step {
            decision.effects.push(Effect::Run(index, step));
        }
    }
}

/// Carries an update on: makes the outdated instances again, dependencies first, each once
/// those it requires are ready and at most `max_parallel` at once (counting those made again
/// and not yet ready); then deletes the instances the service no longer has, dependents
/// first; then records this host's part done (the update ends once every host's is).
fn update(seen: &Observed, now: Duration, decision: &mut Decision) {
    let Some(update) = &seen.update else {
        return;
    };
    let renewing = |i: &Instance| matches!(i.busy, Some((Step::Renew, _)));
    let up = |i: &Instance| i.is_ready() && !i.settling();
    let in_flight = (seen.instances.iter())
        .filter(|i| renewing(i) || (i.renewed && !up(i)))
        .count();
    let mut room = update.max_parallel.max(1).saturating_sub(in_flight);
    for (index, instance) in seen.instances.iter().enumerate() {
        let ready = |&r: &usize| {
            let required = &seen.instances[r];
            required.busy.is_none() && !required.outdated && up(required)
        };
        let due = instance.outdated
            && instance.busy.is_none()
            && instance.adopted == seen.generation
            && !instance.awaits
            && instance.requires.iter().all(ready);
        if room > 0 && due {
            decision.effects.push(Effect::Run(index, Step::Renew));
            room -= 1;
        }
    }
    let settled = |i: &Instance| {
        let stopped = i.state == InstanceState::Stopped && i.wanted == Wanted::Stopped;
        i.retired || (i.busy.is_none() && !i.outdated && (up(i) || stopped))
    };
    if !seen.instances.iter().all(settled) {
        return;
    }
    let left = |i: &Instance| i.retired && !i.gone;
    for index in deletable(seen, left) {
        match seen.instances[index].retry {
            Some((_, at)) if at > now => decision.wake_at(at),
            _ => decision.effects.push(Effect::Run(index, Step::Delete)),
        }
    }
    if !seen.part_done && !seen.instances.iter().any(|i| i.busy.is_some() || left(i)) {
        decision.effects.push(Effect::FinishUpdate);
    }
}

/// After a step of an update failed: once no step is under way, rolls the update back; when
/// the rollback fails too, records that and leaves every instance as it is.
fn fail_update(seen: &Observed, decision: &mut Decision) {
    if seen.instances.iter().any(|i| i.busy.is_some()) {
        return;
    }
    let error = seen.failure.clone().unwrap_or_default();
    let rolling_back = seen.update.as_ref().and_then(|u| u.rolling_back.as_ref());
    decision.effects.push(match rolling_back {
        None => Effect::RollBack(error),
        Some(first) => Effect::RecordFailure {
            message: format!(
                "the update failed ({first}), and rolling it back failed too ({error}); its \
                 instances are left as they are"
            ),
            undone: false,
        },
    });
}

/// For each instance, whether its stop must wait: an instance that requires it is stopping
/// too and still runs (or is busy).
fn stop_waits(seen: &Observed) -> Vec<bool> {
    let mut waits = vec![false; seen.instances.len()];
    for instance in &seen.instances {
        let still_up = instance.busy.is_some()
            || matches!(
                instance.state,
                InstanceState::Running | InstanceState::Failed
            );
        if instance.wanted != Wanted::Running && still_up {
            for &r in &instance.requires {
                waits[r] = true;
            }
        }
    }
    waits
}

/// Why the deploy cannot go on, if an instance still to deploy requires one that failed.
fn blocked(seen: &Observed) -> Option<String> {
    let settled = |i: &Instance| i.busy.is_none() && i.adopted == seen.generation;
    seen.instances
        .iter()
        .filter(|i| i.busy.is_none())
        .filter(|i| matches!(i.state, InstanceState::Pending | InstanceState::Creating))
        .find_map(|instance| {
            let failed = instance
                .requires
                .iter()
                .map(|&r| &seen.instances[r])
                .find(|r| settled(r) && r.state == InstanceState::Failed)?;
            Some(format!(
                "{}: it requires {}, which failed",
                instance.id, failed.id
            ))
        })
}

/// After a deploy step failed: waits for the steps in flight, undoes what the deploy made
/// (dependents first) unless the service keeps it, and records the failure once.
fn fail(on_failure: OnFailure, seen: &Observed, decision: &mut Decision) {
    if seen.instances.iter().any(|i| i.busy.is_some()) {
        return;
    }
    let error = seen.failure.as_deref().unwrap_or_default();
    let message = match (on_failure, &seen.undo_failure) {
        (OnFailure::Keep, _) => format!("{error}; its instances are left as they are"),
        (OnFailure::Rollback, Some(undo)) => {
            format!("{error}; undoing it failed too ({undo}), what is left stays as it is")
        }
        (OnFailure::Rollback, None) => {
            let made = |i: &Instance| !i.gone && i.state != InstanceState::Pending;
            let deletable = deletable(seen, made);
            if !deletable.is_empty() {
                decision
                    .effects
                    .extend(deletable.into_iter().map(|i| Effect::Run(i, Step::Delete)));
                return;
            }
            if seen.instances.iter().any(made) {
                return;
            }
            format!("{error}; what the deploy made was removed")
        }
    };
    let undone = on_failure == OnFailure::Rollback;
    decision
        .effects
        .push(Effect::RecordFailure { message, undone });
}

/// Deletes every instance, dependents first, retrying failed deletes with a growing wait; once
/// nothing is left, removes the records.
fn delete(seen: &Observed, now: Duration, decision: &mut Decision) {
    let left = |i: &Instance| !i.gone;
    for index in deletable(seen, left) {
        match seen.instances[index].retry {
            Some((_, at)) if at > now => decision.wake_at(at),
            _ => decision.effects.push(Effect::Run(index, Step::Delete)),
        }
    }
    let busy = seen.instances.iter().any(|i| i.busy.is_some());
    if !busy && !seen.instances.iter().any(left) {
        match seen.remove_after {
            Some(at) if at > now => decision.wake_at(at),
            _ => decision.effects.push(Effect::Remove),
        }
    }
}

/// The instances matching `remaining` that are idle and that no remaining instance requires.
fn deletable(seen: &Observed, remaining: impl Fn(&Instance) -> bool) -> Vec<usize> {
    let mut required = vec![false; seen.instances.len()];
    for instance in seen.instances.iter().filter(|i| remaining(i)) {
        for &r in &instance.requires {
            required[r] = true;
        }
    }
    (0..seen.instances.len())
        .filter(|&i| {
            let instance = &seen.instances[i];
            remaining(instance) && instance.busy.is_none() && !required[i]
        })
        .collect()
}

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The instance's state as recorded after it.
    pub state: InstanceState,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl Observed {
    /// Marks what the shell began doing for `effect`.
    pub fn began(&mut self, effect: &Effect) {
        match effect {
            Effect::Run(index, step) => {
                self.instances[*index].busy = Some((*step, self.generation));
            }
            Effect::RecordFailure { .. } => self.failed = true,
            Effect::Remove => self.removing = true,
            Effect::Abandon(reason) => self.failure = Some(reason.clone()),
            Effect::RollBack(_) | Effect::FinishUpdate => self.recording = true,
        }
    }

    /// Takes in how a step on instance `index` ended, at `now`.
    pub fn finished(&mut self, index: usize, outcome: Outcome, now: Duration) {
        let instance = &mut self.instances[index];
        let Some((step, generation)) = instance.busy.take() else {
            return;
        };
        instance.state = outcome.state;
        instance.looked_at = Some(now);
        if matches!(
            step,
            Step::Deploy | Step::Adopt | Step::Replace | Step::Renew
        ) {
            instance.adopted = generation;
        }
        let started = matches!(
            step,
            Step::Deploy | Step::Renew | Step::Replace | Step::Start
        );
        if started && outcome.state == InstanceState::Running {
            // With no settle time, a workload counts as up once started.
            (instance.started, instance.settled) = (Some(now), self.settle.is_zero());
        }
        match (step, outcome.error) {
            // Once the service is through, one instance that cannot be made (a failover's,
            // on a host where it cannot start) does not undo the service: it is tried again,
            // waiting longer each time.
            (Step::Deploy, Some(_)) if self.through && self.update.is_none() => {
                let failures = instance.retry.map_or(0, |(n, _)| n) + 1;
                instance.retry = Some((failures, now + backoff(failures)));
            }
            (Step::Deploy | Step::Renew, Some(error)) => {
                self.failure.get_or_insert(error);
            }
            (Step::Deploy, None) => instance.retry = None,
            (Step::Renew, None) => {
                instance.outdated = false;
                instance.renewed = true;
            }
            (Step::Delete, None) => {
                instance.gone = true;
                instance.retry = None;
            }
            (Step::Stop, None) if instance.wanted == Wanted::Restarted => {
                instance.wanted = Wanted::Running;
            }
            // Not tried again: whoever asked hears why, and the instance is checked as usual.
            (Step::Stop | Step::Start, Some(error)) => {
                instance.wanted = Wanted::Running;
                instance.refused = Some(error);
            }
            (Step::Delete, Some(error)) => {
                let failures = instance.retry.map_or(0, |(n, _)| n) + 1;
                instance.retry = Some((failures, now + backoff(failures)));
                if self.failure.is_some() {
                    self.undo_failure.get_or_insert(error);
                }
            }
            _ => {}
        }
        self.note_through();
    }

    /// What a look at instance `index` at `now` found of the workload it started: `crash`
    /// says why it no longer runs as it was started (it stopped, or was restarted). Once its
    /// settle time is over, a clean look settles it; a crash fails the deploy or update under
    /// way (afterwards its restart policy deals with it).
    pub fn looked_after_start(&mut self, index: usize, crash: Option<String>, now: Duration) {
        let (failing, settle) = (!self.through || self.update.is_some(), self.settle);
        let instance = &mut self.instances[index];
        let Some(started) = instance.started.filter(|_| instance.settling()) else {
            return;
        };
        match crash {
            // Never up: the deploy or update fails (and whoever waits sees it not up).
            Some(why) if failing => {
                let settle = settle.as_millis();
                let id = &instance.id;
                self.failure.get_or_insert_with(|| {
                    format!("{id}: it did not keep running for {settle} ms after it started: {why}")
                });
            }
            // Restarted on request since: its restart policy deals with it.
            Some(_) => instance.settled = true,
            None if now >= started + settle => instance.settled = true,
            None => {}
        }
        self.note_through();
    }

    /// What instance `index`'s health checks concluded, with why when it is unhealthy. An
    /// instance that turns unhealthy fails the deploy while it is not through, and afterwards
    /// is restarted if its restart policy says so.
    pub fn health_changed(&mut self, index: usize, health: Option<Health>, reason: Option<&str>) {
        let instance = &mut self.instances[index];
        let before = std::mem::replace(&mut instance.health, health);
        if health != Some(Health::Unhealthy) || before == health {
            self.note_through();
            return;
        }
        let why = reason.unwrap_or("its health checks fail");
        if !self.through {
            self.failure
                .get_or_insert_with(|| format!("{}: {why}", instance.id));
        } else if instance.restarts_unhealthy && instance.wanted == Wanted::Running {
            instance.wanted = Wanted::Restarted;
        }
    }

    /// The deploy is through once every instance is ready at once.
    fn note_through(&mut self) {
        // An update is through when it is over.
        if !self.through && self.failure.is_none() && self.update.is_none() {
            let mut current = self.instances.iter().filter(|i| !i.retired);
            self.through = current.all(|i| i.is_ready() && !i.settling());
        }
    }

    /// An update begins, or turns back after a failure: `marks` says of each instance
    /// whether what runs is outdated and whether the service no longer has it.
    pub fn set_update(&mut self, update: Updating, marks: impl Fn(usize) -> (bool, bool)) {
        for (index, instance) in self.instances.iter_mut().enumerate() {
            (instance.outdated, instance.retired) = marks(index);
            instance.renewed = false;
        }
        self.update = Some(update);
        self.failure = None;
        self.through = false;
        self.part_done = false;
    }

    /// The update's write ended (`over` when it recorded its end).
    pub fn update_recorded(&mut self, over: bool) {
        self.recording = false;
        self.part_done = false;
        if over {
            self.update = None;
            self.note_through();
        }
    }

    /// `service stop|start|restart` asked this of instance `index`.
    pub fn want(&mut self, index: usize, wanted: Wanted) {
        let instance = &mut self.instances[index];
        // A stopped instance restarts by starting.
        let stopped = instance.state == InstanceState::Stopped && instance.busy.is_none();
        instance.wanted = match wanted {
            Wanted::Restarted if stopped => Wanted::Running,
            other => other,
        };
        instance.refused = None;
    }

    /// Whether what `service stop|start|restart` asked of instance `index` is done: `Ok(true)`
    /// when it is, the reason when it could not be.
    pub fn settled(&self, index: usize, asked: Wanted) -> Result<bool, String> {
        let instance = &self.instances[index];
        if let Some(why) = &instance.refused {
            return Err(why.clone());
        }
        let idle = instance.busy.is_none() && instance.wanted != Wanted::Restarted;
        Ok(idle
            && match asked {
                Wanted::Stopped => instance.state == InstanceState::Stopped,
                Wanted::Running | Wanted::Restarted => instance.state == InstanceState::Running,
            })
    }

    /// Whatever ran some workloads restarted (a delegate): adopt the instances `again` says
    /// again; the others stay as adopted as they were (a step in flight on one of them still
    /// counts as an adoption when it ends).
    pub fn readopt(&mut self, again: impl Fn(usize) -> bool) {
        let old = self.generation;
        self.generation += 1;
        for (index, instance) in self.instances.iter_mut().enumerate() {
            if again(index) {
                continue;
            }
            if instance.adopted == old {
                instance.adopted = self.generation;
            }
            if let Some((_, began)) = &mut instance.busy
                && *began == old
            {
                *began = self.generation;
            }
        }
    }

    /// `delete` was asked: the store now says every instance is being deleted.
    pub fn deleting(&mut self) {
        for instance in &mut self.instances {
            if !instance.gone {
                instance.state = InstanceState::Deleting;
            }
        }
    }

    /// The records' removal failed at `now`: try again a little later.
    pub fn removal_failed(&mut self, now: Duration) {
        self.removing = false;
        self.remove_after = Some(now + RETRY_BASE * 5);
    }
}

/// How long to wait after the `failures`-th failure in a row: doubling from [`RETRY_BASE`],
/// at most [`RETRY_CAP`].
fn backoff(failures: u32) -> Duration {
    RETRY_BASE
        .saturating_mul(1 << failures.saturating_sub(1).min(6))
        .min(RETRY_CAP)
}
