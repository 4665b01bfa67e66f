//! Only members take part in SWIM: Membership actors on real UDP sockets on 127.0.0.1 drop,
//! unanswered and counted, what an outsider sends (a plain Announce, another cluster's sealed
//! datagrams), a replay of a member's datagram, and a datagram naming a generation beyond the
//! clock; two clusters with different secrets never see each other.
//!
//! "Unanswered" is checked without racing: after the datagram that must get no answer, the
//! test sends one that must (a fresh sealed Announce) and waits for its answer; the actor
//! handles datagrams in order, so an answer to the first would have come before.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use foca::{Codec, Header, Message};
use khutulun::actors::membership::{
    DroppedDatagrams, HostIdentity, MemberState, MemberView, Membership, MembershipArgs,
    MembershipMsg, Seal, Transport, UdpTransport, WireCodec, wire_codec,
};
use khutulun::state::records::HostRecord;
use khutulun::state::{Clock, ClusterSecret, Store, SystemClock};
use ractor::{Actor, ActorRef};
use tokio::net::UdpSocket;

/// How long an awaited answer or state may take before the test gives up (not a bound).
const PATIENCE: Duration = Duration::from_secs(30);

struct Host {
    actor: ActorRef<MembershipMsg>,
    address: SocketAddr,
}

async fn start(store: &Store, name: &str, seeds: Vec<SocketAddr>) -> Host {
    let transport = Arc::new(
        UdpTransport::bind("127.0.0.1:0".parse().unwrap())
            .await
            .expect("a UDP port on loopback"),
    );
    let address = transport.local_address();
    let mut record = HostRecord::new(name, &store.now());
    record.address = Some(address.to_string());
    store.put_host(&record).expect("the host record is written");
    let args = MembershipArgs {
        name: name.to_owned(),
        transport,
        store: store.clone(),
        seeds,
        random_seed: Some(11),
        generation: None,
        discovery: None,
    };
    let (actor, _) = Actor::spawn(None, Membership, args)
        .await
        .expect("membership starts");
    Host { actor, address }
}

async fn members(host: &Host) -> Vec<MemberView> {
    ractor::call_t!(host.actor, MembershipMsg::Members, 5000).expect("the actor answers")
}

async fn dropped(host: &Host) -> DroppedDatagrams {
    ractor::call_t!(host.actor, MembershipMsg::Dropped, 5000).expect("the actor answers")
}

/// A socket that speaks SWIM by hand, holding (as a member would) the cluster's secret.
struct Stranger {
    socket: UdpSocket,
    secret: ClusterSecret,
}

impl Stranger {
    async fn new(store: &Store) -> Stranger {
        Stranger {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            secret: store.cluster_secret().unwrap(),
        }
    }

    fn identity(&self, name: &str, generation: u64) -> HostIdentity {
        let address = self.socket.local_addr().unwrap();
        HostIdentity::starting(name, address, generation)
    }

    /// An Announce to `host` from `src`, unsealed.
    fn announce(&self, src: HostIdentity, host: &Host) -> Vec<u8> {
        let header = Header {
            src,
            src_incarnation: 0,
            dst: HostIdentity::reachable_at("", host.address),
            message: Message::Announce,
        };
        let mut payload = Vec::new();
        codec().encode_header(&header, &mut payload).unwrap();
        payload
    }

    /// `payload` sealed with `secret` now.
    fn sealed(secret: &ClusterSecret, payload: &[u8]) -> Vec<u8> {
        Seal::new(secret).seal(now(), payload)
    }

    async fn send(&self, host: &Host, datagram: &[u8]) {
        self.socket.send_to(datagram, host.address).await.unwrap();
    }

    /// Waits for the next Feed (SWIM's answer to an Announce) sent to this socket and says
    /// whom it was for; other datagrams (probes of a stranger that joined) are passed over.
    async fn next_feed(&self) -> String {
        let mut opener = Seal::new(&self.secret);
        let began = Instant::now();
        let mut buffer = vec![0u8; 2048];
        loop {
            let left = PATIENCE.saturating_sub(began.elapsed());
            let (length, _) = tokio::time::timeout(left, self.socket.recv_from(&mut buffer))
                .await
                .expect("a Feed came")
                .unwrap();
            let payload = opener.open(now(), &buffer[..length]).expect("sealed");
            let header = codec().decode_header(&mut &payload[..]).unwrap();
            if header.message == Message::Feed {
                return header.dst.name;
            }
        }
    }

    /// The first Feed that comes answers a fresh sealed Announce from `name`: nothing sent
    /// before it was answered.
    async fn expect_first_answer_for(&self, host: &Host, name: &str) {
        let announce = self.announce(self.identity(name, now()), host);
        self.send(host, &Stranger::sealed(&self.secret, &announce))
            .await;
        assert_eq!(
            self.next_feed().await,
            name,
            "something earlier was answered"
        );
    }
}

fn codec() -> WireCodec {
    wire_codec(Arc::new(SystemClock))
}

fn now() -> u64 {
    SystemClock.unix_millis()
}

fn names(views: &[MemberView]) -> Vec<&str> {
    views.iter().map(|view| view.name.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsider_is_not_answered_and_does_not_become_a_member() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let alpha = start(&store, "alpha", Vec::new()).await;
    let stranger = Stranger::new(&store).await;

    let plain = stranger.announce(stranger.identity("mallory", now()), &alpha);
    stranger.send(&alpha, &plain).await;
    let other_cluster = ClusterSecret::generate().unwrap();
    let eve = stranger.announce(stranger.identity("eve", now()), &alpha);
    stranger
        .send(&alpha, &Stranger::sealed(&other_cluster, &eve))
        .await;
    stranger.expect_first_answer_for(&alpha, "probe").await;

    let dropped = dropped(&alpha).await;
    assert_eq!(dropped.malformed + dropped.forged, 2, "{dropped:?}");
    let members = members(&alpha).await;
    assert!(
        !names(&members)
            .iter()
            .any(|name| ["mallory", "eve"].contains(name)),
        "{members:?}"
    );
    alpha.actor.stop(None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_datagram_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let alpha = start(&store, "alpha", Vec::new()).await;
    let stranger = Stranger::new(&store).await;

    let announce = stranger.announce(stranger.identity("first", now()), &alpha);
    let recorded = Stranger::sealed(&stranger.secret, &announce);
    stranger.send(&alpha, &recorded).await;
    assert_eq!(stranger.next_feed().await, "first");
    stranger.send(&alpha, &recorded).await;
    stranger.expect_first_answer_for(&alpha, "second").await;
    assert_eq!(dropped(&alpha).await.replayed, 1);
    alpha.actor.stop(None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_beyond_the_clock_cannot_outrank_a_host() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let alpha = start(&store, "alpha", Vec::new()).await;
    let stranger = Stranger::new(&store).await;

    let liar = stranger.announce(stranger.identity("beta", u64::MAX), &alpha);
    stranger
        .send(&alpha, &Stranger::sealed(&stranger.secret, &liar))
        .await;
    stranger.expect_first_answer_for(&alpha, "honest").await;
    assert_eq!(dropped(&alpha).await.invalid, 1);
    let members = members(&alpha).await;
    assert!(
        members.iter().all(|view| view.generation != u64::MAX),
        "{members:?}"
    );
    alpha.actor.stop(None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_of_two_clusters_never_see_each_other() {
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    let ours = Store::open(ours.path()).unwrap();
    let theirs = Store::open(theirs.path()).unwrap();
    assert_ne!(
        ours.cluster_secret().unwrap(),
        theirs.cluster_secret().unwrap()
    );
    let alpha = start(&ours, "alpha", Vec::new()).await;
    let beta = start(&theirs, "beta", vec![alpha.address]).await;

    // beta announces itself to alpha at once and again every few seconds: wait for alpha to
    // have dropped some, and for the answer-less announcements to reach beta's own count.
    let began = Instant::now();
    while dropped(&alpha).await.forged < 2 {
        assert!(began.elapsed() < PATIENCE, "alpha never heard from beta");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (host, other) in [(&alpha, "beta"), (&beta, "alpha")] {
        let members = members(host).await;
        assert!(!names(&members).contains(&other), "{members:?}");
        assert!(members.iter().all(|view| view.state == MemberState::Alive));
    }
    alpha.actor.stop(None);
    beta.actor.stop(None);
}
