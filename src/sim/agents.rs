//! A cluster of whole agents in one process: each host runs the agent's real Host actor (with
//! its Membership, LockManager, Service and NodeInstance actors and the scheduler) over the
//! simulated seams: datagrams on a [`SimNetwork`], the shared store on a [`SimFs`] disk, the
//! store's clock on virtual time ([`SimClock`]), and [`Workloads`] for the delegates' effects.
//! Host-to-host messages are not used: each host learns of the others' decisions from the
//! store within one catch-up period, as an agent does whose peers cannot be reached.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorCell, ActorRef};

use super::clock::SimClock;
use super::fs::SimFs;
use super::network::{NetworkFaults, SimNetwork, address_of};
use super::workloads::{StandIns, Workloads};
use crate::actors::host::{Host, HostArgs, HostMsg};
use crate::actors::lock_manager::{LockManager, LockManagerMsg, LockManagerRef};
use crate::actors::membership::MembershipNetwork;
use crate::control::RuntimePaths;
use crate::control::protocol::{Reply, Request, Response};
use crate::state::{MemberState, Store};

/// Where the simulated store lives: a path on the simulated disk, not on this machine's.
pub const STORE_ROOT: &str = "/khutulun-sim/store";

/// How long a simulated host's agent may take to answer the simulation.
const ANSWER_PATIENCE: Duration = Duration::from_secs(30);

/// One simulated host.
struct SimHost {
    name: String,
    address: SocketAddr,
    /// Its own disk, which outlives its agent and a crash of its machine.
    private: SimFs,
    /// Its clock (which a fault may skew).
    clock: SimClock,
    /// The agent's Host and LockManager while the agent runs.
    agent: Option<(ActorRef<HostMsg>, ActorRef<LockManagerMsg>)>,
}

/// Hosts `host-1` … `host-N`, each running an agent, in virtual time.
pub struct AgentCluster {
    network: SimNetwork,
    disk: SimFs,
    clock: SimClock,
    workloads: Workloads,
    observer: Store,
    hosts: Vec<SimHost>,
}

/// Kills an actor and every actor below it at once, without their `post_stop`: a crash.
fn kill_tree(cell: &ActorCell) {
    for child in cell.get_children() {
        kill_tree(&child);
    }
    cell.kill();
}

impl AgentCluster {
    /// Starts `hosts` agents on a network with `faults`, every random choice from `seed`.
    /// Call it on a current-thread runtime whose clock is paused.
    pub async fn start(seed: u64, hosts: usize, faults: NetworkFaults) -> Result<Self, String> {
        let disk = SimFs::disk();
        let clock = SimClock::starting_now();
        let reading = Arc::new(disk.for_host(""));
        let observer = Store::with_seams(STORE_ROOT, reading, Arc::new(clock.clone()))
            .map_err(|e| format!("the simulated store cannot be set up: {e}"))?;
        let hosts_made = (0..hosts)
            .map(|index| SimHost {
                name: format!("host-{}", index + 1),
                address: address_of(index),
                private: SimFs::disk(),
                clock: clock.for_host(),
                agent: None,
            })
            .collect();
        let mut cluster = AgentCluster {
            network: SimNetwork::new(seed, faults),
            disk,
            clock,
            workloads: Workloads::default(),
            observer,
            hosts: hosts_made,
        };
        for index in 0..hosts {
            cluster.start_agent(index).await?;
        }
        Ok(cluster)
    }

    /// The hosts' names, in order.
    pub fn names(&self) -> Vec<String> {
        self.hosts.iter().map(|h| h.name.clone()).collect()
    }

    /// The index of host `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.hosts.iter().position(|h| h.name == name)
    }

    /// Whether host `index`'s agent runs.
    pub fn runs(&self, index: usize) -> bool {
        self.hosts[index].agent.is_some()
    }

    /// The store as the simulation reads it (never cut off).
    pub fn store(&self) -> &Store {
        &self.observer
    }

    /// The shared disk, for its faults and its files.
    pub fn disk(&self) -> &SimFs {
        &self.disk
    }

    /// The network, for partitions and statistics.
    pub fn network(&self) -> &SimNetwork {
        &self.network
    }

    /// What runs where.
    pub fn workloads(&self) -> &Workloads {
        &self.workloads
    }

    /// The virtual time since the simulation began.
    pub fn elapsed(&self) -> Duration {
        self.clock.elapsed()
    }

    /// Starts host `index`'s agent (again): its network and store work, a new LockManager
    /// and Host start, and the Host adopts what still runs there.
    pub async fn start_agent(&mut self, index: usize) -> Result<(), String> {
        if self.runs(index) {
            return Ok(());
        }
        let host = &self.hosts[index];
        self.network.revive(host.address);
        self.disk.cut_off(&host.name, false);
        let fs = Arc::new(self.disk.for_host(&host.name));
        let store = Store::with_seams(STORE_ROOT, fs, Arc::new(host.clock.clone()))
            .map_err(|e| format!("{}: the store cannot be opened: {e}", host.name))?;
        let spawn_error = |what: &str, e: ractor::SpawnErr| format!("{}: {what}: {e}", host.name);
        let (lock_manager, _) = Actor::spawn(None, LockManager, store.clone())
            .await
            .map_err(|e| spawn_error("the LockManager did not start", e))?;
        let args = HostArgs {
            name: host.name.clone(),
            address: Some(host.address.to_string()),
            membership: Some(MembershipNetwork {
                transport: self.network.transport(host.address),
                seeds: Vec::new(),
                discovery: None,
            }),
            peers: None,
            offer: Default::default(),
            shutdown: Default::default(),
            store,
            lock_manager: LockManagerRef(lock_manager.clone()),
            runtime: RuntimePaths::on(
                format!("/khutulun-sim/{}/runtime", host.name),
                Arc::new(host.private.clone()),
            ),
            deadlines: Default::default(),
            settle: crate::actors::service::reconcile::SETTLE_TIME,
            delegates: Arc::new(StandIns::new(
                &host.name,
                &host.address.ip().to_string(),
                &self.workloads,
                &host.private,
            )),
        };
        let (actor, _) = Actor::spawn(None, Host, args)
            .await
            .map_err(|e| spawn_error("the agent did not start", e))?;
        self.hosts[index].agent = Some((actor, lock_manager));
        Ok(())
    }

    /// Host `index`'s agent crashes: its actors die at once, it neither sends nor receives;
    /// its workloads keep running.
    pub fn crash_agent(&mut self, index: usize) {
        let host = &mut self.hosts[index];
        self.network.crash(host.address);
        self.disk.cut_off(&host.name, true);
        if let Some((actor, lock_manager)) = host.agent.take() {
            kill_tree(&actor.get_cell());
            lock_manager.kill();
        }
    }

    /// Host `index`'s machine crashes: its agent and every workload on it are gone.
    pub fn crash_machine(&mut self, index: usize) {
        self.crash_agent(index);
        self.workloads.wipe(&self.hosts[index].name);
    }

    /// Cuts the network into sides of host indices (hosts in none form one more side).
    pub fn partition(&self, sides: &[Vec<usize>]) {
        self.network.partition_hosts(sides);
    }

    /// Sets host `index`'s clock `skew_millis` ahead of the others (behind when negative).
    pub fn skew_clock(&self, index: usize, skew_millis: i64) {
        self.hosts[index].clock.skew(skew_millis);
    }

    /// Cuts host `index` off the store, or joins it again.
    pub fn cut_store(&self, index: usize, cut: bool) {
        self.disk.cut_off(&self.hosts[index].name, cut);
    }

    /// Asks host `index`'s agent; `None` when it does not run or does not answer in time.
    pub async fn ask(&self, index: usize, request: Request) -> Option<Reply> {
        let (actor, _) = self.hosts[index].agent.as_ref()?;
        let asked = actor.call(
            |reply| HostMsg::of_request(request, reply),
            Some(ANSWER_PATIENCE),
        );
        match asked.await {
            Ok(ractor::rpc::CallResult::Success(reply)) => Some(reply),
            _ => None,
        }
    }

    /// The hosts host `index` sees alive, or why it cannot say.
    pub async fn alive_as_seen_by(&self, index: usize) -> Result<BTreeSet<String>, String> {
        let name = &self.hosts[index].name;
        match self.ask(index, Request::ListHosts).await {
            Some(Ok(Response::Hosts { hosts })) => Ok(hosts
                .into_iter()
                .filter(|h| h.membership == MemberState::Alive)
                .map(|h| h.record.name)
                .collect()),
            Some(Ok(other)) => Err(format!("{name} answered {other:?}")),
            Some(Err(failure)) => Err(format!("{name} cannot list the hosts: {}", failure.message)),
            None => Err(format!("{name} does not answer")),
        }
    }
}
