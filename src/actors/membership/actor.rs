//! The Membership actor: the runtime of one SWIM instance. It feeds foca the datagrams and
//! timers that arrive, carries out what foca asks (send a datagram, set a timer), logs every
//! change of membership, and answers who is in the cluster.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;

use foca::{AccumulatingRuntime, Foca, Identity, NoCustomBroadcast, OwnedNotification};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::codec::{WireCodec, wire_codec};
use super::discovery::{BEACON_INTERVAL, Beacon, Discovery};
use super::identity::HostIdentity;
use super::messages::{DroppedDatagrams, MembershipMsg};
use super::seal::Seal;
use super::transport::{Delivery, Transport};
use super::tuning::{CUT_OFF_AFTER, LISTEN_INTERVAL, REJOIN_INTERVAL, lan_config};
use super::view::{MemberState, MemberView};
use crate::state::records::HostRecord;
use crate::state::{Clock, Store};
use crate::throttle::LogLimit;

/// The Membership actor.
pub struct Membership;

/// What a Membership actor needs to start (kept by its supervisor to start it again).
#[derive(Clone, Debug)]
pub struct MembershipArgs {
    /// This host's name.
    pub name: String,
    /// Where datagrams go and come from.
    pub transport: Arc<dyn Transport>,
    /// The shared store: its host records say where the other hosts are.
    pub store: Store,
    /// More addresses to announce to (`--join`), for members without a record in the store.
    pub seeds: Vec<SocketAddr>,
    /// The seed of SWIM's random choices; `None` derives one from this host's identity.
    pub random_seed: Option<u64>,
    /// This life's generation (see [`HostIdentity`]); `None` takes the wall clock, so that each
    /// start, a restart after a crash included, is a newer identity. A simulator gives its own.
    pub generation: Option<u64>,
    /// The multicast discovery group to beckon on and listen to, with `--discover`.
    pub discovery: Option<Arc<Discovery>>,
}

type Swim = Foca<HostIdentity, WireCodec, StdRng, NoCustomBroadcast>;

/// The Membership actor's state: the SWIM instance and what it asked for.
pub struct MembershipState {
    swim: Swim,
    /// Which SWIM instance runs: it rises each time the host starts afresh, cut off.
    life: u32,
    /// When a datagram of a member last opened and was taken: the runtime's monotonic clock
    /// (virtual in a simulation, as SWIM's timers are; immune to wall-clock jumps).
    last_heard: tokio::time::Instant,
    /// The members forgotten when this host found itself cut off: down, as it sees them,
    /// until they are heard from again.
    forgotten: Vec<HostIdentity>,
    pending: AccumulatingRuntime<HostIdentity>,
    transport: Arc<dyn Transport>,
    store: Store,
    seeds: Vec<SocketAddr>,
    /// When this host last saw each member come up or go down (by address; the store's clock).
    changed: HashMap<SocketAddr, String>,
    /// Seals what is sent and opens what arrives.
    seal: Seal,
    /// The store's clock: datagrams carry and are judged by its time.
    clock: Arc<dyn Clock>,
    /// The datagrams dropped so far, by reason.
    dropped: DroppedDatagrams,
    /// At most one warning about dropped datagrams per [`DROP_WARNING_INTERVAL`].
    drop_warnings: LogLimit,
    /// The discovery group, with `--discover`.
    discovery: Option<Arc<Discovery>>,
    /// The cluster size SWIM's configuration is for (how often news is passed on, how long a
    /// suspicion lasts), kept in step with the hosts known.
    sized_for: usize,
    /// How many host records the store had at the last look.
    recorded: usize,
    _delivery: Delivery,
    _beacons: Option<Delivery>,
}

/// How often dropped datagrams may be warned about: whoever floods the port cannot flood the
/// log.
const DROP_WARNING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

fn derived_seed(identity: &HostIdentity) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    identity.hash(&mut hasher);
    hasher.finish()
}

/// A SWIM instance for `identity` in a cluster of about `hosts` hosts.
fn new_swim(identity: HostIdentity, hosts: usize, seed: u64, clock: Arc<dyn Clock>) -> Swim {
    Foca::new(
        identity,
        lan_config(hosts),
        StdRng::seed_from_u64(seed),
        wire_codec(clock),
    )
}

/// The host records other than this host's, with the address each gave (records without one,
/// or with one that is not a socket address, cannot be reached and are skipped).
fn other_hosts(records: Vec<HostRecord>, me: &str) -> Vec<HostIdentity> {
    records
        .into_iter()
        .filter(|record| record.name != me)
        .filter_map(|record| {
            let address = record.address.as_deref()?.parse().ok()?;
            Some(HostIdentity::reachable_at(&record.name, address))
        })
        .collect()
}

/// The store's host records; none when they cannot be read (membership carries on with the
/// members it knows, and tries again at the next rejoin).
fn host_records(store: &Store) -> Vec<HostRecord> {
    store.list_hosts().unwrap_or_else(|error| {
        tracing::warn!(%error, "could not read the host records to find other members");
        Vec::new()
    })
}

impl MembershipState {
    /// Announces this host to every known address of a host it does not see alive.
    fn announce_to_absent(&mut self, records: Vec<HostRecord>) {
        let me = self.swim.identity().clone();
        let mut targets = other_hosts(records, &me.name);
        targets.extend(
            self.seeds
                .iter()
                .map(|&address| HostIdentity::reachable_at("", address)),
        );
        // One set, not a scan of the members per target: a host of a thousand looks at a
        // thousand records every rejoin interval.
        let alive: std::collections::HashSet<SocketAddr> = self
            .swim
            .iter_members()
            .map(|member| member.id().address)
            .collect();
        for target in targets {
            if alive.contains(&target.address) || target.address == me.address {
                continue;
            }
            tracing::debug!(to = %target.address, "announcing this host");
            if let Err(error) = self.swim.announce(target, &mut self.pending) {
                tracing::warn!(%error, "could not announce this host");
            }
        }
    }

    /// Sizes SWIM's configuration for the hosts known now: the store's records, or the live
    /// members when more. A configuration sized for a lone first host would pass each piece
    /// of news on once, and a dead host would be declared down everywhere seconds late.
    fn resize(&mut self) {
        let size = self.recorded.max(self.swim.num_members() + 1).max(1);
        if size == self.sized_for {
            return;
        }
        match self.swim.set_config(lan_config(size)) {
            Ok(()) => {
                tracing::debug!(hosts = size, "SWIM sized for the cluster");
                self.sized_for = size;
            }
            Err(error) => tracing::warn!(%error, "could not size SWIM for the cluster"),
        }
    }

    fn send_pending(&mut self) {
        while let Some((to, payload)) = self.pending.to_send() {
            let datagram = self.seal.seal(self.clock.unix_millis(), &payload);
            self.transport.send(to.address, &datagram);
        }
    }

    /// Sends this host's beacon to the discovery group.
    fn beckon(&mut self) {
        let Some(discovery) = &self.discovery else {
            return;
        };
        let me = self.swim.identity();
        let beacon = Beacon {
            name: me.name.clone(),
            address: me.address,
        };
        discovery.send(&self.seal.seal(self.clock.unix_millis(), &beacon.encode()));
    }

    /// Announces this host to the sender of a beacon it does not see alive.
    fn heard(&mut self, from: SocketAddr, data: &[u8]) {
        let beacon = match self.seal.open(self.clock.unix_millis(), data) {
            Ok(payload) => Beacon::decode(payload),
            Err(rejection) => {
                self.dropped.count(rejection);
                return self.warn_dropped(from, &rejection.to_string());
            }
        };
        let beacon = match beacon {
            Ok(beacon) => beacon,
            Err(error) => {
                self.dropped.invalid += 1;
                return self.warn_dropped(from, &error);
            }
        };
        let known = self
            .swim
            .iter_members()
            .any(|m| m.id().address == beacon.address);
        if known || beacon.address == self.swim.identity().address {
            return;
        }
        tracing::info!(host = %beacon.name, address = %beacon.address, "heard a beacon; announcing this host");
        let target = HostIdentity::reachable_at(&beacon.name, beacon.address);
        if let Err(error) = self.swim.announce(target, &mut self.pending) {
            tracing::warn!(%error, "could not announce this host");
        }
    }

    /// Warns about a dropped datagram, at most once per [`DROP_WARNING_INTERVAL`].
    fn warn_dropped(&mut self, from: SocketAddr, reason: &str) {
        if let Some(left_out) = self.drop_warnings.allow(std::time::Instant::now()) {
            tracing::warn!(
                %from,
                %reason,
                dropped_since_last_warning = left_out,
                total = ?self.dropped,
                "dropped a SWIM datagram"
            );
        }
    }

    /// Hands an arriving datagram to SWIM if it opens; otherwise counts it and drops it
    /// without an answer.
    fn receive(&mut self, from: SocketAddr, data: &[u8]) {
        let now = self.clock.unix_millis();
        let refused = match self.seal.open(now, data) {
            Ok(payload) => match self.swim.handle_data(payload, &mut self.pending) {
                Ok(()) => {
                    self.last_heard = tokio::time::Instant::now();
                    return;
                }
                // Authentic, but SWIM would not have it (an implausible generation, a
                // datagram from this host's own address): a member's bug, not an outsider.
                Err(error) => {
                    self.dropped.invalid += 1;
                    error.to_string()
                }
            },
            Err(rejection) => {
                self.dropped.count(rejection);
                rejection.to_string()
            }
        };
        self.warn_dropped(from, &refused);
    }

    /// Starts SWIM afresh as a newer identity when this host knows live members but heard
    /// from none for [`CUT_OFF_AFTER`] (see there).
    fn listen(&mut self) {
        let silent = self.last_heard.elapsed();
        if self.swim.num_members() == 0 || silent < CUT_OFF_AFTER {
            return;
        }
        let identity = self
            .swim
            .identity()
            .renew()
            .expect("a host identity renews");
        tracing::warn!(
            %identity,
            silent = ?silent,
            "no member was heard from: this host is cut off; its membership starts afresh"
        );
        let forgotten: Vec<HostIdentity> =
            self.swim.iter_members().map(|m| m.id().clone()).collect();
        for member in &forgotten {
            tracing::warn!(%member, "member down");
            self.changed.insert(member.address, self.store.now());
        }
        self.forgotten
            .retain(|old| !forgotten.iter().any(|new| new.address == old.address));
        self.forgotten.extend(forgotten);
        self.start_afresh(identity);
    }

    /// Replaces the SWIM instance by a new one as `identity`, knowing no member, and announces
    /// it to the store's hosts. What the old instance believed (members it suspected, with the
    /// timers that would have declared them down) goes with it: the others' answers say again
    /// who is alive.
    fn start_afresh(&mut self, identity: HostIdentity) {
        let seed = derived_seed(&identity);
        self.swim = new_swim(identity, self.sized_for, seed, self.clock.clone());
        self.pending = AccumulatingRuntime::new();
        self.life = self.life.wrapping_add(1);
        self.announce_to_absent(host_records(&self.store));
    }

    /// Carries out what SWIM asked for since the last call.
    fn carry_out(&mut self, myself: &ActorRef<MembershipMsg>) {
        self.send_pending();
        let life = self.life;
        while let Some((after, timer)) = self.pending.to_schedule() {
            myself.send_after(after, move || MembershipMsg::Timer { timer, life });
        }
        let (mut changed, mut rejoined) = (false, None);
        while let Some(notification) = self.pending.to_notify() {
            changed = true;
            if let OwnedNotification::Rejoin(identity) = &notification {
                rejoined = Some(identity.clone());
            }
            self.record_change(notification);
        }
        if changed {
            self.resize();
        }
        // Declared down, SWIM renewed this host's identity but kept its view, and dropped the
        // timers that would turn its suspects into downs: a member it suspected would stay
        // suspect for good. The new identity starts from a clean view instead.
        if let Some(identity) = rejoined {
            self.start_afresh(identity);
            self.carry_out(myself);
        }
    }

    fn members(&self) -> Vec<MemberView> {
        let view = |identity: &HostIdentity, state| MemberView {
            since: self.changed.get(&identity.address).cloned(),
            ..MemberView::new(identity, state)
        };
        let mut views = vec![view(self.swim.identity(), MemberState::Alive)];
        views.extend(
            self.swim
                .iter_membership_state()
                .map(|member| view(member.id(), member.state().into())),
        );
        for member in &self.forgotten {
            if !views.iter().any(|known| known.address == member.address) {
                views.push(view(member, MemberState::Down));
            }
        }
        views
    }

    /// Logs a change of membership and remembers when it happened.
    fn record_change(&mut self, notification: OwnedNotification<HostIdentity>) {
        let changed = match &notification {
            OwnedNotification::MemberUp(member) | OwnedNotification::MemberDown(member) => {
                Some(member.address)
            }
            OwnedNotification::Rename(_, identity) | OwnedNotification::Rejoin(identity) => {
                Some(identity.address)
            }
            OwnedNotification::Active => Some(self.swim.identity().address),
            _ => None,
        };
        if let Some(address) = changed {
            self.changed.insert(address, self.store.now());
        }
        log_change(notification);
    }
}

fn log_change(notification: OwnedNotification<HostIdentity>) {
    match notification {
        OwnedNotification::MemberUp(member) => tracing::info!(%member, "member up"),
        OwnedNotification::MemberDown(member) => tracing::warn!(%member, "member down"),
        OwnedNotification::Rename(before, after) => {
            tracing::info!(%before, %after, "member came back as a new identity")
        }
        OwnedNotification::Active => tracing::info!("joined the cluster"),
        OwnedNotification::Idle => tracing::warn!("no other member is alive"),
        OwnedNotification::Defunct => {
            tracing::error!("the cluster declared this host down and it cannot rejoin")
        }
        OwnedNotification::Rejoin(identity) => {
            tracing::warn!(%identity, "the cluster declared this host down; rejoined")
        }
    }
}

impl Actor for Membership {
    type Msg = MembershipMsg;
    type State = MembershipState;
    type Arguments = MembershipArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: MembershipArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let address = args.transport.local_address();
        let clock = args.store.clock().clone();
        let generation = args.generation.unwrap_or_else(|| clock.unix_millis());
        let identity = HostIdentity::starting(&args.name, address, generation);
        let seal = Seal::new(&args.store.cluster_secret()?);
        let seed = args.random_seed.unwrap_or_else(|| derived_seed(&identity));
        let records = host_records(&args.store);
        let config = lan_config(records.len());
        tracing::info!(
            %identity,
            probe_period = ?config.probe_period,
            suspect_to_down_after = ?config.suspect_to_down_after,
            "membership starting"
        );
        let swim = new_swim(identity, records.len(), seed, clock.clone());
        let mut state = MembershipState {
            swim,
            life: 0,
            last_heard: tokio::time::Instant::now(),
            forgotten: Vec::new(),
            pending: AccumulatingRuntime::new(),
            _delivery: args.transport.deliver_to(myself.clone()),
            transport: args.transport,
            store: args.store,
            seeds: args.seeds,
            changed: HashMap::new(),
            seal,
            clock,
            dropped: DroppedDatagrams::default(),
            drop_warnings: LogLimit::new(DROP_WARNING_INTERVAL),
            _beacons: args
                .discovery
                .as_ref()
                .map(|d| d.deliver_to(myself.clone())),
            discovery: args.discovery,
            sized_for: records.len().max(1),
            recorded: records.len(),
        };
        if state.discovery.is_some() {
            state.beckon();
            myself.send_after(BEACON_INTERVAL, || MembershipMsg::Beckon);
        }
        state.announce_to_absent(records);
        state.carry_out(&myself);
        myself.send_after(REJOIN_INTERVAL, || MembershipMsg::Rejoin);
        myself.send_after(LISTEN_INTERVAL, || MembershipMsg::Listen);
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut MembershipState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            // Anything may arrive on a UDP port: a bad datagram is dropped, never fatal.
            MembershipMsg::Datagram { from, data } => state.receive(from, &data),
            MembershipMsg::Beacon { from, data } => state.heard(from, &data),
            MembershipMsg::Beckon => {
                state.beckon();
                myself.send_after(BEACON_INTERVAL, || MembershipMsg::Beckon);
            }
            MembershipMsg::Timer { timer, life } if life == state.life => {
                if let Err(error) = state.swim.handle_timer(timer, &mut state.pending) {
                    tracing::warn!(%error, "a SWIM timer could not be handled");
                }
            }
            // A timer of the instance that was replaced.
            MembershipMsg::Timer { .. } => {}
            MembershipMsg::Listen => {
                state.listen();
                myself.send_after(LISTEN_INTERVAL, || MembershipMsg::Listen);
            }
            MembershipMsg::Rejoin => {
                let records = host_records(&state.store);
                state.recorded = records.len();
                state.resize();
                state.announce_to_absent(records);
                myself.send_after(REJOIN_INTERVAL, || MembershipMsg::Rejoin);
            }
            MembershipMsg::Members(reply) => {
                let _ = reply.send(state.members());
            }
            MembershipMsg::Dropped(reply) => {
                let _ = reply.send(state.dropped);
            }
        }
        state.carry_out(&myself);
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut MembershipState,
    ) -> Result<(), ActorProcessingErr> {
        // Tell the others now rather than let them find out by probing.
        if let Err(error) = state.swim.leave_cluster(&mut state.pending) {
            tracing::debug!(%error, "could not say goodbye to the cluster");
        }
        state.send_pending();
        Ok(())
    }
}
