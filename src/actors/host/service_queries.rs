//! `service status` and `service list`: what the store records of the services, with what
//! membership says of the hosts that run them (an instance on a host seen down is not
//! reported as simply running).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ractor::ActorRef;
use ractor::rpc::CallResult;

use crate::actors::membership::{MemberState, MemberView, MembershipMsg};
use crate::actors::service::ServiceMsg;
use crate::actors::{RuntimeError, service_events, service_status};
use crate::control::protocol::{Response, ServiceSummary};
use crate::state::records::{InstanceRecord, InstanceState};
use crate::state::{ServiceView, Store, check_name};

use super::HostState;
use super::cluster;

/// How long a query waits for the Service actor here to hand over its instances (it answers
/// from memory; past this, the store's records are shown).
const RECORDS_DEADLINE: Duration = Duration::from_secs(1);

/// What `service status` and `service events` need, taken from the Host so they are answered
/// beside it.
pub(super) struct ServiceQuery {
    store: Store,
    namespace: String,
    name: String,
    /// The service's actor here, if it has one.
    actor: Option<ActorRef<ServiceMsg>>,
    membership: Option<ActorRef<MembershipMsg>>,
    host: String,
}

impl HostState {
    /// A query of service `name`.
    pub(super) fn query(&self, namespace: String, name: String) -> ServiceQuery {
        let key = (namespace, name);
        ServiceQuery {
            store: self.context.store.clone(),
            actor: self.services.get(&key).cloned(),
            membership: self.membership.as_ref().map(|m| m.actor.clone()),
            host: self.context.host.clone(),
            namespace: key.0,
            name: key.1,
        }
    }

    /// The other hosts membership sees down.
    async fn hosts_down(&self) -> HashSet<String> {
        let membership = self.membership.as_ref().map(|m| m.actor.clone());
        hosts_down(membership, &self.context.host).await
    }
    /// The services of `namespace` (all namespaces when `None`); a service whose records
    /// cannot be read is listed with the reason instead of failing the whole list.
    pub(super) async fn list_services(
        &self,
        namespace: Option<&str>,
    ) -> Result<Response, RuntimeError> {
        if let Some(namespace) = namespace {
            check_name("namespace", namespace)?;
        }
        let down = self.hosts_down().await;
        let store = &self.context.store;
        let mut services = Vec::new();
        for (ns, name) in store.list_services()? {
            if namespace.is_some_and(|wanted| wanted != ns) {
                continue;
            }
            match store.load_service(&ns, &name) {
                Ok(Some(view)) => services.push(summary(&view, &down)),
                Ok(None) => {}
                Err(error) => services.push(ServiceSummary {
                    namespace: ns,
                    name,
                    phase: None,
                    problem: Some(error.to_string()),
                    template: String::new(),
                    instances: 0,
                    running: 0,
                    failed: 0,
                }),
            }
        }
        Ok(Response::Services { services })
    }
}

impl ServiceQuery {
    /// The service's status, each instance on a host membership sees down marked so.
    pub(super) async fn status(self) -> Result<Response, RuntimeError> {
        let view = self.view().await?;
        let down = hosts_down(self.membership, &self.host).await;
        let mut status = service_status(&view);
        for instance in &mut status.instances {
            instance.host_down = down.contains(&instance.host);
        }
        Ok(Response::Status { status })
    }

    /// The service's last changes of state, every instance's, oldest first.
    pub(super) async fn events(self) -> Result<Response, RuntimeError> {
        let view = self.view().await?;
        Ok(Response::Events {
            events: service_events(&view),
        })
    }

    /// The service as the store records it, with this host's instances as its actor holds
    /// them (a step shows what it does before it writes it).
    async fn view(&self) -> Result<ServiceView, RuntimeError> {
        check_name("namespace", &self.namespace)?;
        check_name("service", &self.name)?;
        let (store, namespace, name) = (
            self.store.clone(),
            self.namespace.clone(),
            self.name.clone(),
        );
        let view = store
            .clone()
            .spawn_blocking(move || store.load_service(&namespace, &name))
            .await
            .map_err(|e| RuntimeError::Invalid(format!("reading the service crashed: {e}")))??;
        let mut view = view
            .ok_or_else(|| RuntimeError::NotFound(format!("there is no service {}", self.name)))?;
        if let Some(actor) = &self.actor {
            match actor
                .call(ServiceMsg::Records, Some(RECORDS_DEADLINE))
                .await
            {
                Ok(CallResult::Success(records)) => overlay(&mut view, records),
                _ => tracing::debug!(service = %self.name, "showing its records as stored"),
            }
        }
        Ok(view)
    }
}

/// Puts `records` in place of the records of `view` with their ids.
fn overlay(view: &mut ServiceView, records: Vec<Arc<InstanceRecord>>) {
    let mut records: std::collections::HashMap<String, Arc<InstanceRecord>> =
        records.into_iter().map(|r| (r.id.clone(), r)).collect();
    for slot in &mut view.instances {
        if let Some(record) = records.remove(&slot.id) {
            *slot = record;
        }
    }
}

/// The hosts other than `me` that membership sees down.
async fn hosts_down(membership: Option<ActorRef<MembershipMsg>>, me: &str) -> HashSet<String> {
    let views = cluster::member_views(membership.as_ref()).await;
    let names: HashSet<&str> = views.iter().map(|view| view.name.as_str()).collect();
    names
        .into_iter()
        .filter(|name| *name != me)
        .filter(|name| {
            MemberView::latest(&views, name).is_some_and(|v| v.state == MemberState::Down)
        })
        .map(str::to_owned)
        .collect()
}

/// One line of `service list`; an instance on a host in `down` does not count as running.
fn summary(view: &ServiceView, down: &HashSet<String>) -> ServiceSummary {
    let count = |state| view.instances.iter().filter(|i| i.state == state).count();
    let running = view
        .instances
        .iter()
        .filter(|i| i.state == InstanceState::Running && !down.contains(&i.host))
        .count();
    ServiceSummary {
        namespace: view.service.namespace.clone(),
        name: view.service.name.clone(),
        phase: Some(view.service.phase),
        problem: None,
        template: view.service.template.clone(),
        instances: view.instances.len(),
        running,
        failed: count(InstanceState::Failed),
    }
}
