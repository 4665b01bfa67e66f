//! The seam a simulator uses: a Host whose delegates are not the real ones. A stand-in process
//! delegate answers every operation at once and counts them; the Host, its Service and
//! NodeInstance actors and the LockManager deploy, stop, start and delete through it exactly as
//! they do with the real delegates.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SpawnErr};

use super::{Host, HostArgs, HostMsg};
use crate::actors::lock_manager::{LockManager, LockManagerRef};
use crate::control::RuntimePaths;
use crate::control::protocol::{InstanceAction, Reply, Request};
use crate::delegates::protocol::{
    DelegateKind, DelegateMsg, InstanceHealth, LogSource, Observation,
};
use crate::delegates::{DelegateFactory, Delegates};
use crate::state::records::InstanceState;
use crate::state::{Filesystem, HeldLock, RealFs, Store, SystemClock};

const WORKERS: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    worker:
      type: Process
      properties:
        command: /bin/does-not-matter
";

/// How many times each operation reached the stand-in.
#[derive(Debug, Default)]
struct Calls {
    created: AtomicUsize,
    started: AtomicUsize,
    stopped: AtomicUsize,
    deleted: AtomicUsize,
}

/// A process delegate that runs nothing: every operation succeeds at once.
struct StandIn;

impl Actor for StandIn {
    type Msg = DelegateMsg;
    type State = Arc<Calls>;
    type Arguments = Arc<Calls>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        calls: Arc<Calls>,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(calls)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        calls: &mut Arc<Calls>,
    ) -> Result<(), ActorProcessingErr> {
        let running = |attributes| Observation {
            health: InstanceHealth::Running,
            attributes,
        };
        match message {
            DelegateMsg::Create { reply, .. } => {
                calls.created.fetch_add(1, Ordering::SeqCst);
                let _ = reply.send(Ok(serde_json::Map::new()));
            }
            DelegateMsg::Start {
                attributes, reply, ..
            } => {
                calls.started.fetch_add(1, Ordering::SeqCst);
                let _ = reply.send(Ok(attributes));
            }
            DelegateMsg::Status {
                attributes, reply, ..
            }
            | DelegateMsg::Adopt {
                attributes, reply, ..
            } => {
                let _ = reply.send(Ok(running(attributes)));
            }
            DelegateMsg::Stop {
                attributes, reply, ..
            } => {
                calls.stopped.fetch_add(1, Ordering::SeqCst);
                let _ = reply.send(Ok(attributes));
            }
            DelegateMsg::Delete { reply, .. } => {
                calls.deleted.fetch_add(1, Ordering::SeqCst);
                let _ = reply.send(Ok(()));
            }
            DelegateMsg::Logs { reply, .. } => {
                let _ = reply.send(Ok(LogSource::None));
            }
            DelegateMsg::Exec { reply, .. } => {
                let _ = reply.send(Ok(crate::delegates::protocol::ExecSource::None));
            }
        }
        Ok(())
    }
}

/// Spawns the stand-in as the host's only delegate.
#[derive(Debug, Default)]
struct StandIns {
    calls: Arc<Calls>,
}

impl DelegateFactory for StandIns {
    fn spawn(
        &self,
        supervisor: ActorCell,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Delegates, SpawnErr>> + Send + '_>> {
        Box::pin(async move {
            let (process, _) =
                Actor::spawn_linked(None, StandIn, self.calls.clone(), supervisor).await?;
            let lifecycle = BTreeMap::from([(DelegateKind::Process, process.get_derived())]);
            Ok(Delegates::of(lifecycle))
        })
    }
}

async fn ask(host: &ActorRef<HostMsg>, request: Request) -> Reply {
    ractor::call_t!(host, |reply| HostMsg::of_request(request, reply), 30_000)
        .expect("the host answers within 30 s")
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 30 s in vain for {what}");
}

fn states(store: &Store) -> Option<Vec<InstanceState>> {
    let view = store.load_service("default", "work").ok()??;
    Some(view.instances.iter().map(|i| i.state).collect())
}

/// A Host on `store` (in `dir`) whose only delegate is the stand-in, and the stand-in's
/// counts.
async fn host_of_stand_ins(store: &Store, dir: &Path) -> (ActorRef<HostMsg>, Arc<Calls>) {
    let (lock_manager, _) = Actor::spawn(None, LockManager, store.clone())
        .await
        .unwrap();
    let factory = Arc::new(StandIns::default());
    let calls = factory.calls.clone();
    let args = HostArgs {
        offer: Default::default(),
        shutdown: Default::default(),
        name: "alpha".into(),
        address: None,
        membership: None,
        peers: None,
        store: store.clone(),
        lock_manager: LockManagerRef(lock_manager),
        runtime: RuntimePaths::new(dir.join("runtime")),
        deadlines: Default::default(),
        settle: crate::actors::service::reconcile::SETTLE_TIME,
        delegates: factory,
    };
    let (host, _) = Actor::spawn(None, Host, args).await.unwrap();
    (host, calls)
}

/// Deploys [`WORKERS`] as `default/work`.
async fn deploy_workers(host: &ActorRef<HostMsg>, dir: &Path) {
    let template = dir.join("workers.yaml");
    std::fs::write(&template, WORKERS).unwrap();
    let deploy = Request::Deploy {
        template: template.to_string_lossy().into_owned(),
        namespace: "default".into(),
        name: "work".into(),
        inputs: Default::default(),
        on_failure: Default::default(),
    };
    ask(host, deploy).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_runtime_drives_delegates_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("state")).unwrap();
    let (host, calls) = host_of_stand_ins(&store, dir.path()).await;
    deploy_workers(&host, dir.path()).await;
    let running = || states(&store) == Some(vec![InstanceState::Running]);
    eventually("the worker to run", running).await;

    let control = |action| Request::Control {
        namespace: "default".into(),
        name: "work".into(),
        action,
        instance: None,
        wait: true,
    };
    ask(&host, control(InstanceAction::Restart)).await.unwrap();
    assert_eq!(states(&store), Some(vec![InstanceState::Running]));
    ask(&host, control(InstanceAction::Stop)).await.unwrap();
    assert_eq!(states(&store), Some(vec![InstanceState::Stopped]));

    let delete = Request::Delete {
        namespace: "default".into(),
        name: "work".into(),
        force: false,
    };
    ask(&host, delete).await.unwrap();
    eventually("the service to be gone", || states(&store).is_none()).await;
    let count = |n: &AtomicUsize| n.load(Ordering::SeqCst);
    assert_eq!(
        [
            &calls.created,
            &calls.started,
            &calls.stopped,
            &calls.deleted
        ]
        .map(count),
        [1, 2, 2, 1],
        "create once, start at deploy and after the restart's stop, stop for the restart and \
         the stop, delete once"
    );
    host.stop(None);
}

/// The real filesystem, counting the writes of each path.
#[derive(Debug, Default)]
struct CountingFs {
    writes: Mutex<HashMap<PathBuf, usize>>,
}

impl CountingFs {
    fn writes_of(&self, path: &Path) -> usize {
        self.writes.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Filesystem for CountingFs {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        RealFs.read(path)
    }
    fn write_new(&self, dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
        RealFs.write_new(dir, bytes)
    }
    fn put_in_place(&self, written: &Path, path: &Path) -> io::Result<()> {
        let mut writes = self.writes.lock().unwrap();
        *writes.entry(path.to_owned()).or_default() += 1;
        RealFs.put_in_place(written, path)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        RealFs.remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        RealFs.remove_dir_all(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        RealFs.list(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        RealFs.create_dir_all(dir)
    }
    fn lock_exclusive(&self, path: &Path) -> io::Result<Box<dyn HeldLock>> {
        RealFs.lock_exclusive(path)
    }
    fn try_lock_exclusive(&self, path: &Path) -> io::Result<Option<Box<dyn HeldLock>>> {
        RealFs.try_lock_exclusive(path)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_step_writes_its_instance_once_and_shows_it_creating_before() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(CountingFs::default());
    let root = dir.path().join("state");
    let store = Store::with_seams(&root, fs.clone(), Arc::new(SystemClock)).unwrap();
    let (host, _) = host_of_stand_ins(&store, dir.path()).await;
    deploy_workers(&host, dir.path()).await;
    let running = || states(&store) == Some(vec![InstanceState::Running]);
    eventually("the worker to run", running).await;
    let record = store.layout().instance("default", "work", "worker-0");
    // One write when the deploy recorded the service (pending), one when the step ended.
    assert_eq!(fs.writes_of(&record), 2);
    // What was only shown is kept among the events, in order.
    let view = store.load_service("default", "work").unwrap().unwrap();
    let states: Vec<InstanceState> = view.instances[0].events.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [
            InstanceState::Pending,
            InstanceState::Creating,
            InstanceState::Running
        ]
    );
    host.stop(None);
}
