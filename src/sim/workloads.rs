//! The delegates' effects in a simulation: a process table per host instead of processes,
//! units, containers and machines. One stand-in actor serves every kind of node on a host; it
//! answers the runtime's operations from the table, and the simulation crashes workloads,
//! fails starts and wipes a crashed machine's table.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SpawnErr};
use serde_json::Value;

use super::fs::SimFs;
use crate::delegates::profile::types;
use crate::delegates::protocol::{
    DelegateError, DelegateKind, DelegateMsg, ExecSource, InstanceHealth, InstanceSpec, LogSource,
    Observation, is_a,
};
use crate::delegates::{DelegateFactory, Delegates};
use crate::state::Filesystem;

/// How a simulated workload is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkloadState {
    /// Created, not running.
    Stopped,
    /// Running.
    Running,
    /// It ended by itself (a crash the simulation injected), with why.
    Failed(String),
}

/// One workload on one host.
#[derive(Clone, Debug)]
struct Workload {
    state: WorkloadState,
    /// The port it reserved, for a port node.
    port: Option<u64>,
    /// Whether its supervisor starts it again when it fails (its `restart` policy).
    restarts: bool,
}

/// How long a supervisor waits before starting a failed workload again (the profile's
/// default `restart_delay`).
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// Whether `spec`'s restart policy starts it again after a failure: a node with no such
/// property (a port) is not a process and does not fail.
fn restarts_on_failure(spec: &InstanceSpec) -> bool {
    match spec.properties.get("restart").and_then(Value::as_str) {
        Some(policy) => matches!(policy, "on-failure" | "always"),
        None => true,
    }
}

#[derive(Debug, Default)]
struct Table {
    /// Each host's workloads by instance (`namespace/service/instance`).
    hosts: BTreeMap<String, BTreeMap<String, Workload>>,
    /// Hosts whose every start fails, with the reason.
    failing_starts: BTreeMap<String, String>,
    /// Hosts whose every start takes this long to answer (a slow engine).
    slow_starts: BTreeMap<String, Duration>,
    /// Ports reserved twice on one host, as they happened: `host: port by A and B`.
    double_reservations: Vec<String>,
}

/// Every simulated host's workloads: shared by the stand-in delegates and the simulation.
#[derive(Clone, Debug, Default)]
pub struct Workloads {
    table: Arc<Mutex<Table>>,
}

impl Workloads {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The instances running on each host (`namespace/service/instance` → hosts).
    pub fn running(&self) -> BTreeMap<String, Vec<String>> {
        let mut running: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (host, workloads) in &self.lock().hosts {
            for (instance, workload) in workloads {
                if workload.state == WorkloadState::Running {
                    running
                        .entry(instance.clone())
                        .or_default()
                        .push(host.clone());
                }
            }
        }
        running
    }

    /// The ports reserved twice on one host so far.
    pub fn double_reservations(&self) -> Vec<String> {
        self.lock().double_reservations.clone()
    }

    /// The machine `host` crashed: nothing of it runs any more.
    pub fn wipe(&self, host: &str) {
        self.lock().hosts.remove(host);
    }

    /// Every start on `host` fails (`Some(reason)`) or works again (`None`).
    pub fn fail_starts(&self, host: &str, reason: Option<String>) {
        let mut table = self.lock();
        match reason {
            Some(reason) => table.failing_starts.insert(host.to_owned(), reason),
            None => table.failing_starts.remove(host),
        };
    }

    /// Every start on `host` takes `delay` to answer (`Some`), or answers at once again.
    pub fn slow_starts(&self, host: &str, delay: Option<Duration>) {
        let mut table = self.lock();
        match delay {
            Some(delay) => table.slow_starts.insert(host.to_owned(), delay),
            None => table.slow_starts.remove(host),
        };
    }

    fn start_delay(&self, host: &str) -> Option<Duration> {
        self.lock().slow_starts.get(host).copied()
    }

    /// Instance `instance` (`namespace/service/instance`) crashes wherever it runs; one
    /// whose restart policy says so is started again by its supervisor after
    /// a second (the profile's default `restart_delay`), as systemd would. The hosts it crashed on.
    pub fn crash(&self, instance: &str, reason: &str) -> Vec<String> {
        let mut crashed = Vec::new();
        for (host, workloads) in &mut self.lock().hosts {
            if let Some(workload) = workloads.get_mut(instance)
                && workload.state == WorkloadState::Running
            {
                workload.state = WorkloadState::Failed(reason.to_owned());
                crashed.push(host.clone());
                if workload.restarts {
                    self.restart_later(host, instance);
                }
            }
        }
        crashed
    }

    /// Has the supervisor on `host` start `instance` again after [`RESTART_DELAY`], unless it
    /// was stopped, deleted or wiped meanwhile.
    fn restart_later(&self, host: &str, instance: &str) {
        let (workloads, host, instance) = (self.clone(), host.to_owned(), instance.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(RESTART_DELAY).await;
            let mut table = workloads.lock();
            if let Some(workload) = table
                .hosts
                .get_mut(&host)
                .and_then(|w| w.get_mut(&instance))
                && matches!(workload.state, WorkloadState::Failed(_))
            {
                workload.state = WorkloadState::Running;
            }
        });
    }

    /// Creates a workload on `host`, reserving its port; a port another workload holds
    /// there is a broken invariant, recorded.
    fn create(&self, host: &str, spec: &InstanceSpec) {
        let port = spec.properties.get("port").and_then(Value::as_u64);
        let instance = spec.qualified_name();
        let mut table = self.lock();
        let workloads = table.hosts.entry(host.to_owned()).or_default();
        let holder = port.and_then(|port| {
            workloads
                .iter()
                .find(|(other, w)| **other != instance && w.port == Some(port))
                .map(|(other, _)| other.clone())
        });
        workloads.entry(instance.clone()).or_insert(Workload {
            state: WorkloadState::Stopped,
            port,
            restarts: restarts_on_failure(spec),
        });
        if let (Some(holder), Some(port)) = (holder, port) {
            let double = format!("{host}: port {port} reserved by {holder} and {instance}");
            table.double_reservations.push(double);
        }
    }

    /// Starts a workload on `host`: fails when starts fail there.
    fn start(&self, host: &str, spec: &InstanceSpec) -> Result<(), DelegateError> {
        let mut table = self.lock();
        if let Some(reason) = table.failing_starts.get(host) {
            return Err(DelegateError::Failed(reason.clone()));
        }
        let workload = table
            .hosts
            .entry(host.to_owned())
            .or_default()
            .entry(spec.qualified_name())
            .or_insert(Workload {
                state: WorkloadState::Stopped,
                port: None,
                restarts: restarts_on_failure(spec),
            });
        workload.state = WorkloadState::Running;
        Ok(())
    }

    fn set(&self, host: &str, spec: &InstanceSpec, state: WorkloadState) {
        if let Some(workload) = self
            .lock()
            .hosts
            .get_mut(host)
            .and_then(|w| w.get_mut(&spec.qualified_name()))
        {
            workload.state = state;
        }
    }

    fn delete(&self, host: &str, spec: &InstanceSpec) {
        if let Some(workloads) = self.lock().hosts.get_mut(host) {
            workloads.remove(&spec.qualified_name());
        }
    }

    fn health(&self, host: &str, spec: &InstanceSpec) -> InstanceHealth {
        let table = self.lock();
        let workload = table
            .hosts
            .get(host)
            .and_then(|w| w.get(&spec.qualified_name()));
        match workload.map(|w| (&w.state, w.restarts)) {
            None => InstanceHealth::Missing,
            Some((WorkloadState::Stopped, _)) => InstanceHealth::Stopped,
            Some((WorkloadState::Running, _)) => InstanceHealth::Running,
            Some((WorkloadState::Failed(reason), true)) => InstanceHealth::Restarting {
                reason: reason.clone(),
            },
            Some((WorkloadState::Failed(reason), false)) => InstanceHealth::Failed {
                reason: reason.clone(),
            },
        }
    }
}

/// The stand-in delegate of one host: every operation answers at once from [`Workloads`].
struct StandIn;

/// What a stand-in works on.
struct StandInArgs {
    host: String,
    /// The host's address, which a port it reserves reports (as the ipport delegate does).
    address: String,
    workloads: Workloads,
    /// The host's own disk, where an instance's private directory is made, as a real
    /// delegate makes it for its logs (the agent finds what it left there after a crash).
    private: SimFs,
}

impl Actor for StandIn {
    type Msg = DelegateMsg;
    type State = StandInArgs;
    type Arguments = StandInArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: StandInArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        me: &mut StandInArgs,
    ) -> Result<(), ActorProcessingErr> {
        let (host, workloads) = (me.host.as_str(), &me.workloads);
        match message {
            DelegateMsg::Create { spec, reply } => {
                let _ = me.private.create_dir_all(&spec.state_dir);
                workloads.create(host, &spec);
                let _ = reply.send(Ok(endpoint(&me.address, &spec)));
            }
            DelegateMsg::Start {
                spec,
                attributes,
                reply,
            } => match workloads.start_delay(host) {
                None => {
                    let _ = reply.send(workloads.start(host, &spec).map(|()| attributes));
                }
                Some(delay) => {
                    // A slow engine answers late, and serves other operations meanwhile; a
                    // workload deleted in between is not started.
                    let (workloads, host) = (workloads.clone(), host.to_owned());
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let started = match workloads.health(&host, &spec) {
                            InstanceHealth::Missing => Err(DelegateError::Failed(
                                "simulated: deleted while it was starting".into(),
                            )),
                            _ => workloads.start(&host, &spec),
                        };
                        let _ = reply.send(started.map(|()| attributes));
                    });
                }
            },
            DelegateMsg::Status {
                spec,
                attributes,
                reply,
            } => {
                let health = workloads.health(host, &spec);
                let _ = reply.send(Ok(Observation { health, attributes }));
            }
            DelegateMsg::Adopt {
                spec,
                attributes,
                reply,
            } => {
                // As the real delegates do: what died while the agent was away is started
                // again when its restart policy says so.
                let gone = workloads.health(host, &spec) == InstanceHealth::Missing;
                if gone && restarts_on_failure(&spec) {
                    workloads.create(host, &spec);
                    let _ = workloads.start(host, &spec);
                }
                let health = workloads.health(host, &spec);
                let _ = reply.send(Ok(Observation { health, attributes }));
            }
            DelegateMsg::Stop {
                spec,
                attributes,
                reply,
            } => {
                workloads.set(host, &spec, WorkloadState::Stopped);
                let _ = reply.send(Ok(attributes));
            }
            DelegateMsg::Delete { spec, reply, .. } => {
                workloads.delete(host, &spec);
                let _ = reply.send(Ok(()));
            }
            DelegateMsg::Logs { reply, .. } => {
                let _ = reply.send(Ok(LogSource::None));
            }
            DelegateMsg::Exec { reply, .. } => {
                let _ = reply.send(Ok(ExecSource::None));
            }
        }
        Ok(())
    }
}

/// Spawns a host's stand-in, serving every kind a template may use.
/// What a reserved port reports, as the ipport delegate reports it: the host's address, the
/// port and `address:port`; nothing for anything else.
fn endpoint(address: &str, spec: &InstanceSpec) -> serde_json::Map<String, Value> {
    let mut attributes = serde_json::Map::new();
    let port = spec.properties.get("port").and_then(Value::as_u64);
    if let (true, Some(port)) = (is_a(&spec.types, types::PORT), port) {
        attributes.insert("address".into(), address.into());
        attributes.insert("port".into(), port.into());
        attributes.insert("authority".into(), format!("{address}:{port}").into());
    }
    attributes
}

#[derive(Debug)]
pub struct StandIns {
    host: String,
    address: String,
    workloads: Workloads,
    private: SimFs,
}

impl StandIns {
    /// The stand-ins of `host` (at `address`), over `workloads`, making instances' private
    /// directories on `private` (the host's own disk).
    pub fn new(host: &str, address: &str, workloads: &Workloads, private: &SimFs) -> Self {
        StandIns {
            host: host.to_owned(),
            address: address.to_owned(),
            workloads: workloads.clone(),
            private: private.clone(),
        }
    }
}

impl DelegateFactory for StandIns {
    fn spawn(
        &self,
        supervisor: ActorCell,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Delegates, SpawnErr>> + Send + '_>> {
        Box::pin(async move {
            let args = StandInArgs {
                host: self.host.clone(),
                address: self.address.clone(),
                workloads: self.workloads.clone(),
                private: self.private.clone(),
            };
            let (actor, _) = Actor::spawn_linked(None, StandIn, args, supervisor).await?;
            let lifecycle = DelegateKind::ALL
                .into_iter()
                .filter(|kind| *kind != DelegateKind::Systemd)
                .map(|kind| (kind, actor.get_derived()))
                .collect();
            Ok(Delegates::of(lifecycle))
        })
    }
}
