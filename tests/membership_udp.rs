//! Membership actors on real UDP sockets on 127.0.0.1, finding each other through the host
//! records of one shared store: three converge to see each other alive; one that dies without
//! a word is declared down by the others; one that comes back under the same name is alive
//! again as a new identity (a higher generation); one that stops cleanly is seen down too.
//!
//! Waiting is by polling with a generous deadline: nothing here asserts how long SWIM takes
//! (benches/RESULTS.md has the measured figures).

use std::sync::Arc;
use std::time::{Duration, Instant};

use khutulun::actors::membership::{
    MemberState, MemberView, Membership, MembershipArgs, MembershipMsg, Transport, UdpTransport,
};
use khutulun::state::Store;
use khutulun::state::records::HostRecord;
use ractor::{Actor, ActorRef};

/// How long convergence may take before the test gives up (not a performance bound).
const PATIENCE: Duration = Duration::from_secs(30);

struct Host {
    name: String,
    transport: Arc<UdpTransport>,
    actor: ActorRef<MembershipMsg>,
}

async fn spawn(store: &Store, name: &str, transport: Arc<UdpTransport>) -> ActorRef<MembershipMsg> {
    let args = MembershipArgs {
        name: name.to_owned(),
        transport,
        store: store.clone(),
        seeds: Vec::new(),
        random_seed: Some(7),
        generation: None,
        discovery: None,
    };
    let (actor, _) = Actor::spawn(None, Membership, args)
        .await
        .expect("membership starts");
    actor
}

async fn start(store: &Store, name: &str) -> Host {
    let transport = Arc::new(
        UdpTransport::bind("127.0.0.1:0".parse().unwrap())
            .await
            .expect("a UDP port on loopback"),
    );
    let mut record = HostRecord::new(name, &store.now());
    record.address = Some(transport.local_address().to_string());
    store.put_host(&record).expect("the host record is written");
    let actor = spawn(store, name, transport.clone()).await;
    Host {
        name: name.to_owned(),
        transport,
        actor,
    }
}

async fn members(actor: &ActorRef<MembershipMsg>) -> Vec<MemberView> {
    match actor
        .call(MembershipMsg::Members, Some(Duration::from_secs(5)))
        .await
        .expect("the membership actor answers")
    {
        ractor::rpc::CallResult::Success(views) => views,
        other => panic!("no answer from the membership actor: {other:?}"),
    }
}

/// How `observer` sees `name` now (its latest life).
async fn seen(observer: &Host, name: &str) -> Option<MemberView> {
    MemberView::latest(&members(&observer.actor).await, name).cloned()
}

/// Polls until every observer sees `name` in `state`; returns what each saw.
async fn wait_until(observers: &[&Host], name: &str, state: MemberState) -> Vec<MemberView> {
    let began = Instant::now();
    loop {
        let mut views = Vec::new();
        for observer in observers {
            match seen(observer, name).await {
                Some(view) if view.state == state => views.push(view),
                other => {
                    assert!(
                        began.elapsed() < PATIENCE,
                        "{} never saw {name} {state:?}; it sees {other:?}",
                        observer.name
                    );
                    break;
                }
            }
        }
        if views.len() == observers.len() {
            return views;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_converge_lose_one_and_see_it_come_back_as_a_new_identity() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let alpha = start(&store, "alpha").await;
    let beta = start(&store, "beta").await;
    let mut gamma = start(&store, "gamma").await;

    for host in [&alpha, &beta, &gamma] {
        let others: Vec<&Host> = [&alpha, &beta, &gamma]
            .into_iter()
            .filter(|other| other.name != host.name)
            .collect();
        wait_until(&others, &host.name, MemberState::Alive).await;
    }
    let before = seen(&alpha, "gamma").await.unwrap();
    let came_up = before
        .since
        .clone()
        .expect("alpha noted when gamma came up");

    // gamma dies without a goodbye: its actor is killed, its socket stays but nobody answers.
    gamma.actor.kill();
    wait_until(&[&alpha, &beta], "gamma", MemberState::Down).await;
    let went_down = seen(&alpha, "gamma").await.unwrap().since;
    assert!(
        went_down.as_ref().is_some_and(|when| *when > came_up),
        "alpha noted gamma going down at {went_down:?}, not after it came up at {came_up}"
    );
    // Losing gamma does not cost beta (polled: a busy machine may make beta a suspect for a
    // moment, which it refutes).
    wait_until(&[&alpha], "beta", MemberState::Alive).await;

    // gamma comes back under the same name and address: a new life.
    gamma.actor = spawn(&store, "gamma", gamma.transport.clone()).await;
    let views = wait_until(&[&alpha, &beta], "gamma", MemberState::Alive).await;
    for view in views {
        assert!(
            view.generation > before.generation,
            "gamma came back as {view:?}, not newer than {before:?}"
        );
        assert_eq!(view.address, before.address);
    }
    wait_until(&[&gamma], "alpha", MemberState::Alive).await;
    wait_until(&[&gamma], "beta", MemberState::Alive).await;

    for host in [alpha, beta, gamma] {
        host.actor.stop(None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_stops_cleanly_is_seen_down() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let alpha = start(&store, "alpha").await;
    let beta = start(&store, "beta").await;
    wait_until(&[&alpha], "beta", MemberState::Alive).await;
    wait_until(&[&beta], "alpha", MemberState::Alive).await;

    beta.actor.stop(None);
    wait_until(&[&alpha], "beta", MemberState::Down).await;
    alpha.actor.stop(None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_port_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let alpha = start(&store, "alpha").await;
    let beta = start(&store, "beta").await;
    wait_until(&[&alpha], "beta", MemberState::Alive).await;

    let stranger = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = alpha.transport.local_address();
    for datagram in [&b""[..], b"\x00", b"not swim at all", &[0xff; 1500]] {
        stranger.send_to(datagram, &target).await.unwrap();
    }
    // Still answering, still seeing beta.
    wait_until(&[&alpha], "beta", MemberState::Alive).await;
    assert!(members(&alpha.actor).await.len() >= 2);
    alpha.actor.stop(None);
    beta.actor.stop(None);
}
