//! The process delegate's actor: chooses who supervises each process (systemd, or the agent
//! itself) and keeps the agent-supervised ones running per their restart policy.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tracing::{info, warn};

use super::balancer;
use super::launch::LaunchPlan;
use super::message::ProcessMsg;
use super::supervisor::{self, Liveness, ProcessIdentity};
use crate::delegates::protocol::{
    Attributes, DelegateError, DelegateMsg, ExecSource, InstanceHealth, InstanceSpec, LogSource,
    Observation,
};
use crate::delegates::systemd::{SystemdMsg, UnitStatus};

/// Who runs the processes of this host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SupervisorChoice {
    /// systemd where a user manager answers, the agent otherwise.
    #[default]
    Auto,
    /// Always systemd; fail where no user manager answers.
    Systemd,
    /// Always the agent, even where systemd is available.
    Agent,
}

/// What the process delegate needs.
#[derive(Clone)]
pub struct ProcessConfig {
    /// The systemd delegate, asked to run units.
    pub systemd: ActorRef<SystemdMsg>,
    /// Who supervises.
    pub supervisor: SupervisorChoice,
}

/// The process delegate.
pub struct ProcessDelegate;

/// A process the agent supervises.
struct Supervised {
    plan: LaunchPlan,
    /// The running process; `None` while it waits to be started again (or stays ended).
    running: Option<ProcessIdentity>,
    /// Counts starts, so that news about an earlier start is recognised as stale.
    generation: u64,
    /// How often it was started again.
    restarts: u64,
    /// How its last run ended, once it ended: `Some(code)`, or `None` for a signal.
    last_exit: Option<Option<i32>>,
    /// When it was started within the last [`START_LIMIT_INTERVAL`].
    recent_starts: VecDeque<Instant>,
    /// Whether it ended too often in a row and is no longer started again.
    gave_up: bool,
}

/// Like systemd's default start limit: a process that had to be started
/// [`START_LIMIT_BURST`] times within this interval and ends again is left stopped.
const START_LIMIT_INTERVAL: Duration = Duration::from_secs(10);
/// See [`START_LIMIT_INTERVAL`].
const START_LIMIT_BURST: usize = 5;

impl Supervised {
    fn attributes(&self) -> Attributes {
        let mut attributes = Attributes::new();
        attributes.insert("supervisor".into(), "agent".into());
        attributes.insert("log".into(), path_text(&self.plan.log_file).into());
        attributes.insert("restarts".into(), self.restarts.into());
        if let Some(identity) = self.running {
            attributes.insert("pid".into(), identity.pid.into());
            attributes.insert("start_time".into(), identity.start_time.into());
        }
        attributes
    }

    fn health(&self) -> InstanceHealth {
        match (self.running, self.last_exit) {
            (Some(_), _) => InstanceHealth::Running,
            (None, Some(code)) if self.gave_up => InstanceHealth::Failed {
                reason: format!(
                    "it {} after {} starts within {} s and is not started again",
                    ended(code),
                    START_LIMIT_BURST,
                    START_LIMIT_INTERVAL.as_secs()
                ),
            },
            (None, Some(code)) if self.plan.restart.restarts_after(code) => {
                InstanceHealth::Restarting {
                    reason: format!(
                        "it {}; it is started again after {:?}",
                        ended(code),
                        self.plan.restart_delay
                    ),
                }
            }
            (None, Some(Some(0))) => InstanceHealth::Stopped,
            (None, Some(code)) => InstanceHealth::Failed {
                reason: format!("it {} and its restart policy keeps it stopped", ended(code)),
            },
            (None, None) => InstanceHealth::Stopped,
        }
    }
}

fn ended(code: Option<i32>) -> String {
    match code {
        Some(code) => format!("exited with status {code}"),
        None => "was killed by a signal".into(),
    }
}

fn path_text(path: &std::path::Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The process delegate's state.
pub struct ProcessState {
    config: ProcessConfig,
    supervised: HashMap<String, Supervised>,
    /// Instances with a stop running beside the actor (how many), not to be started or
    /// adopted meanwhile.
    stopping: HashMap<String, u32>,
}

/// What a stop does once it leaves the actor, so that one slow process does not hold up the
/// others: every process the instance may have, and whether to remove its unit.
struct StopWork {
    instance: String,
    state_dir: std::path::PathBuf,
    unit: String,
    candidates: Vec<ProcessIdentity>,
    by_systemd: bool,
    remove_unit: bool,
    stopped: Attributes,
}

async fn ask_systemd<T: Send + 'static>(
    systemd: &ActorRef<SystemdMsg>,
    build: impl FnOnce(RpcReplyPort<Result<T, DelegateError>>) -> SystemdMsg,
) -> Result<T, DelegateError> {
    match systemd.call(build, None).await {
        Ok(ractor::rpc::CallResult::Success(result)) => result,
        _ => Err(DelegateError::Unreachable("systemd delegate".into())),
    }
}

fn unit_attributes(plan: &LaunchPlan, status: &UnitStatus) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert("supervisor".into(), "systemd".into());
    attributes.insert("unit".into(), status.name.clone().into());
    attributes.insert("log".into(), path_text(&plan.log_file).into());
    attributes.insert("restarts".into(), status.restarts.into());
    if status.main_pid != 0 {
        attributes.insert("pid".into(), status.main_pid.into());
    }
    attributes
}

/// What systemd says of the plan's unit; `ran` when it ran for this instance before (then a
/// unit gone ended, rather than went missing).
fn unit_observation(plan: &LaunchPlan, status: Option<UnitStatus>, ran: bool) -> Observation {
    let Some(status) = status else {
        let mut attributes = Attributes::new();
        attributes.insert("supervisor".into(), "systemd".into());
        attributes.insert("unit".into(), plan.unit.clone().into());
        attributes.insert("log".into(), path_text(&plan.log_file).into());
        let health = match ran {
            true => InstanceHealth::Stopped,
            false => InstanceHealth::Missing,
        };
        return Observation { health, attributes };
    };
    let health = match status.active_state.as_str() {
        _ if status.is_running() => InstanceHealth::Running,
        "failed" => InstanceHealth::Failed {
            reason: format!(
                "unit {} failed ({}, status {})",
                status.name, status.result, status.exit_status
            ),
        },
        // systemd restarts it by itself (`auto-restart`), or is starting it: soon running.
        "activating" if status.sub_state == "auto-restart" => InstanceHealth::Restarting {
            reason: format!(
                "unit {} ended ({}, status {}) and systemd starts it again",
                status.name, status.result, status.exit_status
            ),
        },
        "activating" => InstanceHealth::Restarting {
            reason: format!("unit {} is starting ({})", status.name, status.sub_state),
        },
        "inactive" => InstanceHealth::Stopped,
        _ => InstanceHealth::Running,
    };
    Observation {
        health,
        attributes: unit_attributes(plan, &status),
    }
}

fn supervisor_of(attributes: &Attributes) -> Option<&str> {
    attributes.get("supervisor").and_then(|s| s.as_str())
}

fn identity_in(attributes: &Attributes) -> Option<ProcessIdentity> {
    Some(ProcessIdentity {
        pid: i32::try_from(attributes.get("pid")?.as_i64()?).ok()?,
        start_time: attributes.get("start_time")?.as_u64()?,
    })
}

/// What an earlier start of an instance left, as its pid file, its attributes and `/proc`
/// tell.
#[derive(Debug, PartialEq)]
enum Earlier {
    /// Its process runs (or `/proc` cannot tell that it does not: it must not run twice).
    Live(ProcessIdentity),
    /// It ran and ended: `Some(code)`, or `None` after a signal or unseen by any agent.
    Ended(Option<i32>),
    /// No start of it is known (never started, or stopped since).
    Nothing,
}

fn not_gone(identity: &ProcessIdentity) -> bool {
    !matches!(identity.liveness(), Liveness::Gone)
}

/// Finds what an earlier start of the instance left: the process its pid file names, else the
/// one a start recorded only by its launch token made (the agent died before it learnt the
/// pid), else the one in its attributes (a pid file lost with its directory); when none runs,
/// whether one ran. An error when the pid file cannot be read and the attributes name no
/// such process.
fn earlier_run(
    state_dir: &std::path::Path,
    attributes: &Attributes,
) -> Result<Earlier, DelegateError> {
    let in_attributes = identity_in(attributes);
    let record = match supervisor::read_record(state_dir) {
        Ok(record) => record.unwrap_or_default(),
        Err(error) => {
            return match in_attributes.filter(not_gone) {
                Some(identity) => Ok(Earlier::Live(identity)),
                None => Err(pid_file_error(state_dir, error)),
            };
        }
    };
    if let Some(identity) = record.identity.filter(not_gone) {
        return Ok(Earlier::Live(identity));
    }
    if let Some(identity) = launched_unconfirmed(&record)? {
        return Ok(Earlier::Live(identity));
    }
    if let Some(identity) = in_attributes.filter(not_gone) {
        return Ok(Earlier::Live(identity));
    }
    let began_unrecorded = record.launch.is_some() && supervisor::was_forked(state_dir);
    if record.identity.is_some() || in_attributes.is_some() || began_unrecorded {
        return Ok(Earlier::Ended(record.exit.flatten()));
    }
    Ok(Earlier::Nothing)
}

/// The process of a start that the pid file records only by its launch token.
fn launched_unconfirmed(
    record: &supervisor::PidRecord,
) -> Result<Option<ProcessIdentity>, DelegateError> {
    match (&record.launch, record.identity) {
        (Some(token), None) => supervisor::find_launched(token)
            .map_err(|e| DelegateError::io("look for a started process in /proc", e)),
        _ => Ok(None),
    }
}

fn restarts_in(attributes: &Attributes) -> u64 {
    attributes
        .get("restarts")
        .and_then(|r| r.as_u64())
        .unwrap_or(0)
}

fn pid_file_error(state_dir: &std::path::Path, error: std::io::Error) -> DelegateError {
    let file = supervisor::pid_file(state_dir);
    DelegateError::io(format!("read {}", file.display()), error)
}

impl ProcessState {
    /// Whether to use systemd for this plan (`Err` when it must and cannot).
    async fn use_systemd(&self, plan: &LaunchPlan) -> Result<bool, DelegateError> {
        let must = plan.requires_systemd || self.config.supervisor == SupervisorChoice::Systemd;
        if self.config.supervisor == SupervisorChoice::Agent && !must {
            return Ok(false);
        }
        match ask_systemd(&self.config.systemd, |reply| SystemdMsg::Available {
            reply,
        })
        .await
        {
            Ok(_) => Ok(true),
            Err(error) if must => Err(DelegateError::Unavailable(format!(
                "{} must run as a systemd unit, but {error}",
                plan.instance
            ))),
            Err(error) => {
                info!(instance = %plan.instance, "the agent supervises it: {error}");
                Ok(false)
            }
        }
    }

    /// Starts (or starts again) an agent-supervised process and watches it.
    fn launch(
        &mut self,
        myself: &ActorRef<ProcessMsg>,
        plan: LaunchPlan,
        restarts: u64,
        generation: u64,
    ) -> Result<Attributes, DelegateError> {
        // Intent first: a start the agent dies in is found again by its launch token.
        let mut record = supervisor::PidRecord {
            launch: Some(supervisor::new_launch_token()),
            ..supervisor::PidRecord::default()
        };
        std::fs::create_dir_all(&plan.state_dir).map_err(|e| {
            DelegateError::io(format!("create directory {}", plan.state_dir.display()), e)
        })?;
        supervisor::write_record(&plan.state_dir, &record)?;
        let launch = record.launch.clone().unwrap_or_default();
        let (mut child, identity) = supervisor::spawn(&plan, &launch)?;
        record.identity = Some(identity);
        if let Err(error) = supervisor::write_record(&plan.state_dir, &record) {
            // Unrecorded, a later Delete might not find it: better not to run it at all.
            let _ = killpg(Pid::from_raw(identity.pid), Signal::SIGKILL);
            return Err(error);
        }
        let instance = plan.instance.clone();
        let mut recent_starts = self
            .supervised
            .get(&instance)
            .map(|s| s.recent_starts.clone())
            .unwrap_or_default();
        recent_starts.push_back(Instant::now());
        let watcher = myself.clone();
        tokio::spawn({
            let instance = instance.clone();
            async move {
                let code = match child.wait().await {
                    Ok(status) => status.code(),
                    // Not an exit: it ends when /proc says it is gone, with its code unknown.
                    Err(error) => {
                        warn!(%instance, %error, "cannot wait for its process; watching /proc");
                        supervisor::until_gone(&instance, identity).await;
                        None
                    }
                };
                let _ = watcher.send_message(ProcessMsg::Exited {
                    instance,
                    generation,
                    code,
                });
            }
        });
        let supervised = Supervised {
            plan,
            running: Some(identity),
            generation,
            restarts,
            last_exit: None,
            recent_starts,
            gave_up: false,
        };
        let attributes = supervised.attributes();
        self.supervised.insert(instance, supervised);
        Ok(attributes)
    }

    /// Takes over a process started before this agent: watches it by polling.
    fn watch_adopted(
        &mut self,
        myself: &ActorRef<ProcessMsg>,
        plan: LaunchPlan,
        identity: ProcessIdentity,
        restarts: u64,
    ) {
        let named = supervisor::recorded(&plan.state_dir).ok().flatten();
        if named != Some(identity)
            && let Err(error) = supervisor::record(&plan.state_dir, identity)
        {
            warn!(instance = %plan.instance, "{error}");
        }
        let instance = plan.instance.clone();
        let generation = self
            .supervised
            .get(&instance)
            .map_or(1, |s| s.generation + 1);
        let watcher = myself.clone();
        tokio::spawn({
            let instance = instance.clone();
            async move {
                supervisor::until_gone(&instance, identity).await;
                let _ = watcher.send_message(ProcessMsg::Exited {
                    instance,
                    generation,
                    code: None,
                });
            }
        });
        self.supervised.insert(
            instance,
            Supervised {
                plan,
                running: Some(identity),
                generation,
                restarts,
                last_exit: None,
                recent_starts: VecDeque::new(),
                gave_up: false,
            },
        );
    }

    fn next_generation(&self, instance: &str) -> u64 {
        self.supervised
            .get(instance)
            .map_or(1, |s| s.generation + 1)
    }

    async fn start(
        &mut self,
        myself: &ActorRef<ProcessMsg>,
        spec: InstanceSpec,
        attributes: Attributes,
        reply: RpcReplyPort<Result<Attributes, DelegateError>>,
    ) {
        let plan = match LaunchPlan::of(&spec) {
            Ok(plan) => plan,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        if let Some(supervised) = self.supervised.get(&plan.instance)
            && supervised.running.is_some()
        {
            let _ = reply.send(Ok(supervised.attributes()));
            return;
        }
        if let Err(error) = self.not_stopping(&plan.instance) {
            let _ = reply.send(Err(error));
            return;
        }
        // What an earlier start left (maybe an earlier agent's, which died before the runtime
        // heard of it) is taken over: never a second copy, never a rerun its policy forbids.
        match self.resume(myself, &plan, &attributes) {
            Ok(Some(observation)) => {
                let _ = reply.send(Ok(observation.attributes));
                return;
            }
            Ok(None) => {}
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        }
        match self.use_systemd(&plan).await {
            Err(error) => {
                let _ = reply.send(Err(error));
            }
            Ok(true) => {
                // systemd may take a moment: answer from a task so other instances go on.
                let systemd = self.config.systemd.clone();
                tokio::spawn(async move {
                    let _ = reply.send(run_unit(&systemd, &plan).await);
                });
            }
            Ok(false) => {
                if let Some(status) = self.running_unit(&plan).await {
                    info!(instance = %plan.instance, "adopting the unit it runs as");
                    let _ = reply.send(Ok(unit_attributes(&plan, &status)));
                    return;
                }
                let generation = self.next_generation(&plan.instance);
                let _ = reply.send(self.launch(myself, plan, 0, generation));
            }
        }
    }

    /// A running unit of the instance's name, where systemd answers: an earlier start ran
    /// it (under another supervisor choice), and the agent must not start a second copy.
    async fn running_unit(&self, plan: &LaunchPlan) -> Option<UnitStatus> {
        let name = plan.unit.clone();
        ask_systemd(&self.config.systemd, |reply| SystemdMsg::Status {
            name,
            reply,
        })
        .await
        .ok()
        .flatten()
        .filter(UnitStatus::is_running)
    }

    async fn observe(
        &mut self,
        myself: &ActorRef<ProcessMsg>,
        spec: &InstanceSpec,
        attributes: &Attributes,
        adopt: bool,
    ) -> Result<Observation, DelegateError> {
        let plan = LaunchPlan::of(spec)?;
        match supervisor_of(attributes) {
            Some("systemd") => {
                let unit = plan.unit.clone();
                let status = ask_systemd(&self.config.systemd, |reply| SystemdMsg::Status {
                    name: unit,
                    reply,
                })
                .await?;
                let ran = unit_marker(&plan.state_dir).exists();
                Ok(unit_observation(&plan, status, ran))
            }
            Some("agent") => {
                if let Some(supervised) = self.supervised.get(&plan.instance) {
                    return Ok(Observation {
                        health: supervised.health(),
                        attributes: supervised.attributes(),
                    });
                }
                if adopt {
                    self.not_stopping(&plan.instance)?;
                    if let Some(observation) = self.resume(myself, &plan, attributes)? {
                        return Ok(observation);
                    }
                }
                let mut attributes = attributes.clone();
                let health = match earlier_run(&plan.state_dir, &attributes)? {
                    Earlier::Live(identity) => {
                        attributes.insert("pid".into(), identity.pid.into());
                        attributes.insert("start_time".into(), identity.start_time.into());
                        InstanceHealth::Running
                    }
                    Earlier::Ended(_) | Earlier::Nothing => {
                        attributes.remove("pid");
                        attributes.remove("start_time");
                        InstanceHealth::Stopped
                    }
                };
                Ok(Observation { health, attributes })
            }
            _ => Ok(Observation {
                health: InstanceHealth::Stopped,
                attributes: attributes.clone(),
            }),
        }
    }

    /// Takes over what an earlier start of the instance left (maybe under an earlier agent):
    /// adopts its live process, starts an ended one again when its policy says so, or keeps
    /// it ended. `None` when no earlier start is known.
    fn resume(
        &mut self,
        myself: &ActorRef<ProcessMsg>,
        plan: &LaunchPlan,
        attributes: &Attributes,
    ) -> Result<Option<Observation>, DelegateError> {
        let restarts = restarts_in(attributes);
        let instance = &plan.instance;
        match earlier_run(&plan.state_dir, attributes)? {
            Earlier::Nothing => return Ok(None),
            Earlier::Live(identity) => {
                info!(%instance, pid = identity.pid, "adopting the process it runs");
                self.watch_adopted(myself, plan.clone(), identity, restarts);
            }
            Earlier::Ended(code) if plan.restart.restarts_after(code) => {
                warn!(%instance, "it {} unwatched: starting it again", ended(code));
                let generation = self.next_generation(instance);
                self.launch(myself, plan.clone(), restarts + 1, generation)?;
            }
            Earlier::Ended(code) => {
                info!(%instance, "it {}; its restart policy keeps it stopped", ended(code));
                self.keep_ended(plan.clone(), code, restarts);
            }
        }
        let supervised = &self.supervised[instance];
        Ok(Some(Observation {
            health: supervised.health(),
            attributes: supervised.attributes(),
        }))
    }

    /// Remembers a process that ended and stays ended, to report how it ended.
    fn keep_ended(&mut self, plan: LaunchPlan, code: Option<i32>, restarts: u64) {
        let generation = self.next_generation(&plan.instance);
        let instance = plan.instance.clone();
        let supervised = Supervised {
            plan,
            running: None,
            generation,
            restarts,
            last_exit: Some(code),
            recent_starts: VecDeque::new(),
            gave_up: false,
        };
        self.supervised.insert(instance, supervised);
    }

    /// An error while a stop of the instance still runs (it must not be started meanwhile).
    fn not_stopping(&self, instance: &str) -> Result<(), DelegateError> {
        match self.stopping.get(instance) {
            Some(_) => Err(DelegateError::Failed(format!(
                "{instance} is still being stopped; try again once it is"
            ))),
            None => Ok(()),
        }
    }

    /// Gathers what stopping the instance takes, whoever supervises it, and forgets the
    /// process here (so its exit is not taken for a crash); with `remove_unit_anyway`, a unit
    /// of its name that the attributes do not mention (a start the runtime never heard
    /// about) is removed too.
    fn begin_stop(
        &mut self,
        spec: &InstanceSpec,
        attributes: &Attributes,
        remove_unit_anyway: bool,
    ) -> Result<StopWork, DelegateError> {
        let instance = spec.qualified_name();
        let mut stopped = attributes.clone();
        stopped.remove("pid");
        stopped.remove("start_time");
        // Unreadable, the pid file may name a process that would be left running unrecorded.
        let record = supervisor::read_record(&spec.state_dir)
            .map_err(|error| pid_file_error(&spec.state_dir, error))?
            .unwrap_or_default();
        // Every process the instance may have now: the one this agent runs, the one the pid
        // file names (started again after the runtime last heard, maybe by an earlier agent)
        // or only its launch token finds, the one the runtime recorded. Each is stopped with
        // whatever is left of its group.
        let running_here = self
            .supervised
            .get(&instance)
            .and_then(|supervised| supervised.running);
        let launched = launched_unconfirmed(&record)?;
        let mut candidates: Vec<ProcessIdentity> = Vec::new();
        for identity in [
            running_here,
            record.identity,
            launched,
            identity_in(attributes),
        ]
        .into_iter()
        .flatten()
        {
            if !candidates.contains(&identity) {
                candidates.push(identity);
            }
        }
        self.supervised.remove(&instance);
        *self.stopping.entry(instance.clone()).or_default() += 1;
        let by_systemd = supervisor_of(attributes) == Some("systemd");
        Ok(StopWork {
            instance,
            state_dir: spec.state_dir.clone(),
            unit: crate::delegates::systemd::unit_name(
                &spec.namespace,
                &spec.service,
                &spec.instance,
            ),
            candidates,
            by_systemd,
            remove_unit: by_systemd || remove_unit_anyway,
            stopped,
        })
    }

    /// Stops the instance (and with `delete`, removes its directory) in a task of its own,
    /// which replies; the actor goes on with other instances meanwhile.
    fn stop_beside<T: Send + 'static>(
        &mut self,
        myself: &ActorRef<ProcessMsg>,
        spec: InstanceSpec,
        attributes: &Attributes,
        delete: bool,
        reply: RpcReplyPort<Result<T, DelegateError>>,
        then: fn(&InstanceSpec, Attributes) -> Result<T, DelegateError>,
    ) {
        let work = match self.begin_stop(&spec, attributes, delete) {
            Ok(work) => work,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        let systemd = self.config.systemd.clone();
        let myself = myself.clone();
        tokio::spawn(async move {
            let instance = work.instance.clone();
            let result = finish_stop(&systemd, work)
                .await
                .and_then(|stopped| then(&spec, stopped));
            // Before the reply: whatever the runtime sends next finds the stop done.
            let _ = myself.send_message(ProcessMsg::Stopped { instance });
            let _ = reply.send(result);
        });
    }

    fn stopped(&mut self, instance: String) {
        if let Some(count) = self.stopping.get_mut(&instance) {
            *count -= 1;
            if *count == 0 {
                self.stopping.remove(&instance);
            }
        }
    }

    fn exited(
        &mut self,
        myself: &ActorRef<ProcessMsg>,
        instance: String,
        generation: u64,
        code: Option<i32>,
    ) {
        let Some(supervised) = self.supervised.get_mut(&instance) else {
            return;
        };
        if supervised.generation != generation {
            return;
        }
        let ended_run = supervised.running.take();
        supervised.last_exit = Some(code);
        if let Some(identity) = ended_run {
            supervisor::record_exit(&supervised.plan.state_dir, identity, code);
        }
        let now = Instant::now();
        while supervised
            .recent_starts
            .front()
            .is_some_and(|start| now.duration_since(*start) > START_LIMIT_INTERVAL)
        {
            supervised.recent_starts.pop_front();
        }
        let mut restart_after = None;
        if supervised.plan.restart.restarts_after(code)
            && supervised.recent_starts.len() >= START_LIMIT_BURST
        {
            supervised.gave_up = true;
            warn!(%instance, "it {} {} times within {:?}: not starting it again", ended(code), START_LIMIT_BURST, START_LIMIT_INTERVAL);
        } else if supervised.plan.restart.restarts_after(code) {
            info!(%instance, "it {}; starting it again after {:?}", ended(code), supervised.plan.restart_delay);
            restart_after = Some(supervised.plan.restart_delay);
        } else {
            info!(%instance, "it {}; its restart policy keeps it stopped", ended(code));
        }
        // Like systemd with a unit's cgroup: what the ended process left running in its group
        // is stopped first, so a restart never leaves an earlier run's children behind.
        let myself = myself.clone();
        tokio::spawn(async move {
            if let Some(identity) = ended_run
                && let Err(error) = supervisor::terminate(identity).await
            {
                warn!(%instance, "{error}");
            }
            if let Some(delay) = restart_after {
                tokio::time::sleep(delay).await;
                let _ = myself.send_message(ProcessMsg::Restart {
                    instance,
                    generation,
                });
            }
        });
    }

    fn restart(&mut self, myself: &ActorRef<ProcessMsg>, instance: String, generation: u64) {
        let Some(supervised) = self.supervised.get(&instance) else {
            return;
        };
        if supervised.generation != generation || supervised.running.is_some() {
            return;
        }
        let plan = supervised.plan.clone();
        let restarts = supervised.restarts + 1;
        if let Err(error) = self.launch(myself, plan.clone(), restarts, generation + 1) {
            let Some(supervised) = self.supervised.get_mut(&instance) else {
                return;
            };
            supervised.generation = generation + 1;
            supervised.restarts = restarts;
            supervised.recent_starts.push_back(Instant::now());
            if supervised.recent_starts.len() > START_LIMIT_BURST {
                supervised.gave_up = true;
                warn!(%instance, "could not start it again, giving up: {error}");
                return;
            }
            warn!(%instance, "could not start it again, trying after {:?}: {error}", plan.restart_delay);
            let next = generation + 1;
            myself.send_after(plan.restart_delay, move || ProcessMsg::Restart {
                instance,
                generation: next,
            });
        }
    }
}

/// Does what [`ProcessState::begin_stop`] gathered: stops every candidate process with its
/// group, forgets the pid file, removes the unit.
async fn finish_stop(
    systemd: &ActorRef<SystemdMsg>,
    work: StopWork,
) -> Result<Attributes, DelegateError> {
    for identity in work.candidates {
        supervisor::terminate(identity).await?;
    }
    supervisor::forget(&work.state_dir);
    if work.remove_unit {
        let unit = work.unit;
        match ask_systemd(systemd, |reply| SystemdMsg::Remove { name: unit, reply }).await {
            Ok(()) => {}
            Err(DelegateError::Unavailable(_)) if !work.by_systemd => {}
            Err(error) => return Err(error),
        }
    }
    // Only once the unit is gone: a start must not take a stopped unit for one that ended.
    let _ = std::fs::remove_file(unit_marker(&work.state_dir));
    Ok(work.stopped)
}

/// Removes the instance's directory once its process is stopped (for `Delete`).
fn remove_state_dir(spec: &InstanceSpec, _: Attributes) -> Result<(), DelegateError> {
    spec.remove_state_dir()
}

/// See [`super::launch::UNIT_MARKER`]: systemd writes it as the unit starts, and the agent
/// again once it saw the unit run (where `touch` is missing, say).
fn unit_marker(state_dir: &std::path::Path) -> std::path::PathBuf {
    state_dir.join(super::launch::UNIT_MARKER)
}

/// Runs the plan as a systemd unit, or reports the unit an earlier start ran (running, or
/// ended for good).
async fn run_unit(
    systemd: &ActorRef<SystemdMsg>,
    plan: &LaunchPlan,
) -> Result<Attributes, DelegateError> {
    std::fs::create_dir_all(&plan.state_dir).map_err(|e| {
        DelegateError::io(format!("create directory {}", plan.state_dir.display()), e)
    })?;
    let name = plan.unit.clone();
    let status = ask_systemd(systemd, |reply| SystemdMsg::Status { name, reply }).await?;
    let ran = unit_marker(&plan.state_dir).exists();
    match status {
        Some(status) if status.is_running() || ran => return Ok(unit_attributes(plan, &status)),
        None if ran => {
            info!(instance = %plan.instance, "its unit ran and ended: not running it again");
            return Ok(unit_observation(plan, None, true).attributes);
        }
        _ => {}
    }
    let unit = Box::new(plan.unit_spec());
    let status = ask_systemd(systemd, |reply| SystemdMsg::Run { unit, reply }).await?;
    if let Err(error) = std::fs::write(unit_marker(&plan.state_dir), &plan.unit) {
        warn!(instance = %plan.instance, %error, "could not note that its unit ran");
    }
    Ok(unit_attributes(plan, &status))
}

impl Actor for ProcessDelegate {
    type Msg = ProcessMsg;
    type State = ProcessState;
    type Arguments = ProcessConfig;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        config: ProcessConfig,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(ProcessState {
            config,
            supervised: HashMap::new(),
            stopping: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ProcessMsg::Exited {
                instance,
                generation,
                code,
            } => state.exited(&myself, instance, generation, code),
            ProcessMsg::Restart {
                instance,
                generation,
            } => state.restart(&myself, instance, generation),
            ProcessMsg::Stopped { instance } => state.stopped(instance),
            ProcessMsg::Lifecycle(message) => match balancer::prepare(*message) {
                None => {}
                Some(message) => state.lifecycle(&myself, message).await,
            },
        }
        Ok(())
    }
}

impl ProcessState {
    /// Carries out one lifecycle operation on a process instance.
    async fn lifecycle(&mut self, myself: &ActorRef<ProcessMsg>, message: DelegateMsg) {
        let state = self;
        match message {
            DelegateMsg::Create { spec, reply } => {
                let result = LaunchPlan::of(&spec).and_then(|plan| {
                    std::fs::create_dir_all(&plan.state_dir).map_err(|e| {
                        DelegateError::io(
                            format!("create directory {}", plan.state_dir.display()),
                            e,
                        )
                    })?;
                    let mut attributes = Attributes::new();
                    attributes.insert("log".into(), path_text(&plan.log_file).into());
                    Ok(attributes)
                });
                let _ = reply.send(result);
            }
            DelegateMsg::Start {
                spec,
                attributes,
                reply,
            } => state.start(myself, spec, attributes, reply).await,
            DelegateMsg::Status {
                spec,
                attributes,
                reply,
            } => {
                let _ = reply.send(state.observe(myself, &spec, &attributes, false).await);
            }
            DelegateMsg::Adopt {
                spec,
                attributes,
                reply,
            } => {
                let _ = reply.send(state.observe(myself, &spec, &attributes, true).await);
            }
            DelegateMsg::Stop {
                spec,
                attributes,
                reply,
            } => state.stop_beside(myself, spec, &attributes, false, reply, |_, a| Ok(a)),
            DelegateMsg::Delete {
                spec,
                attributes,
                reply,
            } => state.stop_beside(myself, spec, &attributes, true, reply, remove_state_dir),
            DelegateMsg::Logs {
                spec,
                attributes,
                reply,
            } => {
                let log = attributes
                    .get("log")
                    .and_then(|l| l.as_str())
                    .map(std::path::PathBuf::from)
                    .unwrap_or_else(|| spec.state_dir.join("output.log"));
                let _ = reply.send(Ok(LogSource::File(log)));
            }
            DelegateMsg::Exec { spec, reply, .. } => {
                let beside = LaunchPlan::of(&spec).map(|plan| ExecSource::Beside {
                    environment: plan.environment,
                    directory: plan.working_directory,
                });
                let _ = reply.send(beside);
            }
        }
    }
}
