//! The LockManager actor: the only writer of the shared store on this host.
//!
//! Every write of the agent goes through it, one at a time, each as one fenced transaction of
//! the store (exclusive `flock`, atomic renames, epoch check): the records of services,
//! instances, hosts and the registry, and the delegates' per-host tables (port reservations,
//! directory claims), whose changes are closures run inside the transaction
//! ([`LockManagerRef::update_table`]). The store calls block (a lock held by another host, a
//! slow NFS server), so they run on tokio's blocking pool while the actor waits: its mailbox
//! is the queue of writes. Reads do not go through it: a reader reads whole files, which only
//! ever appear by rename.
//!
//! The agent spawns it before anything that writes (the delegates' ledgers hold a handle to
//! it) and keeps it while the Host is restarted; if it ever stops, the agent stops too.

mod messages;

pub use messages::{HostTable, InstanceUpdate, LockManagerMsg, TableChange, WriteReply};

use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::state::records::{
    HostRecord, InstanceMove, InstanceRecord, PlanRecord, RegistryEntry, ServicePhase,
    ServiceRecord, UpdateRecord,
};
use crate::state::{InstanceChange, RegistryKind, Store, StoreError, check_name};
use crate::tosca::instance::Instantiation;

use super::RuntimeError;

/// How long a store write may take before the agent says it is waiting for the store.
const STALL_NOTICE: Duration = Duration::from_secs(5);

/// How long a caller waits for its write: a store that takes longer is unavailable, and the
/// caller's step fails (it is retried or reported) rather than hanging.
const WRITE_DEADLINE: Duration = Duration::from_secs(120);

/// The LockManager actor; its argument is the store it writes.
pub struct LockManager;

/// The LockManager's state: the store, and the instance updates waiting for their group commit.
pub struct LockManagerState {
    store: Store,
    pending: Vec<(InstanceChange, WriteReply<InstanceRecord>)>,
    flush_scheduled: bool,
}

impl LockManagerState {
    /// Commits every pending instance update in one transaction and answers each caller.
    async fn flush(&mut self) {
        self.flush_scheduled = false;
        if self.pending.is_empty() {
            return;
        }
        let (changes, replies): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.pending).into_iter().unzip();
        match blocking(&self.store, move |s| s.update_instances(changes)).await {
            Ok(outcomes) => {
                for (outcome, reply) in outcomes.into_iter().zip(replies) {
                    let _ = reply.send(outcome);
                }
            }
            Err(error) => {
                // Each caller gets the failure, keeping whether the disk was full (a caller
                // waits for room then).
                let message = error.to_string();
                let kind = if error.is_disk_full() {
                    std::io::ErrorKind::StorageFull
                } else {
                    std::io::ErrorKind::Other
                };
                for reply in replies {
                    let _ = reply.send(Err(StoreError::io(
                        "write",
                        self.store.layout().root(),
                        std::io::Error::new(kind, message.clone()),
                    )));
                }
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    store: &Store,
    work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let root = store.layout().root().to_owned();
    let store = store.clone();
    let mut write = store.clone().spawn_blocking(move || work(&store));
    // A slow store (an NFS server in its grace period) is waited for, not failed over: say so.
    let mut waited = Duration::ZERO;
    loop {
        tokio::select! {
            joined = &mut write => {
                if waited > Duration::ZERO {
                    tracing::info!(store = %root.display(), ?waited, "the store answered again");
                }
                return match joined {
                    Ok(result) => result,
                    Err(error) => Err(StoreError::io(
                        "write",
                        root,
                        std::io::Error::other(error.to_string()),
                    )),
                };
            }
            _ = tokio::time::sleep(STALL_NOTICE) => {
                waited += STALL_NOTICE;
                tracing::warn!(store = %root.display(), ?waited, "the store has not finished a write; waiting for it");
            }
        }
    }
}

impl Actor for LockManager {
    type Msg = LockManagerMsg;
    type State = LockManagerState;
    type Arguments = Store;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        store: Store,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(LockManagerState {
            store,
            pending: Vec::new(),
            flush_scheduled: false,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut LockManagerState,
    ) -> Result<(), ActorProcessingErr> {
        // Instance updates are committed in groups; any other write waits for the group
        // before it, so writes still land in the order they were asked for.
        let is_update = matches!(
            message,
            LockManagerMsg::UpdateInstance { .. } | LockManagerMsg::FlushInstanceUpdates
        );
        if !is_update {
            state.flush().await;
        }
        let store = &state.store;
        // A caller that gave up waiting is not an error of the LockManager: ignore send errors.
        match message {
            LockManagerMsg::CreateService {
                service,
                plan,
                instances,
                reply,
            } => {
                let result = blocking(store, move |s| {
                    s.create_service(&service, &plan, &instances)
                });
                let _ = reply.send(result.await);
            }
            LockManagerMsg::UpdateInstance {
                namespace,
                service,
                id,
                update,
                reply,
            } => {
                state.pending.push((
                    InstanceChange {
                        namespace,
                        service,
                        id,
                        change: Box::new(move |record| update.apply(record)),
                    },
                    reply,
                ));
                if !state.flush_scheduled {
                    // Updates already queued behind this one join it in the same commit.
                    state.flush_scheduled = true;
                    myself.cast(LockManagerMsg::FlushInstanceUpdates)?;
                }
            }
            LockManagerMsg::FlushInstanceUpdates => state.flush().await,
            LockManagerMsg::SetServicePhase {
                namespace,
                service,
                phase,
                reply,
            } => {
                let result = blocking(store, move |s| {
                    s.set_service_phase(&namespace, &service, phase)
                });
                let _ = reply.send(result.await);
            }
            LockManagerMsg::FailService {
                namespace,
                service,
                host,
                message,
                undone,
                reply,
            } => {
                let result = blocking(store, move |s| {
                    s.fail_service(&namespace, &service, &host, &message, undone.as_deref())
                });
                let _ = reply.send(result.await);
            }
            LockManagerMsg::BeginUpdate {
                service,
                plan,
                added,
                reply,
            } => {
                let result = blocking(store, move |s| s.begin_update(&service, &plan, &added));
                let _ = reply.send(result.await);
            }
            LockManagerMsg::RollBackUpdate {
                namespace,
                service,
                instantiation,
                update,
                reply,
            } => {
                let result = blocking(store, move |s| {
                    s.roll_back_update(&namespace, &service, &instantiation, &update)
                });
                let _ = reply.send(result.await);
            }
            LockManagerMsg::FinishUpdatePart {
                namespace,
                service,
                host,
                rolling_back,
                message,
                reply,
            } => {
                let result = blocking(store, move |s| {
                    let (rolling_back, message) = (rolling_back.as_deref(), message.as_deref());
                    s.finish_update_part(&namespace, &service, &host, rolling_back, message)
                });
                let _ = reply.send(result.await);
            }
            LockManagerMsg::RemoveService {
                namespace,
                service,
                host,
                reply,
            } => {
                let result = blocking(store, move |s| {
                    s.remove_service_part(&namespace, &service, &host)
                });
                let _ = reply.send(result.await);
            }
            LockManagerMsg::RemoveHost { host, reply } => {
                let result = blocking(store, move |s| s.remove_host(&host));
                let _ = reply.send(result.await);
            }
            LockManagerMsg::SetDrained {
                host,
                drained,
                reply,
            } => {
                let result = blocking(store, move |s| s.set_drained(&host, drained));
                let _ = reply.send(result.await);
            }
            LockManagerMsg::RenewLease { host, now, reply } => {
                let result = blocking(store, move |s| s.renew_lease(&host, now));
                let _ = reply.send(result.await);
            }
            LockManagerMsg::MoveInstances {
                namespace,
                service,
                based_on,
                moves,
                reply,
            } => {
                let result = blocking(store, move |s| {
                    s.move_instances(&namespace, &service, based_on, &moves)
                });
                let _ = reply.send(result.await);
            }
            LockManagerMsg::PutHost { host, reply } => {
                let _ = reply.send(blocking(store, move |s| s.put_host(&host)).await);
            }
            LockManagerMsg::Register {
                entry,
                files,
                reply,
            } => {
                let _ = reply.send(blocking(store, move |s| s.register(&entry, files)).await);
            }
            LockManagerMsg::Delist {
                kind,
                namespace,
                name,
                reply,
            } => {
                let result = blocking(store, move |s| s.delist(kind, &namespace, &name));
                let _ = reply.send(result.await);
            }
            LockManagerMsg::UpdateTable {
                table,
                host,
                change,
                reply,
            } => {
                let result = blocking(store, move |s| {
                    check_name("host", &host)?;
                    let path = table.path(s.layout(), &host);
                    s.transact(|tx| change(tx, &path))
                });
                let _ = reply.send(result.await);
            }
        }
        Ok(())
    }
}

/// A handle to the LockManager with one method per write, turning a dead actor into
/// [`RuntimeError::Unreachable`].
#[derive(Clone, Debug)]
pub struct LockManagerRef(pub ActorRef<LockManagerMsg>);

impl LockManagerRef {
    async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(WriteReply<T>) -> LockManagerMsg,
    ) -> Result<T, RuntimeError> {
        match self.0.call(build, Some(WRITE_DEADLINE)).await {
            Ok(ractor::rpc::CallResult::Success(result)) => Ok(result?),
            Ok(ractor::rpc::CallResult::Timeout) => Err(RuntimeError::WriteUnconfirmed {
                what: "a record".into(),
                waited: WRITE_DEADLINE,
            }),
            _ => Err(RuntimeError::Unreachable("lock manager")),
        }
    }

    /// See [`LockManagerMsg::CreateService`].
    pub async fn create_service(
        &self,
        service: ServiceRecord,
        plan: PlanRecord,
        instances: Vec<InstanceRecord>,
    ) -> Result<u64, RuntimeError> {
        self.call(|reply| LockManagerMsg::CreateService {
            service: Box::new(service),
            plan,
            instances,
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::UpdateInstance`].
    pub async fn update_instance(
        &self,
        namespace: &str,
        service: &str,
        id: &str,
        update: InstanceUpdate,
    ) -> Result<InstanceRecord, RuntimeError> {
        self.call(|reply| LockManagerMsg::UpdateInstance {
            namespace: namespace.to_owned(),
            service: service.to_owned(),
            id: id.to_owned(),
            update,
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::SetServicePhase`].
    pub async fn set_service_phase(
        &self,
        namespace: &str,
        service: &str,
        phase: ServicePhase,
    ) -> Result<(), RuntimeError> {
        self.call(|reply| LockManagerMsg::SetServicePhase {
            namespace: namespace.to_owned(),
            service: service.to_owned(),
            phase,
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::FailService`].
    pub async fn fail_service(
        &self,
        namespace: &str,
        service: &str,
        host: &str,
        message: &str,
        undone: Option<Vec<(String, String)>>,
    ) -> Result<(), RuntimeError> {
        self.call(|reply| LockManagerMsg::FailService {
            namespace: namespace.to_owned(),
            service: service.to_owned(),
            host: host.to_owned(),
            message: message.to_owned(),
            undone,
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::BeginUpdate`].
    pub async fn begin_update(
        &self,
        service: ServiceRecord,
        plan: PlanRecord,
        added: Vec<InstanceRecord>,
    ) -> Result<u64, RuntimeError> {
        self.call(|reply| LockManagerMsg::BeginUpdate {
            service: Box::new(service),
            plan,
            added,
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::RollBackUpdate`].
    pub async fn roll_back_update(
        &self,
        namespace: &str,
        service: &str,
        instantiation: Instantiation,
        update: UpdateRecord,
    ) -> Result<(), RuntimeError> {
        self.call(|reply| LockManagerMsg::RollBackUpdate {
            namespace: namespace.to_owned(),
            service: service.to_owned(),
            instantiation: Box::new(instantiation),
            update: Box::new(update),
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::FinishUpdatePart`].
    pub async fn finish_update_part(
        &self,
        namespace: &str,
        service: &str,
        host: &str,
        rolling_back: Option<String>,
        message: Option<String>,
    ) -> Result<bool, RuntimeError> {
        self.call(|reply| LockManagerMsg::FinishUpdatePart {
            namespace: namespace.to_owned(),
            service: service.to_owned(),
            host: host.to_owned(),
            rolling_back,
            message,
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::RemoveService`].
    pub async fn remove_service_part(
        &self,
        namespace: &str,
        service: &str,
        host: &str,
    ) -> Result<(), RuntimeError> {
        self.call(|reply| LockManagerMsg::RemoveService {
            namespace: namespace.to_owned(),
            service: service.to_owned(),
            host: host.to_owned(),
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::RemoveHost`].
    pub async fn remove_host(&self, host: &str) -> Result<(), RuntimeError> {
        self.call(|reply| LockManagerMsg::RemoveHost {
            host: host.to_owned(),
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::SetDrained`].
    pub async fn set_drained(&self, host: &str, drained: bool) -> Result<(), RuntimeError> {
        self.call(|reply| LockManagerMsg::SetDrained {
            host: host.to_owned(),
            drained,
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::RenewLease`].
    pub async fn renew_lease(&self, host: &str, now: u64) -> Result<(), RuntimeError> {
        self.call(|reply| LockManagerMsg::RenewLease {
            host: host.to_owned(),
            now,
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::MoveInstances`].
    pub async fn move_instances(
        &self,
        namespace: &str,
        service: &str,
        based_on: u64,
        moves: Vec<InstanceMove>,
    ) -> Result<(), RuntimeError> {
        self.call(|reply| LockManagerMsg::MoveInstances {
            namespace: namespace.to_owned(),
            service: service.to_owned(),
            based_on,
            moves,
            reply,
        })
        .await
    }

    /// See [`LockManagerMsg::PutHost`].
    pub async fn put_host(&self, host: HostRecord) -> Result<(), RuntimeError> {
        self.call(|reply| LockManagerMsg::PutHost { host, reply })
            .await
    }

    /// See [`LockManagerMsg::Register`].
    pub async fn register(
        &self,
        entry: RegistryEntry,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<(), RuntimeError> {
        self.call(|reply| LockManagerMsg::Register {
            entry,
            files,
            reply,
        })
        .await
    }

    /// Changes `host`'s `table` in one fenced write, in order with every other write: the
    /// table is read as stored (its default when there is none), `change` runs on it, and it
    /// is saved only when `change` returns `Ok`. Returns what `change` returned, or
    /// [`RuntimeError::WriteUnconfirmed`] when the write was not done within `deadline`; the
    /// change is not withdrawn then and may still be made, once.
    pub async fn update_table<T, R, E>(
        &self,
        table: HostTable,
        host: &str,
        deadline: Duration,
        change: impl FnOnce(&mut T) -> Result<R, E> + Send + 'static,
    ) -> Result<Result<R, E>, RuntimeError>
    where
        T: Serialize + DeserializeOwned + Default + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        // The outcome leaves the transaction through this channel; the reply only says
        // whether the transaction committed.
        let (outcome_sender, mut outcome) = tokio::sync::oneshot::channel();
        let change: TableChange = Box::new(move |tx, path| {
            let mut current: T = tx.read(path)?.unwrap_or_default();
            let result = change(&mut current);
            if result.is_ok() {
                tx.put(path, &current)?;
            }
            let _ = outcome_sender.send(result);
            Ok(())
        });
        let build = |reply| LockManagerMsg::UpdateTable {
            table,
            host: host.to_owned(),
            change,
            reply,
        };
        match self.0.call(build, Some(deadline)).await {
            Ok(ractor::rpc::CallResult::Success(committed)) => committed?,
            Ok(ractor::rpc::CallResult::Timeout) => {
                return Err(RuntimeError::WriteUnconfirmed {
                    what: format!("the {table} of host {host}"),
                    waited: deadline,
                });
            }
            _ => return Err(RuntimeError::Unreachable("lock manager")),
        }
        outcome
            .try_recv()
            .map_err(|_| RuntimeError::Unreachable("lock manager"))
    }

    /// See [`LockManagerMsg::Delist`].
    pub async fn delist(
        &self,
        kind: RegistryKind,
        namespace: &str,
        name: &str,
    ) -> Result<(), RuntimeError> {
        self.call(|reply| LockManagerMsg::Delist {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            reply,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::records::HostRecord;

    #[tokio::test]
    async fn writes_through_the_lock_manager_land_in_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (actor, handle) = Actor::spawn(None, LockManager, store.clone())
            .await
            .unwrap();
        let lock_manager = LockManagerRef(actor.clone());
        lock_manager
            .put_host(HostRecord::new("alpha", "now"))
            .await
            .unwrap();
        assert_eq!(store.list_hosts().unwrap()[0].name, "alpha");
        let error = lock_manager
            .update_instance("default", "nope", "web-0", InstanceUpdate::default())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("does not exist"), "{error}");
        actor.stop(None);
        handle.await.unwrap();
    }

    /// Stands in for a LockManager stuck behind a stalled store: it keeps every request and
    /// answers none.
    struct Stalled;

    impl Actor for Stalled {
        type Msg = LockManagerMsg;
        type State = Vec<LockManagerMsg>;
        type Arguments = ();

        async fn pre_start(
            &self,
            _myself: ActorRef<Self::Msg>,
            _: (),
        ) -> Result<Self::State, ActorProcessingErr> {
            Ok(Vec::new())
        }

        async fn handle(
            &self,
            _myself: ActorRef<Self::Msg>,
            message: Self::Msg,
            held: &mut Self::State,
        ) -> Result<(), ActorProcessingErr> {
            held.push(message);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_table_change_waits_no_longer_than_its_deadline() {
        let (actor, _) = Actor::spawn(None, Stalled, ()).await.unwrap();
        let error = LockManagerRef(actor.clone())
            .update_table(
                HostTable::Ports,
                "alpha",
                Duration::from_millis(50),
                |_: &mut Vec<u16>| Ok::<(), ()>(()),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(error, RuntimeError::WriteUnconfirmed { .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("port table of host alpha"),
            "{error}"
        );
        actor.stop(None);
    }
}
