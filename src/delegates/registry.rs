//! The delegate actors of one host, spawned together under the runtime's supervisor.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::Arc;

use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{Actor, ActorCell, ActorRef, RpcReplyPort, SpawnErr};

use super::directory::{
    DirectoryClaims, DirectoryConfig, DirectoryDelegate, DirectoryMsg, MOUNT_DEADLINE,
    MemoryDirectoryClaims,
};
use super::distrobox::{DistroboxConfig, DistroboxDelegate, DistroboxMsg};
use super::docker::{DockerConfig, DockerDelegate, DockerMsg};
use super::firewalld::{FirewalldConfig, FirewalldDelegate, FirewalldMsg};
use super::ipport::{IpPortConfig, IpPortDelegate, IpPortMsg, PortLedger};
use super::libvirt::{LibvirtConfig, LibvirtDelegate, LibvirtMsg};
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
    /// How long mounting or unmounting a networked directory may take before it is given up
    /// and undone (30 s by default).
    pub mount_deadline: Duration,
    /// Who supervises processes: systemd where it answers (the default), or always one of them.
    pub process_supervisor: SupervisorChoice,
    /// Podman's API socket (`unix:///path`); `None` (the default) finds it from the
    /// environment (`$CONTAINER_HOST`, else the rootful socket for root, else the user's).
    pub podman_socket: Option<String>,
    /// The Docker API socket (`unix:///path`); `None` (the default) finds it from the
    /// environment (`$DOCKER_HOST`, else dockerd's socket, else Podman's).
    pub docker_socket: Option<String>,
    /// Where libvirt answers and how its guests run.
    pub libvirt: LibvirtConfig,
    /// Where Firewalld answers and the zone ingress ports are opened in.
    pub firewalld: FirewalldConfig,
    /// Whether an ingress port is reserved without exposure when no Firewalld answers
    /// (by default it is refused).
    pub ingress_without_firewalld: bool,
}

impl std::fmt::Debug for DelegatesConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelegatesConfig")
            .field("host", &self.host)
            .field("advertise_address", &self.advertise_address)
            .field("port_range", &self.port_range)
            .field("mount_deadline", &self.mount_deadline)
            .field("process_supervisor", &self.process_supervisor)
            .field("podman_socket", &self.podman_socket)
            .field("docker_socket", &self.docker_socket)
            .field("libvirt", &self.libvirt)
            .field("firewalld", &self.firewalld)
            .field("ingress_without_firewalld", &self.ingress_without_firewalld)
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
            mount_deadline: MOUNT_DEADLINE,
            process_supervisor: SupervisorChoice::Auto,
            podman_socket: None,
            docker_socket: None,
            libvirt: LibvirtConfig::default(),
            firewalld: FirewalldConfig::default(),
            ingress_without_firewalld: false,
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

/// The order the real delegates are spawned in: each after those it is built on.
const SPAWN_ORDER: [DelegateKind; 10] = [
    DelegateKind::Directory,
    DelegateKind::Firewalld,
    DelegateKind::IpPort,
    DelegateKind::Systemd,
    DelegateKind::Process,
    DelegateKind::Nspawn,
    DelegateKind::Distrobox,
    DelegateKind::Podman,
    DelegateKind::Docker,
    DelegateKind::Libvirt,
];

/// Whether delegate `kind` holds a reference to delegate `on` (and must be spawned again
/// with it).
fn builds_on(kind: DelegateKind, on: DelegateKind) -> bool {
    use DelegateKind::{Distrobox, Firewalld, IpPort, Nspawn, Process, Systemd};
    matches!(
        (kind, on),
        (Process, Systemd)
            | (Nspawn | Distrobox, Systemd)
            | (Nspawn | Distrobox, Process)
            | (IpPort, Firewalld)
    )
}

/// The real delegates' actors while a set is being spawned.
#[derive(Default)]
struct Parts {
    directory: Option<ActorRef<DirectoryMsg>>,
    firewalld: Option<ActorRef<FirewalldMsg>>,
    ipport: Option<ActorRef<IpPortMsg>>,
    systemd: Option<ActorRef<SystemdMsg>>,
    process: Option<DelegateRef>,
    nspawn: Option<ActorRef<NspawnMsg>>,
    distrobox: Option<ActorRef<DistroboxMsg>>,
    podman: Option<ActorRef<PodmanMsg>>,
    docker: Option<ActorRef<DockerMsg>>,
    libvirt: Option<ActorRef<LibvirtMsg>>,
}

impl Parts {
    fn of(delegates: &Delegates, real: &RealActors) -> Self {
        let lifecycle = |kind| delegates.lifecycle.get(&kind).cloned();
        Parts {
            directory: Some(real.directory.clone()),
            firewalld: Some(real.firewalld.clone()),
            ipport: Some(real.ipport.clone()),
            systemd: Some(real.systemd.clone()),
            process: lifecycle(DelegateKind::Process),
            nspawn: Some(real.nspawn.clone()),
            distrobox: Some(real.distrobox.clone()),
            podman: Some(real.podman.clone()),
            docker: Some(real.docker.clone()),
            libvirt: Some(real.libvirt.clone()),
        }
    }

    fn cell(&self, kind: DelegateKind) -> Option<ActorCell> {
        match kind {
            DelegateKind::Directory => self.directory.as_ref().map(|a| a.get_cell()),
            DelegateKind::Firewalld => self.firewalld.as_ref().map(|a| a.get_cell()),
            DelegateKind::IpPort => self.ipport.as_ref().map(|a| a.get_cell()),
            DelegateKind::Systemd => self.systemd.as_ref().map(|a| a.get_cell()),
            DelegateKind::Process => self.process.as_ref().map(|a| a.get_cell()),
            DelegateKind::Nspawn => self.nspawn.as_ref().map(|a| a.get_cell()),
            DelegateKind::Distrobox => self.distrobox.as_ref().map(|a| a.get_cell()),
            DelegateKind::Podman => self.podman.as_ref().map(|a| a.get_cell()),
            DelegateKind::Docker => self.docker.as_ref().map(|a| a.get_cell()),
            DelegateKind::Libvirt => self.libvirt.as_ref().map(|a| a.get_cell()),
        }
    }

    fn id(&self, kind: DelegateKind) -> Option<ractor::ActorId> {
        self.cell(kind).map(|cell| cell.get_id())
    }

    /// Stops the actor of `kind` (its workloads keep running).
    fn stop(&self, kind: DelegateKind) {
        if let Some(cell) = self.cell(kind) {
            cell.stop(None);
        }
    }

    /// Spawns the delegate of `kind`; those it is built on are spawned already.
    async fn spawn(
        &mut self,
        kind: DelegateKind,
        config: &DelegatesConfig,
        supervisor: &ActorCell,
    ) -> Result<(), SpawnErr> {
        let supervisor = supervisor.clone();
        let built = "spawned after what it is built on";
        match kind {
            DelegateKind::Directory => {
                let config = DirectoryConfig {
                    host: config.host.clone(),
                    claims: config.directory_claims.clone(),
                    mount_deadline: config.mount_deadline,
                };
                let (actor, _) =
                    Actor::spawn_linked(None, DirectoryDelegate, config, supervisor).await?;
                self.directory = Some(actor);
            }
            DelegateKind::Firewalld => {
                let (actor, _) = Actor::spawn_linked(
                    None,
                    FirewalldDelegate,
                    config.firewalld.clone(),
                    supervisor,
                )
                .await?;
                self.firewalld = Some(actor);
            }
            DelegateKind::IpPort => {
                let config = IpPortConfig {
                    host: config.host.clone(),
                    range: config.port_range.clone(),
                    advertise_address: config.advertise_address.clone(),
                    ledger: config.port_ledger.clone(),
                    firewalld: self.firewalld.clone().expect(built),
                    ingress_without_firewalld: config.ingress_without_firewalld,
                };
                let (actor, _) =
                    Actor::spawn_linked(None, IpPortDelegate, config, supervisor).await?;
                self.ipport = Some(actor);
            }
            DelegateKind::Systemd => {
                let (actor, _) = Actor::spawn_linked(None, SystemdDelegate, (), supervisor).await?;
                self.systemd = Some(actor);
            }
            DelegateKind::Process => {
                let config = ProcessConfig {
                    systemd: self.systemd.clone().expect(built),
                    supervisor: config.process_supervisor,
                };
                let (actor, _) =
                    Actor::spawn_linked(None, ProcessDelegate, config, supervisor).await?;
                self.process = Some(actor.get_derived());
            }
            DelegateKind::Nspawn => {
                let config = NspawnConfig {
                    process: self.process.clone().expect(built),
                    systemd: self.systemd.clone().expect(built),
                };
                let (actor, _) =
                    Actor::spawn_linked(None, NspawnDelegate, config, supervisor).await?;
                self.nspawn = Some(actor);
            }
            DelegateKind::Distrobox => {
                let config = DistroboxConfig {
                    process: self.process.clone().expect(built),
                    systemd: self.systemd.clone().expect(built),
                };
                let (actor, _) =
                    Actor::spawn_linked(None, DistroboxDelegate, config, supervisor).await?;
                self.distrobox = Some(actor);
            }
            DelegateKind::Podman => {
                let config = PodmanConfig {
                    socket: config.podman_socket.clone(),
                };
                let (actor, _) =
                    Actor::spawn_linked(None, PodmanDelegate, config, supervisor).await?;
                self.podman = Some(actor);
            }
            DelegateKind::Docker => {
                let config = DockerConfig {
                    socket: config.docker_socket.clone(),
                };
                let (actor, _) =
                    Actor::spawn_linked(None, DockerDelegate, config, supervisor).await?;
                self.docker = Some(actor);
            }
            DelegateKind::Libvirt => {
                let (actor, _) =
                    Actor::spawn_linked(None, LibvirtDelegate, config.libvirt.clone(), supervisor)
                        .await?;
                self.libvirt = Some(actor);
            }
        }
        Ok(())
    }
}

/// The actors of the real delegates that answer more than the lifecycle protocol.
#[derive(Clone, Debug)]
struct RealActors {
    directory: ActorRef<DirectoryMsg>,
    firewalld: ActorRef<FirewalldMsg>,
    ipport: ActorRef<IpPortMsg>,
    systemd: ActorRef<SystemdMsg>,
    podman: ActorRef<PodmanMsg>,
    docker: ActorRef<DockerMsg>,
    libvirt: ActorRef<LibvirtMsg>,
    nspawn: ActorRef<NspawnMsg>,
    distrobox: ActorRef<DistroboxMsg>,
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

    /// The set `current` after its actor `dead` stopped, and the kinds spawned again (whose
    /// instances are adopted again). By default the whole set is spawned again.
    fn respawn<'a>(
        &'a self,
        current: &'a Delegates,
        _dead: ractor::ActorId,
        supervisor: ActorCell,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Respawned, SpawnErr>> + Send + 'a>> {
        Box::pin(async move {
            current.stop_all();
            let delegates = self.spawn(supervisor).await?;
            let kinds = delegates.kinds().collect();
            Ok((delegates, kinds))
        })
    }
}

/// A set of delegates after one stopped, and the kinds spawned again.
pub type Respawned = (Delegates, Vec<DelegateKind>);

impl DelegateFactory for DelegatesConfig {
    fn spawn(
        &self,
        supervisor: ActorCell,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Delegates, SpawnErr>> + Send + '_>> {
        Box::pin(Delegates::spawn(self.clone(), supervisor))
    }

    /// Only the delegate that stopped, and those built on it.
    fn respawn<'a>(
        &'a self,
        current: &'a Delegates,
        dead: ractor::ActorId,
        supervisor: ActorCell,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Respawned, SpawnErr>> + Send + 'a>> {
        Box::pin(current.respawn(self.clone(), dead, supervisor))
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
    /// respawning one is always safe).
    pub async fn spawn(config: DelegatesConfig, supervisor: ActorCell) -> Result<Self, SpawnErr> {
        let mut delegates = Delegates {
            lifecycle: BTreeMap::new(),
            real: None,
        };
        let mut parts = Parts::default();
        for kind in SPAWN_ORDER {
            parts.spawn(kind, &config, &supervisor).await?;
        }
        delegates.install(parts);
        Ok(delegates)
    }

    /// Spawns again the delegate whose actor `dead` stopped, and those built on it (the
    /// process, nspawn and distrobox delegates run units through the systemd one; nspawn and
    /// distrobox run their containers' commands through the process delegate); the others keep running untouched. Returns
    /// the new set and the kinds spawned again, whose instances are adopted again.
    pub async fn respawn(
        &self,
        config: DelegatesConfig,
        dead: ractor::ActorId,
        supervisor: ActorCell,
    ) -> Result<(Self, Vec<DelegateKind>), SpawnErr> {
        let Some(real) = &self.real else {
            return Ok((self.clone(), Vec::new()));
        };
        let mut parts = Parts::of(self, real);
        let dead = SPAWN_ORDER
            .into_iter()
            .find(|&kind| parts.id(kind) == Some(dead));
        let Some(dead) = dead else {
            return Ok((self.clone(), Vec::new()));
        };
        let again: Vec<DelegateKind> = SPAWN_ORDER
            .into_iter()
            .filter(|&kind| kind == dead || builds_on(kind, dead))
            .collect();
        for &kind in &again {
            parts.stop(kind);
        }
        for &kind in &again {
            parts.spawn(kind, &config, &supervisor).await?;
        }
        let mut delegates = self.clone();
        delegates.install(parts);
        Ok((delegates, again))
    }

    fn install(&mut self, parts: Parts) {
        let (
            Some(directory),
            Some(firewalld),
            Some(ipport),
            Some(systemd),
            Some(process),
            Some(nspawn),
            Some(distrobox),
            Some(podman),
            Some(docker),
            Some(libvirt),
        ) = (
            parts.directory,
            parts.firewalld,
            parts.ipport,
            parts.systemd,
            parts.process,
            parts.nspawn,
            parts.distrobox,
            parts.podman,
            parts.docker,
            parts.libvirt,
        )
        else {
            unreachable!("every kind of SPAWN_ORDER is spawned");
        };
        self.lifecycle = BTreeMap::from([
            (DelegateKind::Directory, directory.get_derived()),
            (DelegateKind::IpPort, ipport.get_derived()),
            (DelegateKind::Process, process.clone()),
            (DelegateKind::Nspawn, nspawn.get_derived()),
            (DelegateKind::Distrobox, distrobox.get_derived()),
            (DelegateKind::Podman, podman.get_derived()),
            (DelegateKind::Docker, docker.get_derived()),
            (DelegateKind::Libvirt, libvirt.get_derived()),
        ]);
        self.real = Some(RealActors {
            directory,
            firewalld,
            ipport,
            systemd,
            podman,
            docker,
            libvirt,
            nspawn,
            distrobox,
        });
    }

    /// The systemd delegate (which runs units for the process delegate), when these are the
    /// real delegates.
    pub fn systemd(&self) -> Option<&ActorRef<SystemdMsg>> {
        self.real.as_ref().map(|real| &real.systemd)
    }

    /// The directory delegate (which mounts networked directories for the instances that
    /// attach them), when these are the real delegates.
    pub fn directory(&self) -> Option<&ActorRef<DirectoryMsg>> {
        self.real.as_ref().map(|real| &real.directory)
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
        if kind == DelegateKind::Firewalld {
            return Err(DelegateError::Failed(
                "the firewalld delegate opens ports for the ipport delegate and takes no node instances itself; use a Port node with exposure: ingress".into(),
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
            kinds.extend([DelegateKind::Systemd, DelegateKind::Firewalld]);
        }
        kinds.sort();
        kinds.into_iter()
    }

    /// Whether actor `id` is one of these delegates (and not one of a set already replaced).
    pub fn has_actor(&self, id: ractor::ActorId) -> bool {
        let real = self.real.as_ref();
        real.is_some_and(|real| {
            [
                real.systemd.get_id(),
                real.ipport.get_id(),
                real.firewalld.get_id(),
            ]
            .contains(&id)
        }) || self
            .lifecycle
            .values()
            .any(|delegate| delegate.get_id() == id)
    }

    /// Whether each delegate Khutulun knows can work on this host (for `khutulun delegate
    /// list`), all asked at once (see [`Delegates::available`]).
    pub async fn availability(&self) -> Vec<(DelegateKind, Availability)> {
        let asked = DelegateKind::ALL.map(|kind| self.available(kind));
        let answers = futures_util::future::join_all(asked).await;
        DelegateKind::ALL.into_iter().zip(answers).collect()
    }

    /// Whether the delegate of `kind` can work on this host: systemd, podman, docker,
    /// libvirt, nspawn, distrobox and firewalld are asked (each within its 2 s deadline); the others work
    /// wherever the agent runs, or do not exist yet. A simulator's delegates work wherever
    /// they were spawned.
    pub async fn available(&self, kind: DelegateKind) -> Availability {
        let Some(real) = &self.real else {
            return self
                .lifecycle
                .get(&kind)
                .map(|_| ())
                .ok_or_else(String::new);
        };
        match kind {
            DelegateKind::Systemd => {
                ask_available(&real.systemd, |reply| SystemdMsg::Available { reply }).await
            }
            DelegateKind::Podman => {
                ask_available(&real.podman, |reply| PodmanMsg::Available { reply }).await
            }
            DelegateKind::Docker => {
                ask_available(&real.docker, |reply| DockerMsg::Available { reply }).await
            }
            DelegateKind::Libvirt => {
                ask_available(&real.libvirt, |reply| LibvirtMsg::Available { reply }).await
            }
            DelegateKind::Nspawn => {
                ask_available(&real.nspawn, |reply| NspawnMsg::Available { reply }).await
            }
            DelegateKind::Distrobox => {
                ask_available(&real.distrobox, |reply| DistroboxMsg::Available { reply }).await
            }
            DelegateKind::Firewalld => {
                ask_available(&real.firewalld, |reply| FirewalldMsg::Available { reply }).await
            }
            _ if self.lifecycle.contains_key(&kind) => Ok(()),
            _ => Err(format!("Khutulun has no {kind} delegate yet")),
        }
    }

    /// Stops every delegate actor (workloads keep running: they outlive the agent).
    pub fn stop_all(&self) {
        for delegate in self.lifecycle.values() {
            delegate.stop(None);
        }
        if let Some(real) = &self.real {
            real.systemd.stop(None);
            real.firewalld.stop(None);
        }
    }
}
