//! The process delegate's actor: chooses who supervises each process (systemd, or the agent
//! itself) and keeps the agent-supervised ones running per their restart policy.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tracing::{info, warn};

use super::launch::LaunchPlan;
use super::message::ProcessMsg;
use super::supervisor::{self, Liveness, ProcessIdentity};
use crate::delegates::protocol::{
    Attributes, DelegateError, DelegateMsg, InstanceHealth, InstanceSpec, LogSource, Observation,
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

fn unit_observation(plan: &LaunchPlan, status: Option<UnitStatus>) -> Observation {
    let Some(status) = status else {
        let mut attributes = Attributes::new();
        attributes.insert("supervisor".into(), "systemd".into());
        attributes.insert("unit".into(), plan.unit.clone().into());
        attributes.insert("log".into(), path_text(&plan.log_file).into());
        return Observation {
            health: InstanceHealth::Missing,
            attributes,
        };
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

/// The instance's process that runs now: the one its pid file names, else the one in its
/// attributes (from before pid files, or a pid file lost with its directory). One whose `/proc`
/// entry cannot be read counts as running (it must not be started a second time); an error
/// when the pid file cannot be read and the attributes name no such process.
fn current_identity(
    state_dir: &std::path::Path,
    attributes: &Attributes,
) -> Result<Option<ProcessIdentity>, DelegateError> {
    let not_gone = |identity: &ProcessIdentity| !matches!(identity.liveness(), Liveness::Gone);
    let in_attributes = || identity_in(attributes).filter(not_gone);
    match supervisor::recorded(state_dir) {
        Ok(recorded) => Ok(recorded.filter(not_gone).or_else(in_attributes)),
        Err(error) => match in_attributes() {
            Some(identity) => Ok(Some(identity)),
            None => Err(pid_file_error(state_dir, error)),
        },
    }
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
        let (mut child, identity) = supervisor::spawn(&plan)?;
        if let Err(error) = supervisor::record(&plan.state_dir, identity) {
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
        if let Err(error) = supervisor::record(&plan.state_dir, identity) {
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
                let generation = self.next_generation(&plan.instance);
                let _ = reply.send(self.launch(myself, plan, 0, generation));
            }
        }
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
                Ok(unit_observation(&plan, status))
            }
            Some("agent") => {
                if let Some(supervised) = self.supervised.get(&plan.instance) {
                    return Ok(Observation {
                        health: supervised.health(),
                        attributes: supervised.attributes(),
                    });
                }
                let restarts = attributes
                    .get("restarts")
                    .and_then(|r| r.as_u64())
                    .unwrap_or(0);
                match current_identity(&plan.state_dir, attributes)? {
                    Some(identity) if adopt => {
                        self.watch_adopted(myself, plan.clone(), identity, restarts);
                        let supervised = &self.supervised[&plan.instance];
                        Ok(Observation {
                            health: InstanceHealth::Running,
                            attributes: supervised.attributes(),
                        })
                    }
                    Some(identity) => {
                        let mut attributes = attributes.clone();
                        attributes.insert("pid".into(), identity.pid.into());
                        attributes.insert("start_time".into(), identity.start_time.into());
                        Ok(Observation {
                            health: InstanceHealth::Running,
                            attributes,
                        })
                    }
                    // It ended while no agent watched it; its exit code is lost.
                    None if adopt && plan.restart.restarts_after(None) => {
                        warn!(instance = %plan.instance, "it ended while the agent was away: starting it again");
                        let generation = self.next_generation(&plan.instance);
                        let attributes = self.launch(myself, plan, restarts + 1, generation)?;
                        Ok(Observation {
                            health: InstanceHealth::Running,
                            attributes,
                        })
                    }
                    None => {
                        let mut attributes = attributes.clone();
                        attributes.remove("pid");
                        attributes.remove("start_time");
                        Ok(Observation {
                            health: InstanceHealth::Stopped,
                            attributes,
                        })
                    }
                }
            }
            _ => Ok(Observation {
                health: InstanceHealth::Stopped,
                attributes: attributes.clone(),
            }),
        }
    }

    /// Stops the instance's process, whoever supervises it; with `remove_unit_anyway`, also
    /// removes a unit of its name that the attributes do not mention (a start the runtime
    /// never heard about).
    async fn stop(
        &mut self,
        spec: &InstanceSpec,
        attributes: &Attributes,
        remove_unit_anyway: bool,
    ) -> Result<Attributes, DelegateError> {
        let instance = spec.qualified_name();
        let unit =
            crate::delegates::systemd::unit_name(&spec.namespace, &spec.service, &spec.instance);
        let mut stopped = attributes.clone();
        stopped.remove("pid");
        stopped.remove("start_time");
        // Unreadable, the pid file may name a process that would be left running unrecorded.
        let recorded = supervisor::recorded(&spec.state_dir)
            .map_err(|error| pid_file_error(&spec.state_dir, error))?;
        // Every process the instance may have now: the one this agent runs, the one the pid
        // file names (started again after the runtime last heard, maybe by an earlier agent),
        // the one the runtime recorded. Each is stopped with whatever is left of its group.
        let running_here = self
            .supervised
            .remove(&instance)
            .and_then(|supervised| supervised.running);
        let mut candidates: Vec<ProcessIdentity> = Vec::new();
        for identity in [running_here, recorded, identity_in(attributes)]
            .into_iter()
            .flatten()
        {
            if !candidates.contains(&identity) {
                candidates.push(identity);
            }
        }
        for identity in candidates {
            supervisor::terminate(identity).await?;
        }
        supervisor::forget(&spec.state_dir);
        let by_systemd = supervisor_of(attributes) == Some("systemd");
        if by_systemd || remove_unit_anyway {
            let removed = ask_systemd(&self.config.systemd, |reply| SystemdMsg::Remove {
                name: unit,
                reply,
            })
            .await;
            match removed {
                Ok(()) => {}
                Err(DelegateError::Unavailable(_)) if !by_systemd => {}
                Err(error) => return Err(error),
            }
        }
        Ok(stopped)
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

/// Runs the plan as a systemd unit (or reports the one already running).
async fn run_unit(
    systemd: &ActorRef<SystemdMsg>,
    plan: &LaunchPlan,
) -> Result<Attributes, DelegateError> {
    std::fs::create_dir_all(&plan.state_dir).map_err(|e| {
        DelegateError::io(format!("create directory {}", plan.state_dir.display()), e)
    })?;
    let name = plan.unit.clone();
    if let Some(status) = ask_systemd(systemd, |reply| SystemdMsg::Status { name, reply }).await?
        && status.is_running()
    {
        return Ok(unit_attributes(plan, &status));
    }
    let unit = plan.unit_spec();
    let status = ask_systemd(systemd, |reply| SystemdMsg::Run { unit, reply }).await?;
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
            ProcessMsg::Lifecycle(message) => match *message {
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
                DelegateMsg::Start { spec, reply, .. } => state.start(&myself, spec, reply).await,
                DelegateMsg::Status {
                    spec,
                    attributes,
                    reply,
                } => {
                    let _ = reply.send(state.observe(&myself, &spec, &attributes, false).await);
                }
                DelegateMsg::Adopt {
                    spec,
                    attributes,
                    reply,
                } => {
                    let _ = reply.send(state.observe(&myself, &spec, &attributes, true).await);
                }
                DelegateMsg::Stop {
                    spec,
                    attributes,
                    reply,
                } => {
                    let _ = reply.send(state.stop(&spec, &attributes, false).await);
                }
                DelegateMsg::Delete {
                    spec,
                    attributes,
                    reply,
                } => {
                    let result = state.stop(&spec, &attributes, true).await.and_then(|_| {
                        match std::fs::remove_dir_all(&spec.state_dir) {
                            Ok(()) => Ok(()),
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                            Err(e) => Err(DelegateError::io(
                                format!("remove directory {}", spec.state_dir.display()),
                                e,
                            )),
                        }
                    });
                    let _ = reply.send(result);
                }
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
            },
        }
        Ok(())
    }
}
