//! The delegate actors of one host, spawned together under the runtime's supervisor.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::Arc;

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{Actor, ActorCell, ActorRef, RpcReplyPort, SpawnErr};

use super::directory::{
    DirectoryClaims, DirectoryConfig, DirectoryDelegate, MemoryDirectoryClaims,
};
use super::ipport::{IpPortConfig, IpPortDelegate, IpPortMsg, PortLedger};
use super::nspawn::{NspawnConfig, NspawnDelegate, NspawnMsg};
use super::podman::{PodmanConfig, PodmanDelegate, PodmanMsg};
use super::process::{ProcessConfig, ProcessDelegate, SupervisorChoice};
use super::protocol::{DelegateError, DelegateKind, DelegateRef};
use super::systemd::{SystemdDelegate, SystemdMsg};

/// How this host's delegates are set up; the agent fills it from its command line.
#[derive(Clone)]
pub struct DelegatesConfig {
    /// This host's name in the cluster (ports are reserved per host).
    pub host: String,
    /// The address other instances reach this host's ports at (`127.0.0.1` on one host).
    pub advertise_address: String,
    /// The ports handed out when a template asks for any port.
    pub port_range: RangeInclusive<u16>,
    /// Where port reservations are kept: the runtime's implementation over the shared store.
    pub port_ledger: Arc<dyn PortLedger>,
    /// Where directory paths are claimed, one owner per path: in memory unless set (the agent
    /// sets its implementation over the shared store, which survives restarts).
    pub directory_claims: Arc<dyn DirectoryClaims>,
    /// Who supervises processes: systemd where it answers (the default), or always one of them.
    pub process_supervisor: SupervisorChoice,
    /// Podman's API socket (`unix:///path`); `None` (the default) finds it from the
    /// environment (`$CONTAINER_HOST`, else the rootful socket for root, else the user's).
    pub podman_socket: Option<String>,
}

impl std::fmt::Debug for DelegatesConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelegatesConfig")
            .field("host", &self.host)
            .field("advertise_address", &self.advertise_address)
            .field("port_range", &self.port_range)
            .field("process_supervisor", &self.process_supervisor)
            .field("podman_socket", &self.podman_socket)
            .finish_non_exhaustive()
    }
}

impl DelegatesConfig {
    /// A configuration with the defaults: ports 20000–29999 advertised at 127.0.0.1.
    pub fn new(host: impl Into<String>, port_ledger: Arc<dyn PortLedger>) -> Self {
        DelegatesConfig {
            host: host.into(),
            advertise_address: "127.0.0.1".into(),
            port_range: IpPortConfig::DEFAULT_RANGE,
            port_ledger,
            directory_claims: Arc::new(MemoryDirectoryClaims::default()),
            process_supervisor: SupervisorChoice::Auto,
            podman_socket: None,
        }
    }
}

/// The ActorRefs of all delegate actors on this host.
#[derive(Clone, Debug)]
pub struct Delegates {
    lifecycle: BTreeMap<DelegateKind, DelegateRef>,
    /// The real delegates' own actors, asked whether they can work here; `None` for a set
    /// spawned elsewhere (a simulator's).
    real: Option<RealActors>,
}

/// The actors of the real delegates that answer more than the lifecycle protocol.
#[derive(Clone, Debug)]
struct RealActors {
    ipport: ActorRef<IpPortMsg>,
    systemd: ActorRef<SystemdMsg>,
    podman: ActorRef<PodmanMsg>,
    nspawn: ActorRef<NspawnMsg>,
}

/// Spawns a host's delegates, first and after one stopped: the agent passes
/// [`DelegatesConfig`] (the real ones), a simulator its own. The seam that lets the same Host,
/// Service and NodeInstance actors run against simulated workloads.
pub trait DelegateFactory: Send + Sync + std::fmt::Debug + 'static {
    /// Spawns a set, each linked to `supervisor`.
    fn spawn(
        &self,
        supervisor: ActorCell,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Delegates, SpawnErr>> + Send + '_>>;
}

impl DelegateFactory for DelegatesConfig {
    fn spawn(
        &self,
        supervisor: ActorCell,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Delegates, SpawnErr>> + Send + '_>> {
        Box::pin(Delegates::spawn(self.clone(), supervisor))
    }
}

/// How long `delegate list` waits for each delegate to say whether it can work here, so it
/// never hangs on a bus or socket that does not answer.
pub const AVAILABILITY_DEADLINE: Duration = Duration::from_secs(2);

/// Whether a delegate can work on this host: `Err` says what is missing, in one sentence.
pub type Availability = Result<(), String>;

/// Asks `actor` whether it can work here, giving up after [`AVAILABILITY_DEADLINE`].
async fn ask_available<M: ractor::Message, T: Send + 'static>(
    actor: &ActorRef<M>,
    build: impl FnOnce(RpcReplyPort<Result<T, DelegateError>>) -> M,
) -> Availability {
    match actor.call(build, Some(AVAILABILITY_DEADLINE)).await {
        Ok(CallResult::Success(Ok(_))) => Ok(()),
        Ok(CallResult::Success(Err(error))) => Err(error.to_string()),
        Ok(CallResult::Timeout) => Err(format!(
            "it did not say within {} s whether it can work here",
            AVAILABILITY_DEADLINE.as_secs()
        )),
        Ok(CallResult::SenderError) | Err(_) => Err("its actor is not running".into()),
    }
}

impl Delegates {
    /// Spawns every implemented delegate, each linked to `supervisor` (it is told when one
    /// dies; a delegate keeps no state it cannot rebuild from the attributes it is given, so
    /// respawning the set is always safe).
    pub async fn spawn(config: DelegatesConfig, supervisor: ActorCell) -> Result<Self, SpawnErr> {
        let mut lifecycle = BTreeMap::new();
        let directory_config = DirectoryConfig {
            host: config.host.clone(),
            claims: config.directory_claims.clone(),
        };
        let (directory, _) = Actor::spawn_linked(
            None,
            DirectoryDelegate,
            directory_config,
            supervisor.clone(),
        )
        .await?;
        lifecycle.insert(DelegateKind::Directory, directory.get_derived());
        let ipport_config = IpPortConfig {
            host: config.host.clone(),
            range: config.port_range.clone(),
            advertise_address: config.advertise_address.clone(),
            ledger: config.port_ledger.clone(),
        };
        let (ipport, _) =
            Actor::spawn_linked(None, IpPortDelegate, ipport_config, supervisor.clone()).await?;
        lifecycle.insert(DelegateKind::IpPort, ipport.get_derived());
        let (systemd, _) =
            Actor::spawn_linked(None, SystemdDelegate, (), supervisor.clone()).await?;
        let process_config = ProcessConfig {
            systemd: systemd.clone(),
            supervisor: config.process_supervisor,
        };
        let (process, _) =
            Actor::spawn_linked(None, ProcessDelegate, process_config, supervisor.clone()).await?;
        lifecycle.insert(DelegateKind::Process, process.get_derived());
        let nspawn_config = NspawnConfig {
            process: process.get_derived(),
            systemd: systemd.clone(),
        };
        let (nspawn, _) =
            Actor::spawn_linked(None, NspawnDelegate, nspawn_config, supervisor.clone()).await?;
        lifecycle.insert(DelegateKind::Nspawn, nspawn.get_derived());
        let podman_config = PodmanConfig {
            socket: config.podman_socket.clone(),
        };
        let (podman, _) =
            Actor::spawn_linked(None, PodmanDelegate, podman_config, supervisor.clone()).await?;
        lifecycle.insert(DelegateKind::Podman, podman.get_derived());
        let real = RealActors {
            ipport,
            systemd,
            podman,
            nspawn,
        };
        Ok(Delegates {
            lifecycle,
            real: Some(real),
        })
    }

    /// The systemd delegate (which runs units for the process delegate), when these are the
    /// real delegates.
    pub fn systemd(&self) -> Option<&ActorRef<SystemdMsg>> {
        self.real.as_ref().map(|real| &real.systemd)
    }

    /// A set of lifecycle delegates spawned elsewhere (a simulator's), one per kind.
    pub fn of(lifecycle: BTreeMap<DelegateKind, DelegateRef>) -> Self {
        Delegates {
            lifecycle,
            real: None,
        }
    }

    /// The delegate of `kind`, or a clear error when that kind has no delegate yet.
    pub fn for_kind(&self, kind: DelegateKind) -> Result<DelegateRef, DelegateError> {
        if kind == DelegateKind::Systemd {
            return Err(DelegateError::Failed(
                "the systemd delegate runs units for the process delegate and takes no node instances itself; use a Process or SystemdProcess node".into(),
            ));
        }
        self.lifecycle
            .get(&kind)
            .cloned()
            .ok_or_else(|| DelegateError::NotImplemented(format!("the {kind} delegate")))
    }

    /// The kinds that have a delegate actor here (recorded with the host).
    pub fn kinds(&self) -> impl Iterator<Item = DelegateKind> + '_ {
        let mut kinds: Vec<DelegateKind> = self.lifecycle.keys().copied().collect();
        if self.real.is_some() {
            kinds.push(DelegateKind::Systemd);
        }
        kinds.sort();
        kinds.into_iter()
    }

    /// Whether actor `id` is one of these delegates (and not one of a set already replaced).
    pub fn has_actor(&self, id: ractor::ActorId) -> bool {
        let real = self.real.as_ref();
        real.is_some_and(|real| real.systemd.get_id() == id || real.ipport.get_id() == id)
            || self
                .lifecycle
                .values()
                .any(|delegate| delegate.get_id() == id)
    }

    /// Whether each delegate Khutulun knows can work on this host (for `khutulun delegate
    /// list`): systemd, podman and nspawn are asked (all at once, each within
    /// [`AVAILABILITY_DEADLINE`]); the others work wherever the agent runs, or do not exist yet.
    pub async fn availability(&self) -> Vec<(DelegateKind, Availability)> {
        let Some(real) = &self.real else {
            // A simulator's delegates work wherever they were spawned.
            let kinds = DelegateKind::ALL.into_iter();
            return kinds
                .map(|kind| {
                    (
                        kind,
                        self.lifecycle
                            .get(&kind)
                            .map(|_| ())
                            .ok_or_else(String::new),
                    )
                })
                .collect();
        };
        let (systemd, podman, nspawn) = tokio::join!(
            ask_available(&real.systemd, |reply| SystemdMsg::Available { reply }),
            ask_available(&real.podman, |reply| PodmanMsg::Available { reply }),
            ask_available(&real.nspawn, |reply| NspawnMsg::Available { reply }),
        );
        DelegateKind::ALL
            .into_iter()
            .map(|kind| {
                let availability = match kind {
                    DelegateKind::Systemd => systemd.clone(),
                    DelegateKind::Podman => podman.clone(),
                    DelegateKind::Nspawn => nspawn.clone(),
                    _ if self.lifecycle.contains_key(&kind) => Ok(()),
                    _ => Err(format!("Khutulun has no {kind} delegate yet")),
                };
                (kind, availability)
            })
            .collect()
    }

    /// Stops every delegate actor (workloads keep running: they outlive the agent).
    pub fn stop_all(&self) {
        for delegate in self.lifecycle.values() {
            delegate.stop(None);
        }
        if let Some(real) = &self.real {
            real.systemd.stop(None);
        }
    }
}
