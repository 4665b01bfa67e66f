//! `service update`: compile the template as a deploy would, compare it with what the service
//! runs, and record the update (the new instantiation, the instances it adds, what the service
//! ran before) in one transaction; the service's actor, started again on it, makes again only
//! the instances whose definition changed (see `service::update`).

use ractor::ActorRef;

use crate::actors::RuntimeError;
use crate::actors::scheduler::Candidate;
use crate::actors::service::{ServiceMsg, ServiceStart};
use crate::control::protocol::Response;
use crate::state::records::{
    InstanceRecord, InstanceState, PlanRecord, ServicePhase, ServiceRecord, UpdateRecord,
};
use crate::state::{Store, StoreError};
use crate::tosca::instance::diff::{InstantiationDiff, diff};

use super::deploy::{Deploy, compile, recorded};
use super::messages::{Answer, HostMsg};
use super::{HostState, answer_with, catch_up};

/// An update ready to record: the service with its update, its new plan, the records of the
/// instances it adds, and what it changes.
#[derive(Debug)]
pub struct PreparedUpdate {
    service: ServiceRecord,
    plan: PlanRecord,
    added: Vec<InstanceRecord>,
    diff: InstantiationDiff,
}

/// Compiles `deploy`'s template for service `namespace/name` as a deploy would and prepares
/// its update on `host`. Refused for a service that is not active, still being made, being
/// updated, or with instances on another host (updates across hosts are not done yet).
pub fn prepare(
    store: &Store,
    cluster: &[Candidate],
    host: &str,
    deploy: Deploy,
    max_parallel: u32,
) -> Result<PreparedUpdate, RuntimeError> {
    let Deploy {
        template,
        namespace,
        name,
        inputs,
        ..
    } = deploy;
    let running = recorded(store, &namespace, &name)?
        .ok_or_else(|| RuntimeError::NotFound(format!("there is no service {name}")))?;
    check_updatable(store, &running, host)?;
    let (instantiation, _) = compile(store, cluster, &template, &namespace, inputs.clone())?;
    let diff = diff(&running.instantiation, &instantiation);
    let mut plan = store.plan(&namespace, &name)?;
    plan.version += 1;
    let now = store.now();
    let mut added = Vec::new();
    for node in instantiation
        .nodes
        .iter()
        .filter(|n| diff.added.contains(&n.id))
    {
        let mut record = InstanceRecord::pending(&node.id, &node.template, host, &now);
        record.message = Some("added by an update".into());
        record.push_event(&now);
        record.message = None;
        added.push(record);
        plan.placements.insert(node.id.clone(), host.to_owned());
        let why = "added by an update, on the host of the service".to_owned();
        plan.reasons.insert(node.id.clone(), why);
    }
    let service = ServiceRecord {
        template,
        inputs,
        message: None,
        update: Some(UpdateRecord {
            previous: running.instantiation.clone(),
            max_parallel: max_parallel.max(1),
            rolling_back: None,
        }),
        instantiation,
        ..running
    };
    Ok(PreparedUpdate {
        service,
        plan,
        added,
        diff,
    })
}

/// Why `service` cannot be updated from `host` now, if it cannot.
fn check_updatable(store: &Store, service: &ServiceRecord, host: &str) -> Result<(), RuntimeError> {
    let (namespace, name) = (&service.namespace, &service.name);
    let conflict = |why: String| RuntimeError::Store(StoreError::Conflict(why));
    if service.update.is_some() {
        return Err(conflict(format!("service {name} is being updated already")));
    }
    if service.phase != ServicePhase::Active {
        return Err(conflict(format!(
            "service {name} is {}: only an active service is updated",
            if service.phase == ServicePhase::Failed {
                "failed"
            } else {
                "being deleted"
            }
        )));
    }
    let plan = store.plan(namespace, name)?;
    let elsewhere = catch_up::elsewhere(&plan, host);
    if !elsewhere.is_empty() {
        return Err(RuntimeError::Invalid(format!(
            "service {name} has instances on {}: an update of a service with instances on \
             other hosts than this one ({host}) is not supported yet; delete and deploy it \
             instead",
            elsewhere.join(", ")
        )));
    }
    let view = store.load_service(namespace, name)?;
    let making = view.iter().flat_map(|v| v.instances.iter()).find(|i| {
        matches!(
            i.state,
            InstanceState::Pending | InstanceState::Creating | InstanceState::Deleting
        )
    });
    if let Some(instance) = making {
        return Err(conflict(format!(
            "service {name} is still being made or removed (instance {} is {}); update it once \
             its deploy is over",
            instance.id, instance.state
        )));
    }
    Ok(())
}

impl HostState {
    /// Compiles the update beside the Host and hands the reply on, as a deploy does.
    pub(super) fn update(
        &self,
        myself: &ActorRef<HostMsg>,
        deploy: Deploy,
        max_parallel: u32,
        reply: Answer,
    ) {
        let (store, live) = self.beside();
        let (myself, host) = (myself.clone(), self.context.host.clone());
        tokio::spawn(async move {
            let cluster = match live.await {
                Ok(cluster) => cluster,
                Err(error) => return answer_with(reply, Err(error)),
            };
            let compiled = store
                .clone()
                .spawn_blocking(move || prepare(&store, &cluster, &host, deploy, max_parallel))
                .await;
            let prepared = Box::new(compiled.unwrap_or_else(|e| {
                Err(RuntimeError::Invalid(format!(
                    "compiling the template crashed: {e}"
                )))
            }));
            if let Err(error) = myself.cast(HostMsg::UpdateCompiled { prepared, reply }) {
                tracing::warn!(%error, "the host stopped before an update was recorded");
            }
        });
    }

    /// Records a compiled update (unless it changes nothing) and starts the service's actor
    /// again on it; answers with what it changes.
    pub(super) async fn record_update(
        &mut self,
        myself: &ActorRef<HostMsg>,
        prepared: PreparedUpdate,
    ) -> Result<Response, RuntimeError> {
        let PreparedUpdate {
            service,
            plan,
            added,
            diff,
        } = prepared;
        if diff.is_empty() {
            return Ok(Response::Updating { diff });
        }
        let key = (service.namespace.clone(), service.name.clone());
        let seen = catch_up::Seen::of(&plan, &self.context.host);
        let in_place = added.is_empty().then(|| (service.clone(), plan.clone()));
        let lock_manager = &self.context.lock_manager;
        lock_manager.begin_update(service, plan, added).await?;
        if let Some(seen_plans) = &mut self.seen_plans {
            seen_plans.insert(key.clone(), seen);
        }
        // Its actor takes an update of the instances it has in place; one that adds instances
        // is taken by a new actor, which adopts what runs (unchanged instances are left as
        // they are) and knows the new ones.
        match (self.services.get(&key).cloned(), in_place) {
            (Some(actor), Some((service, plan))) => {
                let service = Box::new(service);
                actor
                    .cast(ServiceMsg::Update { service, plan })
                    .map_err(|_| RuntimeError::Unreachable("service actor"))?;
            }
            (Some(actor), None) => {
                self.restarting.insert(key);
                actor.stop(Some("the service is updated".into()));
            }
            (None, _) => {
                self.spawn_service(myself, &key.0, &key.1, ServiceStart::Resume)
                    .await?;
            }
        }
        Ok(Response::Updating { diff })
    }
}
