//! `service status` and `service list`: what the store records of the services, with what
//! membership says of the hosts that run them (an instance on a host seen down is not
//! reported as simply running).

use std::collections::HashSet;

use crate::actors::membership::{MemberState, MemberView};
use crate::actors::{RuntimeError, service_events, service_status};
use crate::control::protocol::{Response, ServiceSummary};
use crate::state::records::InstanceState;
use crate::state::{ServiceView, check_name};

use super::HostState;
use super::cluster;

impl HostState {
    /// The service's status, each instance on a host membership sees down marked so.
    pub(super) async fn status(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Response, RuntimeError> {
        let view = self
            .context
            .store
            .load_service(namespace, name)?
            .ok_or_else(|| RuntimeError::NotFound(format!("there is no service {name}")))?;
        let down = self.hosts_down().await;
        let mut status = service_status(&view);
        for instance in &mut status.instances {
            instance.host_down = down.contains(&instance.host);
        }
        Ok(Response::Status { status })
    }

    /// The service's last changes of state, every instance's, oldest first.
    pub(super) fn events(&self, namespace: &str, name: &str) -> Result<Response, RuntimeError> {
        check_name("namespace", namespace)?;
        check_name("service", name)?;
        let view = self
            .context
            .store
            .load_service(namespace, name)?
            .ok_or_else(|| RuntimeError::NotFound(format!("there is no service {name}")))?;
        Ok(Response::Events {
            events: service_events(&view),
        })
    }

    /// The other hosts membership sees down.
    async fn hosts_down(&self) -> HashSet<String> {
        let views = cluster::member_views(self.membership.as_ref().map(|m| &m.actor)).await;
        let names: HashSet<&str> = views.iter().map(|view| view.name.as_str()).collect();
        names
            .into_iter()
            .filter(|name| *name != self.context.host)
            .filter(|name| {
                MemberView::latest(&views, name).is_some_and(|v| v.state == MemberState::Down)
            })
            .map(str::to_owned)
            .collect()
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
