//! The Host actor: the node actor the CLI talks to, one per host. It owns the delegates and
//! the Service actors, and writes through the agent's LockManager; it answers the control
//! channel's requests; and at start it resumes every service recorded in the store (their
//! Service actors adopt what still runs).
//! When the agent listens for other hosts, it also runs the Membership actor.
//!
//! Supervision: a crashed Service actor is spawned again and resumes from the store; crashed
//! delegates are spawned again as a set; a crashed Membership actor is spawned again (as a new
//! identity that rejoins). The LockManager is not the Host's: the agent spawns it first (the
//! delegates' ledgers write through it too), keeps it across restarts of the Host, and stops
//! if it dies (everything reloads from the store when the agent starts again).

mod catch_up;
mod cluster;
#[cfg(test)]
mod delegate_supervision_tests;
mod deploy;
mod exec;
mod failover;
mod failure;
mod hosts;
mod leave;
mod log_output;
#[cfg(test)]
mod membership_tests;
mod messages;
mod registry;
mod selections;
mod service_queries;
#[cfg(test)]
mod simulated_delegates_tests;
mod update;

pub use messages::{Answer, HostMsg};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};

use crate::actors::scheduler::Candidate;
use crate::control::RuntimePaths;
use crate::control::protocol::{
    DelegateSummary, ExecAsk, InstanceAction, LogCommand, LogFile, Response,
};
use crate::delegates::DelegateFactory;
use crate::delegates::oci::kata;
use crate::delegates::protocol::{Deadlines, LogSource};
use crate::state::records::{HostOffer, HostRecord, ServicePhase};
use crate::state::{ServiceView, Store, check_name};

use super::lock_manager::LockManagerRef;
use super::membership::{Membership, MembershipArgs, MembershipMsg, MembershipNetwork};
use super::peer::{self, ControlAsk, Part, Peer, PeerArgs, PeerMsg, PeerNetwork};
use super::service::{Service, ServiceArgs, ServiceMsg, ServiceStart};
use super::{Context, RuntimeContext, RuntimeError, service_status};

use deploy::Deploy;
use failure::failure;

#[cfg(test)]
pub(crate) use deploy::prepare as deploy_records_for_tests;

/// How long the Membership actor may take to say goodbye when the agent stops.
const GOODBYE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// The name the Host actor registers under, so the control channel finds the current one.
pub const HOST_ACTOR_NAME: &str = "khutulun-host";

/// The Host actor.
pub struct Host;

/// What a Host needs to start (kept by the root supervisor to restart it).
#[derive(Clone, Debug)]
pub struct HostArgs {
    /// This host's name.
    pub name: String,
    /// The address it tells other hosts, if any.
    pub address: Option<String>,
    /// How it takes part in membership; `None` runs alone (no `--listen`).
    pub membership: Option<MembershipNetwork>,
    /// The node server linking it to the other hosts (kept by the agent across the Host's
    /// lives); `None` runs alone.
    pub peers: Option<PeerNetwork>,
    /// What it offers the scheduler (labels, capacity), for its host record.
    pub offer: HostOffer,
    /// Told when the agent should stop (this host left the cluster).
    pub shutdown: Arc<tokio::sync::Notify>,
    /// The shared store (for reads).
    pub store: Store,
    /// The only writer of the store, spawned before the Host and kept across its restarts.
    pub lock_manager: LockManagerRef,
    /// This host's private directory.
    pub runtime: RuntimePaths,
    /// How long delegate operations may take.
    pub deadlines: Deadlines,
    /// How long a workload started by a deploy or an update must keep running for them to
    /// count it as up.
    pub settle: std::time::Duration,
    /// Spawns this host's delegates (the agent's real ones, or a simulator's), first and again
    /// when one stopped.
    pub delegates: Arc<dyn DelegateFactory>,
}

/// The Membership actor the Host runs, and what it needs to run it again.
struct MembershipChild {
    args: MembershipArgs,
    actor: ActorRef<MembershipMsg>,
}

impl Drop for MembershipChild {
    /// A Host that fails loses its state without stopping its children; a Membership actor
    /// must not outlive it, or the Host's next life would run a second one on the same socket.
    fn drop(&mut self) {
        self.actor.stop(Some("its host stopped".into()));
    }
}

/// The Host's Peer actor, stopped with the Host's state for the same reason as membership's.
struct PeerChild(ActorRef<PeerMsg>);

impl Drop for PeerChild {
    fn drop(&mut self) {
        self.0.stop(Some("its host stopped".into()));
    }
}

/// The Host's state.
pub struct HostState {
    /// How its delegates are spawned (again, when one stopped).
    delegates_config: Arc<dyn DelegateFactory>,
    context: Context,
    membership: Option<MembershipChild>,
    /// The node server and this host's Peer actor, when linked to other hosts.
    peers: Option<(PeerNetwork, PeerChild)>,
    /// A read of the plans is under way (see [`HostMsg::CatchUp`]).
    reading: bool,
    /// A nudge came during that read: read again once it ends.
    nudged: bool,
    services: HashMap<(String, String), ActorRef<ServiceMsg>>,
    service_by_actor: HashMap<ActorId, (String, String)>,
    /// What this host last saw of each service it has a part in (`None` before the first
    /// read of the plans).
    seen_plans: Option<HashMap<(String, String), catch_up::Seen>>,
    /// Services whose actor was stopped to start again with a changed part.
    restarting: std::collections::HashSet<(String, String)>,
    /// Paces the warnings about instances a failover cannot place.
    failover_warnings: failover::Warnings,
    /// Told when the agent should stop.
    shutdown: Arc<tokio::sync::Notify>,
}

impl HostState {
    async fn spawn_service(
        &mut self,
        myself: &ActorRef<HostMsg>,
        namespace: &str,
        name: &str,
        start: ServiceStart,
    ) -> Result<ActorRef<ServiceMsg>, RuntimeError> {
        let args = ServiceArgs {
            context: self.context.clone(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            start,
        };
        let (actor, _) = Actor::spawn_linked(None, Service, args, myself.get_cell())
            .await
            .map_err(|e| RuntimeError::Invalid(format!("could not start service {name}: {e}")))?;
        let key = (namespace.to_owned(), name.to_owned());
        self.service_by_actor.insert(actor.get_id(), key.clone());
        self.services.insert(key, actor.clone());
        Ok(actor)
    }

    /// Beside the Host: renews this host's lease, moves the instances of failed hosts when
    /// this host leads, reads the plans, and brings the news back (see [`catch_up`]).
    fn read_plans(&mut self, myself: &ActorRef<HostMsg>) {
        if self.reading {
            self.nudged = true;
            return;
        }
        self.reading = true;
        let peers = self.peers.as_ref().map(|(network, _)| network.clone());
        let context = self.context.clone();
        let membership = self.membership.as_ref().map(|m| m.actor.clone());
        let seen = self.seen_plans.clone();
        let warnings = self.failover_warnings.clone();
        let myself = myself.clone();
        tokio::spawn(async move {
            let (store, host) = (context.store.clone(), context.host.clone());
            let now = store.clock().unix_millis();
            if let Err(error) = context.lock_manager.renew_lease(&host, now).await {
                tracing::warn!(%error, "could not renew this host's lease");
            }
            let views = cluster::member_views(membership.as_ref()).await;
            if let Some(peers) = peers {
                peers.keep_in_step(&host, &views).await;
            }
            failover::run(&context, views, &warnings).await;
            let runtime = context.runtime.clone();
            let read = store.clone().spawn_blocking(move || {
                catch_up::read_news(&store, &host, &runtime, seen.as_ref())
            });
            let news = match read.await {
                Ok(Ok(news)) => news,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "could not read the services' plans; trying again");
                    let _ = myself.cast(HostMsg::CaughtUp(None));
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "reading the plans crashed; trying again");
                    let _ = myself.cast(HostMsg::CaughtUp(None));
                    return;
                }
            };
            let _ = myself.cast(HostMsg::CaughtUp(Some(news)));
        });
    }

    /// The hosts with a part of a service (of one instance of it, if given): whether this
    /// one has, with its Service actor, and the others.
    fn owners(
        &self,
        namespace: &str,
        name: &str,
        instance: Option<&str>,
    ) -> Result<(Option<ActorRef<ServiceMsg>>, Vec<String>), RuntimeError> {
        let plan = self.context.store.plan(namespace, name)?;
        let me = self.context.host.as_str();
        let hosts: Vec<&str> = match instance {
            Some(id) => plan
                .placements
                .get(id)
                .map(String::as_str)
                .into_iter()
                .collect(),
            None => plan.placements.values().map(String::as_str).collect(),
        };
        // No host: the service has no such instance, which its actor here says best.
        let local = match hosts.contains(&me) || hosts.is_empty() {
            true => self.service_actor(namespace, name).ok(),
            false => None,
        };
        let mut others: Vec<String> = hosts
            .into_iter()
            .filter(|host| *host != me)
            .map(str::to_owned)
            .collect();
        others.sort();
        others.dedup();
        if local.is_none() && others.is_empty() {
            self.service_actor(namespace, name)?;
        }
        Ok((local, others))
    }

    /// Where a service's instances write: this host's asked of its actor, the others' output
    /// asked of their hosts, all beside the Host (each may take a while).
    fn logs(&self, namespace: &str, name: String, instance: Option<String>, reply: Answer) {
        let (local, others) = match self.owners(namespace, &name, instance.as_deref()) {
            Ok(owners) => owners,
            Err(error) => return answer_with(reply, Err(error)),
        };
        let asked = Part::Logs {
            namespace: namespace.to_owned(),
            name: name.clone(),
            instance: instance.clone(),
        };
        tokio::spawn(async move {
            let mut answer = match local {
                Some(actor) => gather_logs(actor, &name, instance).await,
                None => Ok(Response::Logs {
                    logs: Vec::new(),
                    commands: Vec::new(),
                    output: Vec::new(),
                    missing: Vec::new(),
                }),
            };
            for (host, part) in ask_all(&others, &asked).await {
                answer = log_output::merge(answer, &host, part);
            }
            answer_with(reply, answer);
        });
    }

    /// Stops, starts or restarts a service's instances here and on their other hosts.
    fn control(&self, ask: ControlAsk, reply: Answer) {
        let (local, others) = match self.owners(&ask.namespace, &ask.name, ask.instance.as_deref())
        {
            Ok(owners) => owners,
            Err(error) => return answer_with(reply, Err(error)),
        };
        let (action, instance, wait) = (ask.action, ask.instance.clone(), ask.wait);
        let asked = Part::Control(ask);
        tokio::spawn(async move {
            let mut instances = Vec::new();
            if let Some(actor) = local {
                match control(actor, action, instance, wait).await {
                    Ok(Response::Controlled { instances: here }) => instances.extend(here),
                    answer => return answer_with(reply, answer),
                }
            }
            for (_, part) in ask_all(&others, &asked).await {
                match part {
                    Ok(Response::Controlled { instances: there }) => instances.extend(there),
                    Ok(_) => {}
                    error => return answer_with(reply, error),
                }
            }
            answer_with(reply, Ok(Response::Controlled { instances }));
        });
    }

    /// Another host's request for this host's part: answered from this host's actor only.
    fn part(&self, asked: Part, reply: Answer) {
        let (namespace, name) = match &asked {
            Part::Logs {
                namespace, name, ..
            }
            | Part::Control(ControlAsk {
                namespace, name, ..
            })
            | Part::Exec(ExecAsk {
                namespace, name, ..
            }) => (namespace.clone(), name.clone()),
        };
        let actor = match self.services.get(&(namespace, name.clone())) {
            Some(actor) => actor.clone(),
            None => {
                let error = RuntimeError::NotFound(format!(
                    "service {name} has no instance on host {}",
                    self.context.host
                ));
                return answer_with(reply, Err(error));
            }
        };
        let host = self.context.host.clone();
        tokio::spawn(async move {
            let answer = match asked {
                Part::Logs { instance, .. } => match gather_logs(actor, &name, instance).await {
                    Ok(found) => Ok(log_output::capture(found).await),
                    Err(error) => Err(error),
                },
                Part::Control(ask) => control(actor, ask.action, ask.instance, ask.wait).await,
                Part::Exec(ask) => exec::run_in(&actor, host, ask).await,
            };
            answer_with(reply, answer);
        });
    }

    /// The store, and a way to ask which hosts are live, for work done beside the Host.
    fn beside(
        &self,
    ) -> (
        Store,
        impl Future<Output = Result<Vec<Candidate>, RuntimeError>> + Send + use<>,
    ) {
        let store = self.context.store.clone();
        let host = self.context.host.clone();
        let membership = self.membership.as_ref().map(|m| m.actor.clone());
        let live = {
            let store = store.clone();
            async move { cluster::live_hosts(&store, &host, membership.as_ref()).await }
        };
        (store, live)
    }

    /// Compiles the template beside the Host and compares it with what the service runs.
    fn plan(&self, deploy: Deploy, reply: Answer) {
        let (store, live) = self.beside();
        tokio::spawn(async move {
            let answer = async {
                let cluster = live.await?;
                let Deploy {
                    template,
                    namespace,
                    name,
                    inputs,
                    ..
                } = deploy;
                let planned = store.clone().spawn_blocking(move || {
                    deploy::plan(&store, &cluster, &template, &namespace, &name, inputs)
                });
                let diff = planned.await.map_err(|e| {
                    RuntimeError::Invalid(format!("compiling the template crashed: {e}"))
                })??;
                Ok(Response::Planned { diff })
            };
            answer_with(reply, answer.await);
        });
    }

    /// Compiles the template beside the Host (it may take seconds) and hands the reply on: the
    /// Host records the service when the compiled records come back.
    fn deploy(&self, myself: &ActorRef<HostMsg>, deploy: Deploy, reply: Answer) {
        let (store, live) = self.beside();
        let myself = myself.clone();
        tokio::spawn(async move {
            let cluster = match live.await {
                Ok(cluster) => cluster,
                Err(error) => {
                    answer_with(reply, Err(error));
                    return;
                }
            };
            let Deploy {
                template,
                namespace,
                name,
                inputs,
                on_failure,
            } = deploy;
            let compiled = store
                .clone()
                .spawn_blocking(move || {
                    deploy::prepare(&store, &cluster, &template, &namespace, &name, inputs)
                })
                .await;
            let prepared = match compiled {
                Ok(prepared) => prepared.map(|(mut service, plan, instances)| {
                    service.on_failure = on_failure;
                    (service, plan, instances)
                }),
                Err(e) => Err(RuntimeError::Invalid(format!(
                    "compiling the template crashed: {e}"
                ))),
            };
            let prepared = Box::new(prepared);
            if let Err(error) = myself.cast(HostMsg::Compiled { prepared, reply }) {
                tracing::warn!(%error, "the host stopped before a deploy was recorded");
            }
        });
    }

    /// Records a compiled service and starts its Service actor; answers with its status as
    /// recorded.
    async fn record_deploy(
        &mut self,
        myself: &ActorRef<HostMsg>,
        prepared: deploy::Prepared,
    ) -> Result<Response, RuntimeError> {
        let (service, plan, instances) = prepared;
        // Compiled beside the Host: a service it selects may have been deleted meanwhile.
        selections::check_still_deployed(&self.context.store, &service)?;
        let (namespace, name) = (service.namespace.clone(), service.name.clone());
        let view = ServiceView {
            service: Arc::new(service.clone()),
            plan: Arc::new(plan.clone()),
            instances: instances.iter().cloned().map(Arc::new).collect(),
        };
        let seen = catch_up::Seen::of(&plan, &self.context.host);
        let others: Vec<String> = plan
            .other_hosts(&self.context.host)
            .into_iter()
            .map(str::to_owned)
            .collect();
        self.context
            .lock_manager
            .create_service(service, plan, instances)
            .await?;
        // The other hosts of the service start their part when they read its plan: now.
        peer::nudge(others.iter().map(String::as_str));
        if !seen.mine.is_empty() {
            self.spawn_service(myself, &namespace, &name, ServiceStart::Deploy)
                .await?;
            if let Some(seen_plans) = &mut self.seen_plans {
                seen_plans.insert((namespace, name), seen);
            }
        }
        Ok(Response::Deployed {
            status: service_status(&view),
        })
    }

    async fn delete(
        &mut self,
        myself: &ActorRef<HostMsg>,
        namespace: String,
        name: String,
        force: bool,
    ) -> Result<Response, RuntimeError> {
        check_name("namespace", &namespace)?;
        check_name("service", &name)?;
        if self
            .context
            .store
            .service_record(&namespace, &name)?
            .is_none()
        {
            return Err(RuntimeError::NotFound(format!(
                "there is no service {name}"
            )));
        }
        // Deploys are handled one at a time by this actor too, so no new selection of this
        // service can slip in between the check and the phase change.
        let orphaned = selections::selecting(&self.context.store, &namespace, &name)?;
        if !orphaned.is_empty() && !force {
            return Err(selections::refusal(&name, &orphaned));
        }
        self.context
            .lock_manager
            .set_service_phase(&namespace, &name, ServicePhase::Deleting)
            .await?;
        let plan = self.context.store.plan(&namespace, &name)?;
        peer::nudge(plan.other_hosts(&self.context.host));
        match self.services.get(&(namespace.clone(), name.clone())) {
            Some(actor) => actor
                .cast(ServiceMsg::Delete)
                .map_err(|_| RuntimeError::Unreachable("service actor"))?,
            // Its Service actor sees the phase and deletes.
            None if catch_up::places_on(&plan, &self.context.host) => {
                self.spawn_service(myself, &namespace, &name, ServiceStart::Resume)
                    .await?;
            }
            // Nothing of it anywhere: only its records are left.
            None if plan.placements.is_empty() => {
                let host = &self.context.host;
                let lock_manager = &self.context.lock_manager;
                lock_manager
                    .remove_service_part(&namespace, &name, host)
                    .await?;
            }
            // Its hosts see the phase in the store and delete their part.
            None => {}
        }
        Ok(Response::Deleting { orphaned })
    }

    /// The actor of a service of this host.
    fn service_actor(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<ActorRef<ServiceMsg>, RuntimeError> {
        self.services
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| {
                let plan = self.context.store.plan(namespace, name).unwrap_or_default();
                let hosts = plan.other_hosts(&self.context.host);
                if hosts.is_empty() {
                    return RuntimeError::NotFound(format!("there is no service {name} on this host"));
                }
                RuntimeError::NotFound(format!(
                    "service {name} has no instance on this host ({}); it runs on {}: ask the agent there",
                    self.context.host,
                    hosts.join(", ")
                ))
            })
    }

    async fn register(
        &self,
        kind: crate::state::RegistryKind,
        path: &std::path::Path,
        namespace: String,
        name: String,
    ) -> Result<Response, RuntimeError> {
        check_name("namespace", &namespace)?;
        check_name(kind.singular(), &name)?;
        let (path, now) = (path.to_owned(), self.context.store.now());
        let (entry, files) = self
            .context
            .store
            .spawn_blocking(move || registry::prepare(kind, &path, &namespace, &name, now))
            .await
            .map_err(|e| RuntimeError::Invalid(format!("checking the file crashed: {e}")))??;
        self.context
            .lock_manager
            .register(entry.clone(), files)
            .await?;
        Ok(Response::Registered { entry })
    }
}

async fn spawn_peer(
    myself: &ActorRef<HostMsg>,
    host: &str,
) -> Result<PeerChild, ActorProcessingErr> {
    let args = PeerArgs {
        host: host.to_owned(),
        host_actor: myself.clone(),
    };
    let (peer, _) = Actor::spawn_linked(None, Peer, args, myself.get_cell()).await?;
    Ok(PeerChild(peer))
}

async fn spawn_membership(
    myself: &ActorRef<HostMsg>,
    args: &MembershipArgs,
) -> Result<ActorRef<MembershipMsg>, ActorProcessingErr> {
    let (actor, _) = Actor::spawn_linked(None, Membership, args.clone(), myself.get_cell()).await?;
    Ok(actor)
}

impl Actor for Host {
    type Msg = HostMsg;
    type State = HostState;
    type Arguments = HostArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: HostArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        // Membership first: other hosts hear of this one while its delegates start.
        let membership = match &args.membership {
            Some(network) => {
                let membership_args = MembershipArgs {
                    name: args.name.clone(),
                    transport: network.transport.clone(),
                    store: args.store.clone(),
                    seeds: network.seeds.clone(),
                    random_seed: None,
                    generation: None,
                    discovery: network.discovery.clone(),
                };
                let actor = spawn_membership(&myself, &membership_args).await?;
                Some(MembershipChild {
                    args: membership_args,
                    actor,
                })
            }
            None => None,
        };
        let delegates = args.delegates.spawn(myself.get_cell()).await?;
        let lock_manager = args.lock_manager.clone();
        let mut record = HostRecord::new(&args.name, &args.store.now());
        record.address = args.address.clone();
        record.pid = Some(std::process::id());
        record.delegates = delegates.kinds().map(|k| k.name().to_owned()).collect();
        record.offer = args.offer.clone();
        // A drained host stays drained when its agent starts again.
        let before = args
            .store
            .read::<HostRecord>(&args.store.layout().host(&args.name));
        record.drained = before.ok().flatten().is_some_and(|before| before.drained);
        lock_manager.put_host(record).await?;
        lock_manager
            .renew_lease(&args.name, args.store.clock().unix_millis())
            .await?;
        let context = Arc::new(
            RuntimeContext::new(
                args.name.clone(),
                args.store.clone(),
                args.runtime.clone(),
                lock_manager,
                delegates,
            )
            .with_deadlines(args.deadlines)
            .with_settle(args.settle),
        );
        let peers = match &args.peers {
            Some(network) => Some((network.clone(), spawn_peer(&myself, &args.name).await?)),
            None => None,
        };
        let mut state = HostState {
            delegates_config: args.delegates.clone(),
            context,
            membership,
            peers,
            reading: false,
            nudged: false,
            services: HashMap::new(),
            service_by_actor: HashMap::new(),
            seen_plans: None,
            restarting: Default::default(),
            failover_warnings: failover::warnings(),
            shutdown: args.shutdown.clone(),
        };
        // The services with instances here resume at once; the others are not this host's.
        let news = catch_up::read_news(&args.store, &args.name, &args.runtime, None)?;
        state.catch_up(&myself, news).await;
        myself.send_after(catch_up::CATCH_UP_PERIOD, || HostMsg::CatchUp);
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut HostState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            HostMsg::Ping { reply } => answer_with(
                reply,
                Ok(Response::Pong {
                    host: state.context.host.clone(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                }),
            ),
            HostMsg::CatchUp => {
                state.read_plans(&myself);
                myself.send_after(catch_up::CATCH_UP_PERIOD, || HostMsg::CatchUp);
            }
            HostMsg::Nudged => state.read_plans(&myself),
            HostMsg::CaughtUp(news) => {
                state.reading = false;
                if let Some(news) = news {
                    state.catch_up(&myself, news).await;
                }
                if std::mem::take(&mut state.nudged) {
                    state.read_plans(&myself);
                }
            }
            HostMsg::Deploy { deploy, reply } => state.deploy(&myself, deploy, reply),
            HostMsg::Plan { deploy, reply } => state.plan(deploy, reply),
            HostMsg::Update {
                deploy,
                max_parallel,
                reply,
            } => state.update(&myself, deploy, max_parallel, reply),
            HostMsg::UpdateCompiled { prepared, reply } => {
                let answer = match *prepared {
                    Ok(prepared) => state.record_update(&myself, prepared).await,
                    Err(error) => Err(error),
                };
                answer_with(reply, answer);
            }
            HostMsg::Compiled { prepared, reply } => {
                let answer = match *prepared {
                    Ok(prepared) => state.record_deploy(&myself, prepared).await,
                    Err(error) => Err(error),
                };
                answer_with(reply, answer);
            }
            HostMsg::Delete {
                namespace,
                name,
                force,
                reply,
            } => answer_with(reply, state.delete(&myself, namespace, name, force).await),
            HostMsg::ListServices { namespace, reply } => {
                answer_with(reply, state.list_services(namespace.as_deref()).await)
            }
            HostMsg::Status {
                namespace,
                name,
                reply,
            } => {
                let query = state.query(namespace, name);
                tokio::spawn(async move { answer_with(reply, query.status().await) });
            }
            HostMsg::Events {
                namespace,
                name,
                reply,
            } => {
                let query = state.query(namespace, name);
                tokio::spawn(async move { answer_with(reply, query.events().await) });
            }
            HostMsg::Watch {
                namespace,
                name,
                after,
                reply,
            } => {
                let actor = state.service_actor(&namespace, &name).ok();
                let store = state.context.store.clone();
                let host = state.context.host.clone();
                tokio::spawn(async move {
                    let answer = watch(actor, store, &host, &namespace, &name, after).await;
                    answer_with(reply, answer);
                });
            }
            HostMsg::Logs {
                namespace,
                name,
                instance,
                reply,
            } => state.logs(&namespace, name, instance, reply),
            HostMsg::Control {
                namespace,
                name,
                action,
                instance,
                wait,
                reply,
            } => {
                let ask = ControlAsk {
                    namespace,
                    name,
                    action,
                    instance,
                    wait,
                };
                state.control(ask, reply);
            }
            HostMsg::Part { part, reply } => state.part(part, reply),
            HostMsg::Exec {
                namespace,
                name,
                instance,
                reply,
            } => state.exec(&namespace, &name, instance, reply),
            HostMsg::ExecThere { ask, reply } => state.exec_there(ask, reply),
            HostMsg::Register {
                kind,
                path,
                namespace,
                name,
                reply,
            } => answer_with(reply, state.register(kind, &path, namespace, name).await),
            HostMsg::ListRegistry { kind, reply } => {
                let entries = state.context.store.list_registry(kind);
                let answer = entries.map(|entries| Response::Registry { entries });
                answer_with(reply, answer.map_err(RuntimeError::from));
            }
            HostMsg::Delist {
                kind,
                namespace,
                name,
                reply,
            } => {
                let delisted = state.context.lock_manager.delist(kind, &namespace, &name);
                answer_with(reply, delisted.await.map(|()| Response::Delisted));
            }
            HostMsg::ListHosts { reply } => answer_with(reply, state.list_hosts().await),
            HostMsg::Leave { reply } => {
                let context = state.context.clone();
                let shutdown = state.shutdown.clone();
                tokio::spawn(async move {
                    answer_with(reply, leave::leave(context, shutdown).await);
                });
            }
            HostMsg::DrainHost {
                name,
                drained,
                reply,
            } => {
                let lock_manager = state.context.lock_manager.clone();
                tokio::spawn(async move {
                    let done = lock_manager.set_drained(&name, drained).await;
                    answer_with(reply, done.map(|()| Response::Drained));
                });
            }
            HostMsg::ListDelegates { reply } => {
                // Each delegate takes up to its deadline to answer: not in this handler.
                let delegates = state.context.delegates();
                tokio::spawn(
                    async move { answer_with(reply, Ok(list_delegates(&delegates).await)) },
                );
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut HostState,
    ) -> Result<(), ActorProcessingErr> {
        // Only membership stops with the Host (it says goodbye to the cluster); services and
        // delegates are left alone: workloads outlive the agent.
        if let Some(membership) = &state.membership {
            let _ = membership
                .actor
                .stop_and_wait(Some("the agent stops".into()), Some(GOODBYE_PATIENCE))
                .await;
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut HostState,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, crashed) = match &event {
            SupervisionEvent::ActorFailed(cell, error) => (cell, Some(error.to_string())),
            SupervisionEvent::ActorTerminated(cell, _, _) => (cell, None),
            _ => return Ok(()),
        };
        let id = cell.get_id();
        if let Some(membership) = &mut state.membership
            && membership.actor.get_id() == id
        {
            if let Some(error) = crashed {
                tracing::warn!(%error, "the membership actor crashed; restarting it");
                membership.actor = spawn_membership(&myself, &membership.args).await?;
            }
            return Ok(());
        }
        if let Some((network, peer)) = &mut state.peers
            && peer.0.get_id() == id
        {
            if let Some(error) = crashed {
                tracing::warn!(%error, "the peer actor crashed; restarting it");
                let network = network.clone();
                state.peers = Some((network, spawn_peer(&myself, &state.context.host).await?));
            }
            return Ok(());
        }
        if let Some((namespace, name)) = state.service_by_actor.remove(&id) {
            let key = (namespace.clone(), name.clone());
            state.services.remove(&key);
            if state.restarting.remove(&key) {
                state
                    .spawn_service(&myself, &namespace, &name, ServiceStart::Resume)
                    .await?;
                return Ok(());
            }
            if let Some(error) = crashed {
                tracing::warn!(service = %name, %error, "service actor crashed; restarting it");
                if state
                    .context
                    .store
                    .load_service(&namespace, &name)?
                    .is_some()
                {
                    state
                        .spawn_service(&myself, &namespace, &name, ServiceStart::Resume)
                        .await?;
                }
            }
            return Ok(());
        }
        // A delegate of the current set: respawn it, and those built on it (they rebuild from
        // attributes). Those stopped here end up here too, and are no longer in the set.
        let old = state.context.delegates();
        if !old.has_actor(id) {
            return Ok(());
        }
        let factory = state.delegates_config.clone();
        let (delegates, kinds) = factory.respawn(&old, id, myself.get_cell()).await?;
        tracing::warn!(?crashed, ?kinds, "a delegate stopped; restarted it");
        state.context.replace_delegates(delegates);
        // What the old ones supervised is adopted again, service by service: a process the
        // agent supervises keeps its restart policy.
        for (key, service) in &state.services {
            if let Err(error) = service.cast(ServiceMsg::Resume(kinds.clone())) {
                tracing::warn!(service = %key.1, %error, "could not ask it to adopt again");
            }
        }
        Ok(())
    }
}

/// Sends a request's answer; a caller that stopped waiting is no error of the Host.
/// Which delegates can work here, each asked within its own deadline, and Kata beside them.
async fn list_delegates(delegates: &crate::delegates::Delegates) -> Response {
    let availability = delegates.availability().await;
    let kinds = availability
        .into_iter()
        .map(|(kind, available)| (kind.name(), available));
    // Kata is a runtime the podman and docker delegates pass on, listed beside them.
    let kata = std::iter::once((kata::KATA, kata::available()));
    Response::Delegates {
        delegates: kinds
            .chain(kata)
            .map(|(name, available)| DelegateSummary {
                name: name.to_owned(),
                running: available.is_ok(),
                reason: available.err(),
            })
            .collect(),
    }
}

fn answer_with(reply: Answer, answer: Result<Response, RuntimeError>) {
    let _ = reply.send(answer.map_err(failure));
}

/// How long a stop, start or restart may take before its answer says it goes on (each step
/// has its delegate's deadline; this only bounds the wait for all of them).
const CONTROL_DEADLINE: Duration = Duration::from_secs(100);

/// Asks a Service actor to stop, start or restart instances; answers when they are, with
/// `wait`.
async fn control(
    actor: ActorRef<ServiceMsg>,
    action: InstanceAction,
    instance: Option<String>,
    wait: bool,
) -> Result<Response, RuntimeError> {
    let message = |reply| ServiceMsg::Control {
        action,
        instance,
        wait,
        reply,
    };
    match actor.call(message, Some(CONTROL_DEADLINE)).await {
        Ok(ractor::rpc::CallResult::Success(answer)) => {
            Ok(Response::Controlled { instances: answer? })
        }
        Ok(ractor::rpc::CallResult::Timeout) => Err(RuntimeError::Invalid(format!(
            "not done within {} s; it goes on in the agent (see `khutulun service status`)",
            CONTROL_DEADLINE.as_secs()
        ))),
        _ => Err(RuntimeError::Unreachable("service actor")),
    }
}

/// How often a watch of a service without an actor here (on another host, or between lives)
/// reads the store.
const WATCH_STORE_PERIOD: Duration = Duration::from_millis(250);

/// The service's status once it changed since version `after`: pushed by its Service actor,
/// or read from the store when it has none here.
async fn watch(
    actor: Option<ActorRef<ServiceMsg>>,
    store: Store,
    host: &str,
    namespace: &str,
    name: &str,
    after: u64,
) -> Result<Response, RuntimeError> {
    // The actor here sees only this host's instances: a service spread over several hosts is
    // watched in the store, where every host records its part.
    let spread = || {
        let plan = store.plan(namespace, name).unwrap_or_default();
        !plan.other_hosts(host).is_empty()
    };
    if let Some(actor) = actor.filter(|_| !spread()) {
        let patience = super::service::WATCH_PATIENCE + LOGS_DEADLINE;
        match actor
            .call(|reply| ServiceMsg::Watch { after, reply }, Some(patience))
            .await
        {
            Ok(ractor::rpc::CallResult::Success(Ok((status, version)))) => {
                return Ok(Response::Watched { status, version });
            }
            // The actor stopped while it was asked (deleted, or restarting with a changed
            // part: a failed deploy's rollback changes the plan): the store says which.
            Ok(ractor::rpc::CallResult::Success(Err(RuntimeError::NotFound(_)))) => {}
            Ok(ractor::rpc::CallResult::Success(Err(error))) => return Err(error),
            _ => {}
        }
        tracing::debug!(service = %name, "watching it in the store");
    }
    if after > 0 {
        tokio::time::sleep(WATCH_STORE_PERIOD).await;
    }
    let view = store
        .clone()
        .spawn_blocking({
            let (namespace, name) = (namespace.to_owned(), name.to_owned());
            move || store.load_service(&namespace, &name)
        })
        .await
        .map_err(|e| RuntimeError::Invalid(format!("reading the service crashed: {e}")))??
        .ok_or_else(|| RuntimeError::NotFound(format!("there is no service {name}")))?;
    Ok(Response::Watched {
        status: service_status(&view),
        version: after + 1,
    })
}

/// How long `service logs` waits for a service's actor to say where its instances write.
const LOGS_DEADLINE: Duration = Duration::from_secs(15);

/// Where the instances of the service of `actor` write their output.
async fn gather_logs(
    actor: ActorRef<ServiceMsg>,
    name: &str,
    instance: Option<String>,
) -> Result<Response, RuntimeError> {
    let sources = match actor
        .call(
            |reply| ServiceMsg::Logs { instance, reply },
            Some(LOGS_DEADLINE),
        )
        .await
    {
        Ok(ractor::rpc::CallResult::Success(result)) => result?,
        Ok(ractor::rpc::CallResult::Timeout) => {
            return Err(RuntimeError::Invalid(format!(
                "service {name} did not say where its instances write within {} s (it is busy \
                 with a long step); try again",
                LOGS_DEADLINE.as_secs()
            )));
        }
        _ => return Err(RuntimeError::Unreachable("service actor")),
    };
    let (mut logs, mut commands) = (Vec::new(), Vec::new());
    for (instance, source) in sources {
        match source {
            LogSource::File(path) => logs.push(LogFile { instance, path }),
            LogSource::Command {
                program,
                arguments,
                follow_arguments,
                options_at,
            } => commands.push(LogCommand {
                instance,
                program,
                arguments,
                follow_arguments,
                options_at,
            }),
            LogSource::None => {}
        }
    }
    Ok(Response::Logs {
        logs,
        commands,
        output: Vec::new(),
        missing: Vec::new(),
    })
}

/// Asks each of `hosts` for its part, all at once; the answers in `hosts`' order.
async fn ask_all(hosts: &[String], asked: &Part) -> Vec<(String, Result<Response, RuntimeError>)> {
    let asks = hosts.iter().map(|host| async move {
        let answer = peer::ask(host, asked).await;
        (host.clone(), answer)
    });
    futures_util::future::join_all(asks).await
}
