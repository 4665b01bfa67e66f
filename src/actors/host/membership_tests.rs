//! The Host restarts a Membership actor that crashed, and the new one rejoins the cluster as a
//! newer identity: a real Host (store, lock manager, delegates), real UDP on 127.0.0.1, and a
//! second member to watch it. The crash is injected by a transport that wraps the real socket
//! and panics once when told to.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ractor::{Actor, ActorRef};

use super::{Host, HostArgs, HostMsg};
use crate::actors::lock_manager::{LockManager, LockManagerRef};
use crate::actors::membership::{
    Delivery, MemberState, MemberView, Membership, MembershipArgs, MembershipMsg,
    MembershipNetwork, Transport, UdpTransport,
};
use crate::control::RuntimePaths;
use crate::control::protocol::Response;
use crate::state::Store;
use crate::state::records::HostRecord;

/// A real UDP transport that panics on its next send once armed.
#[derive(Debug)]
struct CrashOnce {
    inner: UdpTransport,
    armed: AtomicBool,
}

impl Transport for CrashOnce {
    fn local_address(&self) -> SocketAddr {
        self.inner.local_address()
    }

    fn send(&self, to: SocketAddr, datagram: &[u8]) {
        if self.armed.swap(false, Ordering::SeqCst) {
            panic!("injected crash while sending to {to}");
        }
        self.inner.send(to, datagram);
    }

    fn deliver_to(&self, actor: ActorRef<MembershipMsg>) -> Delivery {
        self.inner.deliver_to(actor)
    }
}

async fn bind() -> UdpTransport {
    UdpTransport::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn wait_for<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("waited 30 s in vain for {what}");
}

/// How `host list` on the Host shows `name`.
async fn listed(host: &ActorRef<HostMsg>, name: &str) -> Option<MemberState> {
    let reply = host
        .call(
            |reply| HostMsg::ListHosts { reply },
            Some(Duration::from_secs(5)),
        )
        .await
        .ok()?;
    let ractor::rpc::CallResult::Success(Ok(Response::Hosts { hosts })) = reply else {
        return None;
    };
    hosts
        .into_iter()
        .find(|h| h.record.name == name)
        .map(|h| h.membership)
}

/// How the member `observer` sees `name`.
async fn seen(observer: &ActorRef<MembershipMsg>, name: &str) -> Option<MemberView> {
    let reply = observer
        .call(MembershipMsg::Members, Some(Duration::from_secs(5)))
        .await
        .ok()?;
    let ractor::rpc::CallResult::Success(views) = reply else {
        return None;
    };
    MemberView::latest(&views, name).cloned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crashed_membership_actor_is_restarted_and_rejoins_as_a_newer_identity() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state")).unwrap();

    let beta_transport = Arc::new(bind().await);
    let mut beta_record = HostRecord::new("beta", &store.now());
    beta_record.address = Some(beta_transport.local_address().to_string());
    store.put_host(&beta_record).unwrap();
    let beta_args = MembershipArgs {
        name: "beta".into(),
        transport: beta_transport,
        store: store.clone(),
        seeds: Vec::new(),
        random_seed: Some(1),
        generation: None,
        discovery: None,
    };
    let (beta, _) = Actor::spawn(None, Membership, beta_args).await.unwrap();

    let alpha_transport = Arc::new(CrashOnce {
        inner: bind().await,
        armed: AtomicBool::new(false),
    });
    let (lock_manager, _) = Actor::spawn(None, LockManager, store.clone())
        .await
        .unwrap();
    let lock_manager = LockManagerRef(lock_manager);
    let args = HostArgs {
        offer: Default::default(),
        shutdown: Default::default(),
        name: "alpha".into(),
        address: Some(alpha_transport.local_address().to_string()),
        membership: Some(MembershipNetwork {
            transport: alpha_transport.clone(),
            seeds: Vec::new(),
            discovery: None,
        }),
        peers: None,
        store: store.clone(),
        lock_manager: lock_manager.clone(),
        runtime: RuntimePaths::new(dir.path().join("runtime")),
        deadlines: Default::default(),
        settle: crate::actors::service::reconcile::SETTLE_TIME,
        delegates: Arc::new(crate::delegates::DelegatesConfig::new(
            "alpha",
            Arc::new(crate::actors::StorePortLedger::new(
                store.clone(),
                lock_manager,
            )),
        )),
    };
    let (alpha, _) = Actor::spawn(None, Host, args).await.unwrap();

    wait_for("alpha to see beta", || async {
        listed(&alpha, "beta").await == Some(MemberState::Alive)
    })
    .await;
    wait_for("beta to see alpha", || async {
        seen(&beta, "alpha")
            .await
            .is_some_and(|v| v.state == MemberState::Alive)
    })
    .await;
    let first_life = seen(&beta, "alpha").await.unwrap().generation;

    // The next datagram alpha's membership sends makes it panic.
    alpha_transport.armed.store(true, Ordering::SeqCst);
    wait_for("beta to see alpha's next life", || async {
        seen(&beta, "alpha")
            .await
            .is_some_and(|v| v.state == MemberState::Alive && v.generation > first_life)
    })
    .await;
    assert!(
        !alpha_transport.armed.load(Ordering::SeqCst),
        "the crash was never injected"
    );
    wait_for("alpha to see beta again", || async {
        listed(&alpha, "beta").await == Some(MemberState::Alive)
    })
    .await;

    alpha.stop(None);
    beta.stop(None);
}
