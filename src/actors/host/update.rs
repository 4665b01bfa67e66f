//! `service update`: compile the template as a deploy would, compare it with what the service
//! runs, and record the update (the new instantiation, the instances it adds, what the service
//! ran before) in one transaction; the service's actor here takes it (or, when it adds
//! instances, is started again on it), the other hosts of the service are nudged to take
//! theirs, and each makes again only the instances whose definition changed (see
//! `service::update`).

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use ractor::ActorRef;

use crate::actors::RuntimeError;
use crate::actors::peer;
use crate::actors::scheduler::{self, Candidate, Placed, Policy, Unit};
use crate::actors::service::{ServiceMsg, ServiceStart};
use crate::control::protocol::Response;
use crate::state::records::{
    InstanceRecord, InstanceState, PlanRecord, ServicePhase, ServiceRecord, UpdateRecord,
};
use crate::state::{Store, StoreError};
use crate::tosca::instance::Instantiation;
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
/// its update on `host`. `held` are the records of the service's instances as its actor here
/// holds them (else they are read from the store). Refused for a service that is not active,
/// still being made, or being updated. Instances it adds are placed by the service's policies
/// (see [`place_added`]).
pub fn prepare(
    store: &Store,
    cluster: &[Candidate],
    host: &str,
    deploy: Deploy,
    max_parallel: u32,
    held: Option<Vec<Arc<InstanceRecord>>>,
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
    let mut plan = store.plan(&namespace, &name)?;
    check_updatable(&running)?;
    // The actor here holds only this host's instances.
    let instances = match held.filter(|_| plan.other_hosts(host).is_empty()) {
        Some(held) => held,
        None => (store.load_service(&namespace, &name)?)
            .map(|view| view.instances)
            .unwrap_or_default(),
    };
    check_settled(&running.name, &plan, &instances)?;
    let (instantiation, policies) = compile(store, cluster, &template, &namespace, inputs.clone())?;
    let diff = diff(&running.instantiation, &instantiation);
    let placed = place_added(&instantiation, &diff, &policies, cluster, &plan)?;
    plan.version += 1;
    let now = store.now();
    let mut added = Vec::new();
    for node in instantiation
        .nodes
        .iter()
        .filter(|n| diff.added.contains(&n.id))
    {
        let Placed { host: on, why } = placed.get(&node.id).cloned().unwrap_or_else(|| Placed {
            host: host.to_owned(),
            why: "added by an update, on the host it was asked of".to_owned(),
        });
        let mut record = InstanceRecord::pending(&node.id, &node.template, &on, &now);
        record.message = Some(format!("added by an update, placed on {on}"));
        record.push_event(&now);
        record.message = None;
        added.push(record);
        plan.placements.insert(node.id.clone(), on);
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
            done: Default::default(),
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

/// Where the instances an update adds go: by the service's policies on the live hosts of
/// `cluster`, beside the instances that stay where `plan` has them (a Separation avoids their
/// hosts, a Colocation joins them).
fn place_added(
    instantiation: &Instantiation,
    diff: &InstantiationDiff,
    policies: &[Policy],
    cluster: &[Candidate],
    plan: &PlanRecord,
) -> Result<IndexMap<String, Placed>, RuntimeError> {
    if diff.added.is_empty() {
        return Ok(IndexMap::new());
    }
    let units: Vec<Unit> = (scheduler::units(instantiation).into_iter())
        .filter(|unit| diff.added.contains(&unit.id))
        .collect();
    let template_of: HashMap<&str, &str> = (instantiation.nodes.iter())
        .map(|node| (node.id.as_str(), node.template.as_str()))
        .collect();
    let staying: Vec<(String, String)> = (plan.placements.iter())
        .filter_map(|(id, on)| {
            let template = template_of.get(id.as_str())?;
            Some((template.to_string(), on.clone()))
        })
        .collect();
    Ok(scheduler::place_beside(
        &units, policies, cluster, &staying,
    )?)
}

/// Why `service` cannot be updated now, if it cannot.
fn check_updatable(service: &ServiceRecord) -> Result<(), RuntimeError> {
    let name = &service.name;
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
    Ok(())
}

/// Refuses the update of service `name` while one of the instances `plan` places is still
/// being made or removed.
fn check_settled(
    name: &str,
    plan: &PlanRecord,
    instances: &[Arc<InstanceRecord>],
) -> Result<(), RuntimeError> {
    let making = instances.iter().find(|i| {
        plan.placements.contains_key(&i.id)
            && matches!(
                i.state,
                InstanceState::Pending | InstanceState::Creating | InstanceState::Deleting
            )
    });
    match making {
        Some(instance) => Err(conflict(format!(
            "service {name} is still being made or removed (instance {} is {}); update it once \
             its deploy is over",
            instance.id, instance.state
        ))),
        None => Ok(()),
    }
}

fn conflict(why: String) -> RuntimeError {
    RuntimeError::Store(StoreError::Conflict(why))
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
        let key = (deploy.namespace.clone(), deploy.name.clone());
        let actor = self.services.get(&key).cloned();
        tokio::spawn(async move {
            let cluster = match live.await {
                Ok(cluster) => cluster,
                Err(error) => return answer_with(reply, Err(error)),
            };
            let held = match actor {
                Some(actor) => held_records(&actor).await,
                None => None,
            };
            let compiled = store.clone().spawn_blocking(move || {
                prepare(&store, &cluster, &host, deploy, max_parallel, held)
            });
            let compiled = compiled.await;
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
        let others: Vec<String> = (plan.other_hosts(&self.context.host).into_iter())
            .map(str::to_owned)
            .collect();
        let lock_manager = &self.context.lock_manager;
        lock_manager.begin_update(service, plan, added).await?;
        // The other hosts take their part at their next read of the plans, or now.
        peer::nudge(others.iter().map(String::as_str));
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

/// How long the service's actor may take to show what it holds before the store is read.
const HELD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// The records of the service's instances as its actor here holds them (this host's written
/// last); `None` when it does not answer in time (the store is read instead).
async fn held_records(actor: &ActorRef<ServiceMsg>) -> Option<Vec<Arc<InstanceRecord>>> {
    match actor.call(ServiceMsg::Records, Some(HELD_DEADLINE)).await {
        Ok(ractor::rpc::CallResult::Success(records)) => Some(records),
        _ => None,
    }
}
