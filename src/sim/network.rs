//! A simulated datagram network under SWIM: every datagram is delayed, dropped or delivered by
//! one seeded random generator, partitions cut it into sides, and a crashed host neither sends
//! nor receives.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::actors::membership::{DEFAULT_PORT, Delivery, MembershipMsg, Transport};
use ractor::ActorRef;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// How unreliable the network is.
#[derive(Clone, Copy, Debug)]
pub struct NetworkFaults {
    /// The probability that a datagram is lost (0 to 1).
    pub loss: f64,
    /// The shortest delay of a delivered datagram.
    pub min_delay: Duration,
    /// The longest delay of a delivered datagram.
    pub max_delay: Duration,
    /// The probability that a delivered datagram arrives twice (0 to 1), each copy with its
    /// own delay, so the copies may also come out of order.
    pub duplicate: f64,
}

impl NetworkFaults {
    /// A LAN: no loss, 0.1 to 2 ms of delay.
    pub fn lan() -> Self {
        NetworkFaults {
            loss: 0.0,
            min_delay: Duration::from_micros(100),
            max_delay: Duration::from_millis(2),
            duplicate: 0.0,
        }
    }

    /// A LAN that loses `loss` of its datagrams.
    pub fn lossy(loss: f64) -> Self {
        NetworkFaults {
            loss,
            ..Self::lan()
        }
    }
}

/// What the network did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NetworkStats {
    /// Datagrams handed to the network.
    pub sent: u64,
    /// Datagrams lost at random.
    pub lost: u64,
    /// Datagrams stopped by a partition or a crashed host.
    pub cut: u64,
    /// Datagrams that reached a running host.
    pub delivered: u64,
    /// Datagrams sent twice (both copies count as delivered when they arrive).
    pub duplicated: u64,
}

/// The network: shared by every [`SimTransport`] on it.
#[derive(Clone, Debug)]
pub struct SimNetwork {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    random: StdRng,
    faults: NetworkFaults,
    /// Who receives at each address now.
    receivers: BTreeMap<SocketAddr, ActorRef<MembershipMsg>>,
    /// Each address's side while the network is partitioned (absent: side 0).
    sides: BTreeMap<SocketAddr, usize>,
    /// Crashed hosts: cut off until they start again.
    crashed: BTreeSet<SocketAddr>,
    /// Links cut in one direction only: `(from, to)` loses what `from` sends to `to`.
    one_way: BTreeSet<(SocketAddr, SocketAddr)>,
    stats: NetworkStats,
}

impl Inner {
    fn connected(&self, from: SocketAddr, to: SocketAddr) -> bool {
        let side = |address| self.sides.get(&address).copied().unwrap_or(0);
        !self.crashed.contains(&from)
            && !self.crashed.contains(&to)
            && side(from) == side(to)
            && !self.one_way.contains(&(from, to))
    }
}

impl SimNetwork {
    /// A network whose every random choice comes from `seed`.
    pub fn new(seed: u64, faults: NetworkFaults) -> Self {
        SimNetwork {
            inner: Arc::new(Mutex::new(Inner {
                random: StdRng::seed_from_u64(seed),
                faults,
                receivers: BTreeMap::new(),
                sides: BTreeMap::new(),
                crashed: BTreeSet::new(),
                one_way: BTreeSet::new(),
                stats: NetworkStats::default(),
            })),
        }
    }

    /// The transport of a host at `address`.
    pub fn transport(&self, address: SocketAddr) -> Arc<SimTransport> {
        Arc::new(SimTransport {
            network: self.clone(),
            address,
        })
    }

    /// Cuts the network into `sides`: datagrams only flow between addresses of one side
    /// (addresses in no side form one more side together).
    pub fn partition(&self, sides: &[Vec<SocketAddr>]) {
        let mut inner = self.lock();
        inner.sides = sides
            .iter()
            .enumerate()
            .flat_map(|(side, addresses)| addresses.iter().map(move |a| (*a, side + 1)))
            .collect();
    }

    /// Cuts the network into sides of host indices (host `i` at 10.0.0.`i+1`).
    pub fn partition_hosts(&self, sides: &[Vec<usize>]) {
        let sides: Vec<Vec<SocketAddr>> = sides
            .iter()
            .map(|side| side.iter().map(|&i| address_of(i)).collect())
            .collect();
        self.partition(&sides);
    }

    /// Cuts these links of host indices in one direction: host `from` no longer reaches host
    /// `to`, while `to` still reaches `from` (an asymmetric partition). Replaces the cuts
    /// made before; none joins every link again.
    pub fn cut_one_way(&self, links: &[(usize, usize)]) {
        self.lock().one_way = links
            .iter()
            .map(|&(from, to)| (address_of(from), address_of(to)))
            .collect();
    }

    /// Changes how much the network loses and duplicates from now on.
    pub fn set_unreliability(&self, loss: f64, duplicate: f64) {
        let mut inner = self.lock();
        inner.faults.loss = loss;
        inner.faults.duplicate = duplicate;
    }

    /// Joins the sides of a partition again.
    pub fn heal(&self) {
        self.lock().sides.clear();
    }

    /// A host crashes: from now on it neither sends nor receives (what is in flight to it is
    /// lost), until [`SimNetwork::revive`].
    pub fn crash(&self, address: SocketAddr) {
        self.lock().crashed.insert(address);
    }

    /// A crashed host's address works again (a new life of the host starts there).
    pub fn revive(&self, address: SocketAddr) {
        self.lock().crashed.remove(&address);
    }

    /// What the network did so far.
    pub fn stats(&self) -> NetworkStats {
        self.lock().stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn send(&self, from: SocketAddr, to: SocketAddr, datagram: &[u8]) {
        let delays = {
            let mut inner = self.lock();
            inner.stats.sent += 1;
            if !inner.connected(from, to) {
                inner.stats.cut += 1;
                return;
            }
            let loss = inner.faults.loss;
            if loss > 0.0 && inner.random.random_bool(loss) {
                inner.stats.lost += 1;
                return;
            }
            let (min, max) = (inner.faults.min_delay, inner.faults.max_delay);
            let mut delays = vec![inner.random.random_range(min..=max)];
            let duplicate = inner.faults.duplicate;
            if duplicate > 0.0 && inner.random.random_bool(duplicate) {
                inner.stats.duplicated += 1;
                delays.push(inner.random.random_range(min..=max));
            }
            delays
        };
        for delay in delays {
            self.deliver(from, to, datagram.to_vec(), delay);
        }
    }

    /// Hands `data` to `to`'s receiver after `delay`, if the link still works then.
    fn deliver(&self, from: SocketAddr, to: SocketAddr, data: Vec<u8>, delay: Duration) {
        let network = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let receiver = {
                let mut inner = network.lock();
                if !inner.connected(from, to) {
                    inner.stats.cut += 1;
                    return;
                }
                let receiver = inner.receivers.get(&to).cloned();
                if receiver.is_some() {
                    inner.stats.delivered += 1;
                }
                receiver
            };
            if let Some(receiver) = receiver {
                let _ = receiver.cast(MembershipMsg::Datagram { from, data });
            }
        });
    }
}

/// The address of host `index` (from 0): 10.x.y.z on SWIM's default port, never bound.
pub(super) fn address_of(index: usize) -> SocketAddr {
    let n = u32::try_from(index).expect("fewer than 2^24 hosts") + 1;
    SocketAddr::new(Ipv4Addr::from(0x0a00_0000 | n).into(), DEFAULT_PORT)
}

/// One host's end of the [`SimNetwork`].
#[derive(Debug)]
pub struct SimTransport {
    network: SimNetwork,
    address: SocketAddr,
}

impl Transport for SimTransport {
    fn local_address(&self) -> SocketAddr {
        self.address
    }

    fn send(&self, to: SocketAddr, datagram: &[u8]) {
        self.network.send(self.address, to, datagram);
    }

    fn deliver_to(&self, actor: ActorRef<MembershipMsg>) -> Delivery {
        let id = actor.get_id();
        self.network.lock().receivers.insert(self.address, actor);
        let network = self.network.clone();
        let address = self.address;
        Delivery::stopping_with(move || {
            let mut inner = network.lock();
            if inner
                .receivers
                .get(&address)
                .is_some_and(|a| a.get_id() == id)
            {
                inner.receivers.remove(&address);
            }
        })
    }
}
