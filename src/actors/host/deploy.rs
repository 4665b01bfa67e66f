//! `service deploy`: compile and instantiate the template (nothing is recorded when that fails),
//! record the service, its plan and its instances in one transaction, and start its Service
//! actor.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::state::records::{
    InstanceRecord, InstanceState, PlanRecord, ServicePhase, ServiceRecord, split_qualified,
};
use crate::state::{RegistryKind, Store, check_name};

use super::super::{RuntimeError, tosca_bridge};

/// The template file to compile for `template`: an existing path, else a registered template's
/// `namespace/name`.
pub fn locate_template(store: &Store, template: &str) -> Result<PathBuf, RuntimeError> {
    let path = Path::new(template);
    if path.is_absolute() && path.exists() {
        return Ok(path.to_owned());
    }
    let (namespace, name) = split_qualified(template);
    let registered = check_name("template", &name)
        .and_then(|()| check_name("namespace", &namespace))
        .ok()
        .and_then(|()| {
            store
                .registry_entry(RegistryKind::Templates, &namespace, &name)
                .ok()
                .flatten()
        });
    match registered {
        Some(entry) => Ok(store
            .layout()
            .registry_entry(RegistryKind::Templates, &namespace, &name)
            .join(entry.entry)),
        None => Err(RuntimeError::NotFound(format!(
            "there is no template file or registered template named {template}"
        ))),
    }
}

/// Compiles and instantiates `template` and builds the records of a new service placed wholly on
/// `host` (one host: every instance is local).
pub fn prepare(
    store: &Store,
    host: &str,
    template: &str,
    namespace: &str,
    name: &str,
    inputs: IndexMap<String, serde_json::Value>,
) -> Result<(ServiceRecord, PlanRecord, Vec<InstanceRecord>), RuntimeError> {
    check_name("namespace", namespace)?;
    check_name("service", name)?;
    if store.load_service(namespace, name)?.is_some() {
        return Err(RuntimeError::Store(
            crate::state::StoreError::AlreadyExists(format!("service {namespace}/{name}")),
        ));
    }
    let entry = locate_template(store, template)?;
    let registered_profiles = store.layout().registry(RegistryKind::Profiles);
    let profiles: Vec<PathBuf> = std::iter::once(registered_profiles)
        .filter(|dir| dir.is_dir())
        .collect();
    let instantiation =
        tosca_bridge::instantiate(&entry.to_string_lossy(), inputs.clone(), profiles)?;
    let now = store.now();
    let instances: Vec<InstanceRecord> = instantiation
        .nodes
        .iter()
        // A selected node belongs to another service, which runs it.
        .filter(|node| node.selected_from.is_none())
        .map(|node| InstanceRecord {
            id: node.id.clone(),
            node: node.template.clone(),
            host: host.to_owned(),
            state: InstanceState::Pending,
            attributes: serde_json::Map::new(),
            message: None,
            restarts: 0,
            updated: now.clone(),
        })
        .collect();
    let plan = PlanRecord {
        version: 1,
        placements: instances
            .iter()
            .map(|instance| (instance.id.clone(), host.to_owned()))
            .collect(),
    };
    let service = ServiceRecord {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        template: template.to_owned(),
        inputs,
        created: now,
        phase: ServicePhase::Active,
        instantiation,
    };
    Ok((service, plan, instances))
}
