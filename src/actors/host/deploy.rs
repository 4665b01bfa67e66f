//! `service deploy`: compile and instantiate the template (nothing is recorded when that fails),
//! record the service, its plan and its instances in one transaction, and start its Service
//! actor.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::state::records::{
    InstanceRecord, PlanRecord, ServicePhase, ServiceRecord, split_qualified,
};
use crate::state::{RegistryKind, Store, check_name};
use crate::tosca::instance::diff::{InstantiationDiff, diff};
use crate::tosca::instance::{Instantiation, Inventory};

use super::super::scheduler::{self, Candidate, PlacementError, Policy};
use crate::delegates::delegation::delegate_of;

use super::super::{RuntimeError, tosca_bridge};

/// A deploy as asked.
#[derive(Debug)]
pub struct Deploy {
    /// The template: a file, or a registered template's `namespace/name`.
    pub template: String,
    /// The new service's namespace.
    pub namespace: String,
    /// The new service's name.
    pub name: String,
    /// Its inputs.
    pub inputs: IndexMap<String, serde_json::Value>,
    /// What a failed deploy leaves behind.
    pub on_failure: crate::state::records::OnFailure,
}

/// A compiled deploy: the records of its service, plan and instances.
pub type Prepared = (ServiceRecord, PlanRecord, Vec<InstanceRecord>);

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

/// Compiles and instantiates `template`, places its instances on the live hosts of `cluster`
/// by its policies, and builds the records of the new service.
pub fn prepare(
    store: &Store,
    cluster: &[Candidate],
    template: &str,
    namespace: &str,
    name: &str,
    inputs: IndexMap<String, serde_json::Value>,
) -> Result<Prepared, RuntimeError> {
    if recorded(store, namespace, name)?.is_some() {
        return Err(RuntimeError::Store(
            crate::state::StoreError::AlreadyExists(format!("service {namespace}/{name}")),
        ));
    }
    let (instantiation, policies) = compile(store, cluster, template, namespace, inputs.clone())?;
    let placed = scheduler::place(&scheduler::units(&instantiation), &policies, cluster)?;
    let now = store.now();
    // In the instantiation's order: every instance after those it requires.
    let instances: Vec<InstanceRecord> = instantiation
        .nodes
        .iter()
        .filter_map(|node| {
            let placed = placed.get(&node.id)?;
            let mut record = InstanceRecord::pending(&node.id, &node.template, &placed.host, &now);
            record.message = Some(format!("placed on {}", placed.host));
            record.push_event(&now);
            record.message = None;
            Some(record)
        })
        .collect();
    let plan = PlanRecord {
        version: 1,
        placements: placed
            .iter()
            .map(|(id, placed)| (id.clone(), placed.host.clone()))
            .collect(),
        reasons: placed
            .into_iter()
            .map(|(id, placed)| (id, placed.why))
            .collect(),
    };
    let service = ServiceRecord {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        template: template.to_owned(),
        inputs,
        created: now,
        phase: ServicePhase::Active,
        on_failure: Default::default(),
        message: None,
        update: None,
        instantiation,
    };
    Ok((service, plan, instances))
}

/// The nodes of the namespace's deployed services, which `select` directives may pick.
fn inventory(store: &Store, namespace: &str) -> Result<Inventory, RuntimeError> {
    let mut inventory = Inventory::default();
    for (ns, name) in store.list_services()? {
        if ns != namespace {
            continue;
        }
        // An unreadable service offers nothing to select; it must not block other deploys.
        match store.service_record(&ns, &name) {
            Ok(Some(record)) if record.phase == ServicePhase::Active => {
                inventory.add_service(&name, &record.instantiation);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(service = %name, %error, "skipping an unreadable service"),
        }
    }
    Ok(inventory)
}

/// Service `namespace/name` as recorded, once both names are valid.
pub(super) fn recorded(
    store: &Store,
    namespace: &str,
    name: &str,
) -> Result<Option<ServiceRecord>, RuntimeError> {
    check_name("namespace", namespace)?;
    check_name("service", name)?;
    Ok(store.service_record(namespace, name)?)
}

/// Compiles and instantiates `template` for a service of `namespace`, with the counts its
/// policies set on the live hosts of `cluster`; with those policies.
pub(super) fn compile(
    store: &Store,
    cluster: &[Candidate],
    template: &str,
    namespace: &str,
    inputs: IndexMap<String, serde_json::Value>,
) -> Result<(Instantiation, Vec<Policy>), RuntimeError> {
    let entry = locate_template(store, template)?;
    let registered_profiles = store.layout().registry(RegistryKind::Profiles);
    let profiles: Vec<PathBuf> = std::iter::once(registered_profiles)
        .filter(|dir| dir.is_dir())
        .collect();
    let instantiate = |counts| {
        tosca_bridge::instantiate(
            &entry.to_string_lossy(),
            inputs.clone(),
            profiles.clone(),
            counts,
            || inventory(store, namespace),
        )
    };
    let mut instantiation = instantiate(IndexMap::new())?;
    let policies = Policy::read_all(&instantiation.policies)?;
    for node in &instantiation.nodes {
        delegate_of(&instantiation.policies, node)
            .map_err(|e| PlacementError::policy(&e.policy, e.message))?;
    }
    let (written, delegates) = scheduler::templates(&instantiation);
    let counts = scheduler::counts(&policies, &written, &delegates, cluster)?;
    if counts != written {
        instantiation = instantiate(counts)?;
    }
    Ok((instantiation, policies))
}

/// What updating service `namespace/name` to `template` with `inputs` would change (`service
/// plan`): compiled as a deploy would be, compared instance by instance with what it runs.
pub fn plan(
    store: &Store,
    cluster: &[Candidate],
    template: &str,
    namespace: &str,
    name: &str,
    inputs: IndexMap<String, serde_json::Value>,
) -> Result<InstantiationDiff, RuntimeError> {
    let running = recorded(store, namespace, name)?
        .ok_or_else(|| RuntimeError::NotFound(format!("there is no service {name}")))?;
    let (instantiation, _) = compile(store, cluster, template, namespace, inputs)?;
    Ok(diff(&running.instantiation, &instantiation))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPES: &str = "tosca_definitions_version: tosca_2_0
node_types:
  Database:
    properties:
      flavour: { type: string }
  App:
    properties:
      flavour: { type: string, required: false }
";

    #[test]
    fn a_selected_node_comes_from_a_deployed_service_and_gets_no_instance_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("state")).unwrap();
        std::fs::write(dir.path().join("types.yaml"), TYPES).unwrap();
        let write = |name: &str, body: &str| {
            let path = dir.path().join(name);
            std::fs::write(
                &path,
                format!("tosca_definitions_version: tosca_2_0\nimports: [types.yaml]\nservice_template:\n{body}"),
            )
            .unwrap();
            path.display().to_string()
        };
        let producer = write(
            "producer.yaml",
            "  node_templates:\n    db:\n      type: Database\n      properties: { flavour: fast }\n",
        );
        let consumer = write(
            "consumer.yaml",
            "  node_templates:\n    db:\n      type: Database\n      directives: [ select ]\n      node_filter: { $equal: [ { $get_property: [ SELF, flavour ] }, fast ] }\n    app:\n      type: App\n      properties:\n        flavour: { $get_property: [ db, flavour ] }\n",
        );
        // Nothing deployed yet: nothing to select.
        let refused = prepare(
            &store,
            &alpha(),
            &consumer,
            "default",
            "consumer",
            IndexMap::new(),
        );
        assert!(
            matches!(refused, Err(RuntimeError::Template(_))),
            "{refused:?}"
        );
        let (service, plan, instances) = prepare(
            &store,
            &alpha(),
            &producer,
            "default",
            "producer",
            IndexMap::new(),
        )
        .unwrap();
        store.create_service(&service, &plan, &instances).unwrap();
        let (service, plan, instances) = prepare(
            &store,
            &alpha(),
            &consumer,
            "default",
            "consumer",
            IndexMap::new(),
        )
        .unwrap();
        let db = &service.instantiation.nodes[0];
        assert_eq!(db.id, "db-0");
        let from = db.selected_from.as_ref().expect("selected");
        assert_eq!(
            (from.service.as_str(), from.instance.as_str()),
            ("producer", "db-0")
        );
        let ids: Vec<&str> = instances.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["app-0"]);
        assert_eq!(plan.placements.keys().collect::<Vec<_>>(), ["app-0"]);
        // The app read the selected node's value.
        let app = &service.instantiation.nodes[1];
        assert_eq!(
            app.properties["flavour"],
            crate::tosca::instance::Expression::Resolved("fast".into())
        );
    }

    /// The one host these tests deploy on.
    fn alpha() -> Vec<crate::actors::scheduler::Candidate> {
        vec![crate::actors::scheduler::Candidate::with_every_delegate(
            "alpha",
        )]
    }
}
