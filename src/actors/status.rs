//! A service's status as the CLI shows it: instances from the store, outputs evaluated from the
//! instances' attributes.

use indexmap::IndexMap;

use crate::control::protocol::{InstanceStatus, ServiceEvent, ServiceStatus};
use crate::state::ServiceView;
use crate::tosca::instance::{Expression, Resolver};

/// Looks up attribute `name` of instance `id`: what its delegate reported, else the initial
/// value the processor gave it (properties are reflected as attributes).
pub fn attribute_of(view: &ServiceView, id: &str, name: &str) -> Option<serde_json::Value> {
    if let Some(value) = view
        .instances
        .iter()
        .find(|instance| instance.id == id)
        .and_then(|instance| instance.attributes.get(name))
    {
        return Some(value.clone());
    }
    let node = view
        .service
        .instantiation
        .nodes
        .iter()
        .find(|node| node.id == id)?;
    match node
        .attributes
        .get(name)
        .or_else(|| node.properties.get(name))?
    {
        Expression::Resolved(value) => Some(value.clone()),
        Expression::Deferred(_) => None,
    }
}

/// The status of the service in `view`. An output that cannot be evaluated yet (its instance
/// has not reported the attribute) is `null`.
pub fn service_status(view: &ServiceView) -> ServiceStatus {
    let instantiation = &view.service.instantiation;
    let resolver = Resolver::new(instantiation);
    let lookup = |id: &str, name: &str| attribute_of(view, id, name);
    let outputs: IndexMap<String, serde_json::Value> = instantiation
        .outputs
        .iter()
        .map(|(name, expression)| {
            let value = resolver
                .resolve(expression, None, &lookup)
                .unwrap_or_else(|error| {
                    tracing::debug!(output = %name, %error, "output not evaluable yet");
                    serde_json::Value::Null
                });
            (name.clone(), value)
        })
        .collect();
    ServiceStatus {
        name: view.service.name.clone(),
        namespace: view.service.namespace.clone(),
        phase: view.service.phase,
        message: view.service.message.clone(),
        on_failure: view.service.on_failure,
        update: view
            .service
            .update
            .as_ref()
            .map(|update| match &update.rolling_back {
                Some(why) => format!("rolling back: {why}"),
                None => "updating".to_owned(),
            }),
        instances: view
            .instances
            .iter()
            .map(|instance| InstanceStatus {
                id: instance.id.clone(),
                node: instance.node.clone(),
                host: instance.host.clone(),
                placement: view.plan.reasons.get(&instance.id).cloned(),
                host_down: false,
                state: instance.state,
                health: instance.health,
                attributes: instance.attributes.clone(),
                message: instance.message.clone(),
                since: instance.events.last().map(|event| event.at.clone()),
                settling: false,
            })
            .collect(),
        outputs,
    }
}

/// Every instance's last changes of state, oldest first (times are the store's clock, RFC 3339
/// in UTC with milliseconds, so they sort as text).
pub fn service_events(view: &ServiceView) -> Vec<ServiceEvent> {
    let mut events: Vec<ServiceEvent> = view
        .instances
        .iter()
        .flat_map(|instance| {
            instance.events.iter().map(|event| ServiceEvent {
                at: event.at.clone(),
                instance: instance.id.clone(),
                host: instance.host.clone(),
                state: event.state,
                health: event.health,
                message: event.message.clone(),
            })
        })
        .collect();
    events.sort_by(|a, b| a.at.cmp(&b.at));
    events
}
