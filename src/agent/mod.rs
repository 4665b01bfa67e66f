//! The agent (`khutulun agent`): the long-running process on every host. It opens the shared
//! store (refusing a store whose locks do not exclude), takes its runtime directory (one agent
//! per directory), writes the control token, starts the actor tree and serves the control
//! socket until it is told to stop. Workloads outlive it: stopping the agent stops actors, not
//! processes or units.

mod podman_service;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use ractor::{Actor, ActorRef};

use crate::actors::host::{HOST_ACTOR_NAME, HostArgs, HostMsg};
use crate::actors::lock_manager::{LockManager, LockManagerRef};
use crate::actors::membership::{Discovery, MembershipNetwork, UdpTransport};
use crate::actors::peer::PeerNetwork;
use crate::actors::root::Root;
use crate::actors::{StoreDirectoryClaims, StorePortLedger};
use crate::control::protocol::{Failure, FailureKind, Reply, Request};
use crate::control::{RuntimePaths, server, token};
use crate::delegates::DelegatesConfig;
use crate::delegates::protocol::Deadlines;
use crate::state::lock_check::check_locking;
use crate::state::records::HostOffer;
use crate::state::{Filesystem, RealFs, Store};

/// How an agent is started.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The shared store's root.
    pub state: PathBuf,
    /// This host's private directory.
    pub runtime: PathBuf,
    /// This host's name in the cluster.
    pub name: String,
    /// The address other hosts reach this one at: membership (SWIM) listens there on UDP,
    /// host-to-host sessions on TCP, and the host record carries it. `None` runs the host alone, without membership.
    pub listen: Option<SocketAddr>,
    /// More members' addresses to announce to at start, besides the store's host records.
    pub join: Vec<SocketAddr>,
    /// Whether to find other hosts by multicast beacons too (`--discover`).
    pub discover: bool,
    /// The longest any delegate operation may take (each has its own default).
    pub delegate_timeout: Option<std::time::Duration>,
    /// How long a workload started by a deploy or an update must keep running for them to
    /// count it as up (`--settle-time`).
    pub settle_time: std::time::Duration,
    /// What this host offers the scheduler (labels, capacity).
    pub offer: HostOffer,
    /// Where libvirt answers and how its guests run.
    pub libvirt: crate::delegates::libvirt::LibvirtConfig,
    /// Where Firewalld answers and the zone ingress ports are opened in.
    pub firewalld: crate::delegates::firewalld::FirewalldConfig,
    /// Whether ingress ports are reserved without exposure when no Firewalld answers.
    pub ingress_without_firewalld: bool,
    /// Whether the agent starts Podman's API service when nothing answers (`--start-podman`).
    pub start_podman: bool,
}

/// Why the agent could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The store is unusable.
    #[error(transparent)]
    Store(#[from] crate::state::StoreError),
    /// Another agent already uses this runtime directory.
    #[error(
        "another agent already runs with runtime directory {0}; stop it first or pass another --runtime"
    )]
    AlreadyRunning(PathBuf),
    /// Another agent already acts as this host on this store.
    #[error("another agent already runs as host {0} on this store; give this one another --name")]
    HostTaken(String),
    /// The runtime directory or socket could not be set up.
    #[error("could not set up the runtime directory {path}: {source}")]
    Runtime {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The membership address could not be bound.
    #[error("could not listen on {address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The multicast discovery group could not be joined.
    #[error("could not join the discovery group on {address} (--discover): {reason}")]
    Discover {
        /// The `--listen` address.
        address: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The actor tree could not start.
    #[error("the agent's actors could not start: {0}")]
    Actors(String),
}

/// Joins the multicast discovery group on the interface of the `--listen` address (IPv4 only).
fn join_discovery(address: SocketAddr) -> Result<Discovery, AgentError> {
    let SocketAddr::V4(v4) = address else {
        return Err(AgentError::Discover {
            address,
            reason: "multicast discovery needs an IPv4 --listen address".into(),
        });
    };
    Discovery::join(*v4.ip()).map_err(|error| AgentError::Discover {
        address,
        reason: error.to_string(),
    })
}

/// The host name when `--name` is not given: the machine's, reduced to store-safe characters.
pub fn default_host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_start_matches(['-', '.']).to_owned();
    if name.is_empty() {
        "localhost".into()
    } else {
        name
    }
}

fn runtime_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> AgentError + '_ {
    move |source| AgentError::Runtime {
        path: path.to_owned(),
        source,
    }
}

/// How long a request may take in the agent: the Host hands long work on, so this is only hit
/// when something is wrong (the CLI itself gives up after 120 s).
const ASK_DEADLINE: std::time::Duration = std::time::Duration::from_secs(110);

async fn ask_host(request: Request) -> Reply {
    let unavailable = || Failure {
        kind: FailureKind::Internal,
        message: "the agent's host actor is restarting; try again in a moment".into(),
    };
    let Some(host) = ActorRef::<HostMsg>::where_is(HOST_ACTOR_NAME) else {
        return Err(unavailable());
    };
    let message = |reply| HostMsg::of_request(request, reply);
    match host.call(message, Some(ASK_DEADLINE)).await {
        Ok(ractor::rpc::CallResult::Success(reply)) => reply,
        Ok(ractor::rpc::CallResult::Timeout) => Err(Failure {
            kind: FailureKind::Internal,
            message: format!(
                "the agent did not answer within {} s; see its log",
                ASK_DEADLINE.as_secs()
            ),
        }),
        _ => Err(unavailable()),
    }
}

/// Runs the agent until SIGINT or SIGTERM.
pub async fn run(config: AgentConfig) -> Result<(), AgentError> {
    crate::state::check_name("host", &config.name)?;
    crate::delegates::process::close_inherited_descriptors_on_exec();
    let store = Store::open(&config.state)?;
    check_locking(&store)?;
    let host_lock = store.layout().host_lock(&config.name);
    let _host_lock = RealFs
        .try_lock_exclusive(&host_lock)
        .map_err(|e| crate::state::StoreError::io("lock", &host_lock, e))?
        .ok_or_else(|| AgentError::HostTaken(config.name.clone()))?;

    let paths = RuntimePaths::new(&config.runtime);
    std::fs::create_dir_all(paths.dir()).map_err(runtime_error(paths.dir()))?;
    std::fs::set_permissions(paths.dir(), std::fs::Permissions::from_mode(0o700))
        .map_err(runtime_error(paths.dir()))?;
    let _agent_lock = RealFs
        .try_lock_exclusive(&paths.agent_lock())
        .map_err(runtime_error(paths.dir()))?
        .ok_or_else(|| AgentError::AlreadyRunning(paths.dir().to_owned()))?;
    let secret = token::generate().map_err(runtime_error(paths.dir()))?;
    token::write(&paths.token(), &secret).map_err(runtime_error(paths.dir()))?;
    let listener = server::bind(&paths).map_err(runtime_error(paths.dir()))?;
    // Before the delegates, which ask it whether it answers; stopped with the agent.
    let _podman = match config.start_podman {
        true => podman_service::start_if_needed(paths.dir()).await,
        false => None,
    };

    let membership = match config.listen {
        Some(address) => {
            let transport = UdpTransport::bind(address)
                .await
                .map_err(|source| AgentError::Listen { address, source })?;
            let discovery = match config.discover {
                true => Some(Arc::new(join_discovery(address)?)),
                false => None,
            };
            Some(MembershipNetwork {
                transport: Arc::new(transport),
                seeds: config.join.clone(),
                discovery,
            })
        }
        None => None,
    };
    // Host-to-host sessions on TCP, at the address and port membership uses for UDP.
    let peers = match &membership {
        Some(network) => {
            let address = network.transport.local_address();
            let secret = store.cluster_secret()?;
            let started = PeerNetwork::start(&config.name, address, &secret).await;
            Some(started.map_err(|error| AgentError::Listen {
                address,
                source: std::io::Error::other(error.to_string()),
            })?)
        }
        None => None,
    };
    // The only writer of the store: the Host, its services and the delegates' ledgers all
    // write through it, so it is there before any of them and lives as long as the agent.
    let (lock_manager, mut lock_manager_handle) = Actor::spawn(None, LockManager, store.clone())
        .await
        .map_err(|e| AgentError::Actors(e.to_string()))?;
    let lock_manager = LockManagerRef(lock_manager);
    let mut delegates = DelegatesConfig::new(
        config.name.clone(),
        Arc::new(StorePortLedger::new(store.clone(), lock_manager.clone())),
    );
    // Ports are reached from other hosts at this host's address in the cluster.
    if let Some(address) = config.listen {
        delegates.advertise_address = address.ip().to_string();
    }
    delegates.libvirt = config.libvirt.clone();
    delegates.firewalld = config.firewalld.clone();
    delegates.ingress_without_firewalld = config.ingress_without_firewalld;
    delegates.directory_claims = Arc::new(StoreDirectoryClaims::new(
        store.clone(),
        lock_manager.clone(),
    ));
    let shutdown = Arc::new(tokio::sync::Notify::new());
    let args = HostArgs {
        name: config.name.clone(),
        address: membership
            .as_ref()
            .map(|network| network.transport.local_address().to_string()),
        membership,
        peers: peers.clone(),
        offer: config.offer.clone(),
        shutdown: shutdown.clone(),
        store,
        lock_manager: lock_manager.clone(),
        runtime: paths.clone(),
        deadlines: Deadlines {
            cap: config.delegate_timeout,
        },
        settle: config.settle_time,
        delegates: Arc::new(delegates),
    };
    let (root, root_handle) = Actor::spawn(None, Root, args)
        .await
        .map_err(|e| AgentError::Actors(e.to_string()))?;
    let server = tokio::spawn(server::serve(listener, secret, ask_host));
    tracing::info!(
        host = %config.name,
        store = %config.state.display(),
        socket = %paths.socket().display(),
        "agent ready"
    );

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(runtime_error(paths.dir()))?;
    let mut root_handle = root_handle;
    let stopped_by_itself = tokio::select! {
        _ = tokio::signal::ctrl_c() => None,
        _ = terminate.recv() => None,
        _ = shutdown.notified() => None,
        _ = &mut root_handle => Some("the actor tree stopped"),
        _ = &mut lock_manager_handle => Some("the lock manager stopped"),
    };
    server.abort();
    if let Some(peers) = &peers {
        peers.stop();
    }
    let _ = std::fs::remove_file(paths.socket());
    let _ = std::fs::remove_file(paths.token());
    if let Some(what) = stopped_by_itself {
        root.stop(Some(what.into()));
        lock_manager.0.stop(Some(what.into()));
        return Err(AgentError::Actors(what.into()));
    }
    tracing::info!("agent stopping; workloads keep running");
    root.stop(Some("agent stopping".into()));
    // An actor busy with a long step (a deploy, a hung engine) stops only once that step
    // ends; the agent does not wait for it: what was in flight is finished or undone by
    // the next agent, from the store.
    if tokio::time::timeout(STOP_GRACE, root_handle).await.is_err() {
        tracing::warn!(
            grace = ?STOP_GRACE,
            "actors still busy; stopping without them (workloads keep running)"
        );
    }
    // Last, so the actors' final writes still had their writer; one in progress finishes or
    // not, like any write at a crash: the store is never left half-written.
    lock_manager.0.stop(Some("agent stopping".into()));
    Ok(())
}

/// How long a stopping agent waits for its actors to stop, within the 10 s a service
/// manager usually allows after SIGTERM.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);
