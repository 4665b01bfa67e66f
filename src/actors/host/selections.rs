//! Which deployed services select (`select` directive, `selected_from`) a service's node
//! instances: such a service cannot be deleted without leaving them pointing at nothing.

use crate::control::protocol::Selection;
use crate::state::Store;
use crate::state::records::{ServicePhase, ServiceRecord};

use super::super::RuntimeError;

/// The node instances of `namespace`'s other services that select one of `service`'s, in the
/// store's order (`select` only picks from the same namespace).
pub fn selecting(
    store: &Store,
    namespace: &str,
    service: &str,
) -> Result<Vec<Selection>, RuntimeError> {
    let mut found = Vec::new();
    for (ns, name) in store.list_services()? {
        if ns != namespace || name == service {
            continue;
        }
        // An unreadable service cannot be asked; it must not block deleting another one.
        let record = match store.service_record(&ns, &name) {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(service = %name, %error, "skipping an unreadable service");
                continue;
            }
        };
        for node in &record.instantiation.nodes {
            if let Some(from) = &node.selected_from
                && from.service == service
            {
                found.push(Selection {
                    service: name.clone(),
                    instance: node.id.clone(),
                    selects: from.instance.clone(),
                });
            }
        }
    }
    Ok(found)
}

/// Refuses a compiled `service` that selects a node of a service which is no longer deployed
/// (it was compiled beside the Host, and the other may have been deleted meanwhile).
pub fn check_still_deployed(store: &Store, service: &ServiceRecord) -> Result<(), RuntimeError> {
    for node in &service.instantiation.nodes {
        let Some(from) = &node.selected_from else {
            continue;
        };
        let selected = store.service_record(&service.namespace, &from.service)?;
        if selected.is_none_or(|record| record.phase != ServicePhase::Active) {
            return Err(RuntimeError::NotFound(format!(
                "{} selects {} of service {}, which is being deleted or gone; deploy it again",
                node.id, from.instance, from.service
            )));
        }
    }
    Ok(())
}

/// Why `service` may not be deleted while `selections` point at it.
pub fn refusal(service: &str, selections: &[Selection]) -> RuntimeError {
    let mut services: Vec<&str> = selections.iter().map(|s| s.service.as_str()).collect();
    services.dedup();
    let list: Vec<String> = selections.iter().map(ToString::to_string).collect();
    let (who, verb, pronoun) = if services.len() == 1 {
        ("service", "selects", "it")
    } else {
        ("services", "select", "them")
    };
    RuntimeError::InUse(format!(
        "service {service} cannot be deleted while {who} {} {verb} its node instances: {}; \
         delete {pronoun} first, or use --force to leave them pointing at nothing",
        services.join(", "),
        list.join(", "),
    ))
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;
    use crate::actors::host::deploy_records_for_tests as prepare;

    const TYPES: &str = "tosca_definitions_version: tosca_2_0
node_types:
  Database:
    properties:
      flavour: { type: string }
";

    #[test]
    fn the_services_selecting_a_producers_instances_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("state")).unwrap();
        std::fs::write(dir.path().join("types.yaml"), TYPES).unwrap();
        let write = |name: &str, body: &str| {
            let path = dir.path().join(name);
            std::fs::write(
                &path,
                format!("tosca_definitions_version: tosca_2_0\nimports: [types.yaml]\nservice_template:\n  node_templates:\n{body}"),
            )
            .unwrap();
            path.display().to_string()
        };
        let producer = write(
            "producer.yaml",
            "    db:\n      type: Database\n      properties: { flavour: fast }\n",
        );
        let consumer = write(
            "consumer.yaml",
            "    mine:\n      type: Database\n      directives: [ select ]\n",
        );
        let deploy = |template: &str, name: &str| {
            let (service, plan, instances) =
                prepare(&store, &alpha(), template, "default", name, IndexMap::new()).unwrap();
            store.create_service(&service, &plan, &instances).unwrap();
        };
        deploy(&producer, "producer");
        assert_eq!(selecting(&store, "default", "producer").unwrap(), []);
        deploy(&consumer, "first");
        deploy(&consumer, "second");
        let found = selecting(&store, "default", "producer").unwrap();
        let expected = |service: &str| Selection {
            service: service.into(),
            instance: "mine-0".into(),
            selects: "db-0".into(),
        };
        assert_eq!(found, [expected("first"), expected("second")]);
        // A consumer selects nothing of its own kind here; the other namespace is not asked.
        assert_eq!(selecting(&store, "default", "first").unwrap(), []);
        assert_eq!(selecting(&store, "other", "producer").unwrap(), []);
        let message = refusal("producer", &found).to_string();
        assert!(
            message.contains("services first, second select")
                && message.contains("mine-0 of first (selecting db-0)"),
            "{message}"
        );
    }

    /// The one host these tests deploy on.
    fn alpha() -> Vec<crate::actors::scheduler::Candidate> {
        vec![crate::actors::scheduler::Candidate::with_every_delegate(
            "alpha",
        )]
    }
}
