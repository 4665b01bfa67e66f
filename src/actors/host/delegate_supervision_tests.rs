//! The Host spawns its delegates again when one stops, and has what the old ones supervised
//! adopted again: a process the agent supervises keeps its restart policy after its delegate
//! actor died. A real Host, store, delegates and processes.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorCell, ActorRef};

use super::{Host, HostArgs, HostMsg};
use crate::actors::StorePortLedger;
use crate::actors::lock_manager::{LockManager, LockManagerRef};
use crate::control::RuntimePaths;
use crate::control::protocol::{Reply, Request, Response};
use crate::delegates::DelegatesConfig;
use crate::delegates::ipport::IpPortMsg;
use crate::delegates::podman::PodmanMsg as EngineMsg;
use crate::delegates::process::{ProcessMsg, SupervisorChoice};
use crate::delegates::systemd::SystemdMsg;
use crate::state::Store;
use crate::state::records::InstanceState;

const SLEEPER: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    sleeper:
      type: Process
      properties:
        command: /bin/sleep
        arguments: [ '300' ]
        restart: on-failure
";

async fn ask(host: &ActorRef<HostMsg>, request: Request) -> Reply {
    ractor::call_t!(host, |reply| HostMsg::of_request(request, reply), 30_000)
        .expect("the host answers within 30 s")
}

/// Waits up to 30 s for `found` to give something.
async fn eventually<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    for _ in 0..600 {
        if let Some(value) = found() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 30 s in vain for {what}");
}

/// The pid of the running sleeper, as the store records it.
fn running_pid(store: &Store) -> Option<i64> {
    let view = store.load_service("default", "sleep").ok()??;
    let instance = view.instances.first()?;
    (instance.state == InstanceState::Running)
        .then(|| instance.attributes.get("pid")?.as_i64())
        .flatten()
}

/// Whether every instance of the service runs and has run for the settle time, as the
/// Service actor shows it to a watch (the store's status does not know the settle time).
async fn deploy_is_through(host: &ActorRef<HostMsg>) -> bool {
    let watch = Request::Watch {
        namespace: "default".into(),
        name: "sleep".into(),
        after: 0,
    };
    match ask(host, watch).await {
        // Not through while the status has no instance yet (all of none would be ready).
        Ok(Response::Watched { status, .. }) => {
            !status.instances.is_empty() && status.instances.iter().all(|i| i.is_ready())
        }
        _ => false,
    }
}

fn process_delegate(host: &ActorRef<HostMsg>) -> Option<ActorCell> {
    child::<ProcessMsg>(host)
}

/// The Host's child actor that takes messages `M`.
fn child<M: ractor::Message>(host: &ActorRef<HostMsg>) -> Option<ActorCell> {
    host.get_children()
        .into_iter()
        .find(|child| child.is_message_type_of::<M>() == Some(true))
}

/// The ids of the systemd and ipport delegates, which are not built on the process delegate.
fn unrelated_delegates(host: &ActorRef<HostMsg>) -> Vec<Option<ractor::ActorId>> {
    let id = |cell: Option<ActorCell>| cell.map(|cell| cell.get_id());
    vec![id(child::<SystemdMsg>(host)), id(child::<IpPortMsg>(host))]
}

/// The ids of the engine delegates (podman, docker, libvirt, nspawn), which share one message
/// type.
fn engine_delegates(host: &ActorRef<HostMsg>) -> std::collections::BTreeSet<ractor::ActorId> {
    host.get_children()
        .into_iter()
        .filter(|child| child.is_message_type_of::<EngineMsg>() == Some(true))
        .map(|child| child.get_id())
        .collect()
}

fn alive(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_process_delegate_is_replaced_and_its_processes_keep_their_restart_policy() {
    // What the agent did, shown when the test fails (it failed once, under CI's load only).
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("khutulun=debug")
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state")).unwrap();
    let template = dir.path().join("sleeper.yaml");
    std::fs::write(&template, SLEEPER).unwrap();
    let (lock_manager, _) = Actor::spawn(None, LockManager, store.clone())
        .await
        .unwrap();
    let lock_manager = LockManagerRef(lock_manager);
    let mut delegates = DelegatesConfig::new(
        "alpha",
        Arc::new(StorePortLedger::new(store.clone(), lock_manager.clone())),
    );
    delegates.process_supervisor = SupervisorChoice::Agent;
    let args = HostArgs {
        offer: Default::default(),
        shutdown: Default::default(),
        name: "alpha".into(),
        address: None,
        membership: None,
        peers: None,
        store: store.clone(),
        lock_manager,
        runtime: RuntimePaths::new(dir.path().join("runtime")),
        deadlines: Default::default(),
        settle: crate::actors::service::reconcile::SETTLE_TIME,
        delegates: Arc::new(delegates),
    };
    let (host, _) = Actor::spawn(None, Host, args).await.unwrap();
    ask(
        &host,
        Request::Deploy {
            template: template.to_string_lossy().into_owned(),
            namespace: "default".into(),
            name: "sleep".into(),
            inputs: Default::default(),
            on_failure: Default::default(),
        },
    )
    .await
    .unwrap();
    let first = eventually("the sleeper to run", || running_pid(&store)).await;
    // The deploy is through only once the sleeper ran for the settle time: killed before, it
    // would fail the deploy (by design), and nothing would start it again.
    for _ in 0..600 {
        if deploy_is_through(&host).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(deploy_is_through(&host).await, "the deploy is through");

    let killed = process_delegate(&host).expect("a process delegate");
    let unrelated = unrelated_delegates(&host);
    assert!(unrelated.iter().all(Option::is_some));
    let engines = engine_delegates(&host);
    assert_eq!(
        engines.len(),
        5,
        "podman, docker, libvirt, nspawn and distrobox"
    );
    killed.kill();
    eventually("a new process delegate", || {
        process_delegate(&host).filter(|cell| cell.get_id() != killed.get_id())
    })
    .await;
    // Only the dead delegate (and any built on it) is spawned again.
    assert_eq!(unrelated_delegates(&host), unrelated);
    // Of the engine delegates only nspawn and distrobox, which run their containers' commands
    // through the process delegate, are new (spawned one after the other after it: waited for).
    let now = eventually("nspawn and distrobox to be spawned again", || {
        let now = engine_delegates(&host);
        (now.len() == 5 && now.difference(&engines).count() >= 2).then_some(now)
    })
    .await;
    let kept = now.intersection(&engines).count();
    assert_eq!(kept, 3, "podman, docker and libvirt are the same actors");
    // Killed before the new delegate adopts it or after, it is started again (Adopt
    // restarts what died meanwhile, by its policy; the delegate's watcher what dies later).
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let second = eventually("the sleeper to be started again", || {
        running_pid(&store).filter(|pid| *pid != first && alive(*pid))
    })
    .await;

    ask(
        &host,
        Request::Delete {
            namespace: "default".into(),
            name: "sleep".into(),
            force: false,
        },
    )
    .await
    .unwrap();
    eventually("the service to be deleted", || {
        store
            .load_service("default", "sleep")
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(!alive(second), "deleted means no process");
    host.stop(None);
}
