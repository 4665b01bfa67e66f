//! A cluster of simulated hosts running the agent's membership: each host is a real
//! `Membership` actor with its record in a shared store, on a [`SimNetwork`].

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::time::Duration;

use crate::actors::membership::{
    MemberState, MemberView, Membership, MembershipArgs, MembershipMsg,
};
use std::sync::Arc;

use crate::state::Store;
use crate::state::records::HostRecord;
use ractor::{Actor, ActorRef};

use super::agents::STORE_ROOT;
use super::clock::SimClock;
use super::fs::SimFs;
use super::network::address_of;
use super::network::{NetworkFaults, SimNetwork};

/// Whether a simulated host runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostState {
    /// Its agent runs.
    Running,
    /// It crashed (cut off and stopped) and has not started again.
    Crashed,
}

struct SimHost {
    name: String,
    address: SocketAddr,
    generation: u64,
    actor: Option<ActorRef<MembershipMsg>>,
}

/// Hosts running membership over a simulated network, in virtual time.
pub struct MembershipSim {
    seed: u64,
    network: SimNetwork,
    store: Store,
    hosts: Vec<SimHost>,
}

impl MembershipSim {
    /// Starts `hosts` hosts (`host-0`, `host-1`, …), each with its record in one store, on a
    /// network with `faults`; every random choice follows from `seed`.
    pub async fn start(seed: u64, hosts: usize, faults: NetworkFaults) -> Self {
        let disk = Arc::new(SimFs::disk());
        let clock = Arc::new(SimClock::starting_now());
        let store = Store::with_seams(STORE_ROOT, disk, clock).expect("the simulated store opens");
        let mut sim = MembershipSim {
            seed,
            network: SimNetwork::new(seed, faults),
            store,
            hosts: Vec::new(),
        };
        for index in 0..hosts {
            let host = SimHost {
                name: format!("host-{index}"),
                address: address_of(index),
                generation: 1,
                actor: None,
            };
            let mut record = HostRecord::new(&host.name, &sim.store.now());
            record.address = Some(host.address.to_string());
            sim.store
                .put_host(&record)
                .expect("the host record is written");
            sim.hosts.push(host);
        }
        for index in 0..hosts {
            sim.spawn(index).await;
        }
        sim
    }

    async fn spawn(&mut self, index: usize) {
        let host = &self.hosts[index];
        let args = MembershipArgs {
            name: host.name.clone(),
            transport: self.network.transport(host.address),
            store: self.store.clone(),
            seeds: Vec::new(),
            random_seed: Some(self.seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            generation: Some(host.generation),
            discovery: None,
        };
        let (actor, _) = Actor::spawn(None, Membership, args)
            .await
            .expect("a membership actor starts");
        self.hosts[index].actor = Some(actor);
    }

    /// The network, for partitions and statistics.
    pub fn network(&self) -> &SimNetwork {
        &self.network
    }

    /// How many hosts there are, running or not.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether there are no hosts.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Whether host `index` runs.
    pub fn state(&self, index: usize) -> HostState {
        if self.hosts[index].actor.is_some() {
            HostState::Running
        } else {
            HostState::Crashed
        }
    }

    /// The address of host `index`.
    pub fn address(&self, index: usize) -> SocketAddr {
        self.hosts[index].address
    }

    /// Host `index` crashes: cut off at once, its actor stopped without a word to the others.
    pub async fn crash(&mut self, index: usize) {
        self.network.crash(self.hosts[index].address);
        if let Some(actor) = self.hosts[index].actor.take() {
            actor
                .stop_and_wait(None, Some(Duration::from_secs(5)))
                .await
                .expect("the actor stops");
        }
    }

    /// Host `index` starts again at the same address, as a new life (a higher generation).
    pub async fn restart(&mut self, index: usize) {
        if self.hosts[index].actor.is_some() {
            self.crash(index).await;
        }
        self.hosts[index].generation += 1;
        self.network.revive(self.hosts[index].address);
        self.spawn(index).await;
    }

    /// Cuts the network into sides of host indices.
    pub fn partition(&self, sides: &[Vec<usize>]) {
        self.network.partition_hosts(sides);
    }

    /// Lets virtual time pass.
    pub async fn run_for(&self, time: Duration) {
        tokio::time::sleep(time).await;
    }

    /// What each host sees: its members, for running hosts.
    pub async fn views(&self) -> Vec<Option<Vec<MemberView>>> {
        let mut views = Vec::with_capacity(self.hosts.len());
        for host in &self.hosts {
            views.push(match &host.actor {
                Some(actor) => {
                    Some(ractor::call!(actor, MembershipMsg::Members).expect("the actor answers"))
                }
                None => None,
            });
        }
        views
    }

    /// Checks the invariant of a settled cluster: every running host among `group` sees
    /// exactly the running hosts of `group` alive, each in the life it is in now (a host
    /// starts a new life when it restarts, and when the cluster declared it down and it
    /// rejoined). Says which host sees what otherwise.
    pub async fn agreement(&self, group: &[usize]) -> Result<(), String> {
        let views = self.views().await;
        let expected: BTreeSet<(String, u64)> = group
            .iter()
            .filter_map(|&i| {
                let name = &self.hosts[i].name;
                let itself = MemberView::latest(views[i].as_ref()?, name)?;
                Some((name.clone(), itself.generation))
            })
            .collect();
        for &i in group {
            let Some(view) = &views[i] else { continue };
            let names: BTreeSet<&str> = view.iter().map(|m| m.name.as_str()).collect();
            let alive: BTreeSet<(String, u64)> = names
                .into_iter()
                .filter_map(|name| MemberView::latest(view, name))
                .filter(|member| member.state == MemberState::Alive)
                .map(|member| (member.name.clone(), member.generation))
                .collect();
            if alive != expected {
                let missing: Vec<_> = expected.difference(&alive).collect();
                let extra: Vec<_> = alive.difference(&expected).collect();
                return Err(format!(
                    "{} sees {} alive; missing {missing:?}, extra {extra:?}",
                    self.hosts[i].name,
                    alive.len()
                ));
            }
        }
        Ok(())
    }

    /// Runs until [`MembershipSim::agreement`] holds for `group`, checking every half second
    /// of virtual time; the virtual time it took, or the last disagreement after `limit`.
    pub async fn until_agreement(
        &self,
        group: &[usize],
        limit: Duration,
    ) -> Result<Duration, String> {
        let start = tokio::time::Instant::now();
        loop {
            match self.agreement(group).await {
                Ok(()) => return Ok(start.elapsed()),
                Err(why) if start.elapsed() >= limit => {
                    return Err(format!("no agreement after {limit:?}: {why}"));
                }
                Err(_) => self.run_for(Duration::from_millis(500)).await,
            }
        }
    }

    /// A digest of every host's view and of the network's statistics: two runs from one seed
    /// must give the same sequence of fingerprints.
    pub async fn fingerprint(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        for view in self.views().await {
            match view {
                Some(mut members) => {
                    members.sort_by(|a, b| (&a.name, a.generation).cmp(&(&b.name, b.generation)));
                    for member in members {
                        (member.name, member.generation, member.state.word()).hash(&mut hasher);
                    }
                }
                None => "crashed".hash(&mut hasher),
            }
        }
        self.network.stats().hash(&mut hasher);
        hasher.finish()
    }

    /// Every host index.
    pub fn all(&self) -> Vec<usize> {
        (0..self.hosts.len()).collect()
    }
}
