//! Instances a service's instances here require on other hosts. Their hosts write their
//! records; the Service actor here reads them every [`super::CHECK_PERIOD`], so that an
//! instance waits for what it requires elsewhere to run (and, during an update, to be made from
//! its new definition) before it is made, and is made again when that moved and reports
//! another address, port or path (see [`crate::actors::node_instance::wiring`]).

use std::sync::Arc;

use crate::actors::node_instance::wiring;
use crate::state::records::{InstanceRecord, InstanceState};
use crate::state::{ServiceView, Store, StoreError};
use crate::tosca::instance::diff::digest;

/// The positions in `view.instances` of the instances on other hosts that those at `mine`
/// require.
pub fn required_elsewhere(view: &ServiceView, host: &str, mine: &[usize]) -> Vec<usize> {
    let mut remote: Vec<usize> = Vec::new();
    for &position in mine {
        let id = &view.instances[position].id;
        let Some(node) = view
            .service
            .instantiation
            .nodes
            .iter()
            .find(|n| &n.id == id)
        else {
            continue;
        };
        for relationship in &node.relationships {
            let target = view
                .instances
                .iter()
                .position(|i| i.id == relationship.target && i.host != host);
            if let Some(target) = target.filter(|t| !remote.contains(t)) {
                remote.push(target);
            }
        }
    }
    remote
}

/// Whether the instance at `position` waits for one it requires on another host (to run, or to
/// be made again by the update under way), and whether
/// it runs with a wiring that is no longer current.
pub fn wiring_state(view: &ServiceView, host: &str, position: usize) -> (bool, bool) {
    let record = &view.instances[position];
    let node = view
        .service
        .instantiation
        .nodes
        .iter()
        .find(|n| n.id == record.id);
    let awaits = node.is_some_and(|node| {
        node.relationships.iter().any(|relationship| {
            view.instances.iter().any(|i| {
                i.id == relationship.target
                    && i.host != host
                    && (i.state != InstanceState::Running || outdated(view, i))
            })
        })
    });
    let stale = !awaits
        && record.state == InstanceState::Running
        && record
            .wired
            .as_ref()
            .is_some_and(|wired| *wired != wiring(view, &record.id));
    (awaits, stale)
}

/// Whether `record`'s workload, on another host, waits to be made again by the update under
/// way (it was made from another definition than its node's now). Unknown is not outdated.
fn outdated(view: &ServiceView, record: &InstanceRecord) -> bool {
    let (Some(_), Some(made_from)) = (&view.service.update, &record.made_from) else {
        return false;
    };
    let nodes = &view.service.instantiation.nodes;
    let node = nodes.iter().find(|node| node.id == record.id);
    node.is_some_and(|node| digest(node) != *made_from)
}

/// The records at `positions` as the store has them now (a record that is gone is left out).
pub fn read(
    store: &Store,
    view: &ServiceView,
    positions: &[usize],
) -> Result<Vec<(usize, Arc<InstanceRecord>)>, StoreError> {
    let (namespace, service) = (&view.service.namespace, &view.service.name);
    let mut read = Vec::new();
    for &position in positions {
        let id = &view.instances[position].id;
        let path = store.layout().instance(namespace, service, id);
        if let Some(record) = store.read::<InstanceRecord>(&path)? {
            read.push((position, Arc::new(record)));
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::state::records::{PlanRecord, ServiceRecord};
    use crate::tosca::instance::{Instantiation, NodeInstance, RelationshipInstance};

    /// `db-0` on `beta`, `app-0` on `alpha` requiring it; `db-0` in `db_state` at `address`,
    /// `app-0` running, made with `wired`.
    fn view(db_state: InstanceState, address: &str, wired: Option<&str>) -> ServiceView {
        let node = |id: &str, requires: Option<&str>| NodeInstance {
            relationships: requires
                .map(|target| RelationshipInstance::bare("db", target))
                .into_iter()
                .collect(),
            ..NodeInstance::bare(id.trim_end_matches("-0"), 0)
        };
        let record = |id: &str, host: &str, state, address: &str, wired: Option<&str>| {
            let mut attributes = serde_json::Map::new();
            attributes.insert("address".into(), address.into());
            Arc::new(InstanceRecord {
                state,
                attributes,
                wired: wired.map(str::to_owned),
                ..InstanceRecord::pending(id, id.trim_end_matches("-0"), host, "now")
            })
        };
        let service = ServiceRecord::sample(
            "shop",
            Instantiation {
                nodes: vec![node("db-0", None), node("app-0", Some("db-0"))],
                ..Instantiation::default()
            },
        );
        ServiceView {
            service: Arc::new(service),
            plan: Arc::new(PlanRecord::default()),
            instances: vec![
                record("db-0", "beta", db_state, address, None),
                record("app-0", "alpha", InstanceState::Running, "", wired),
            ],
        }
    }

    #[test]
    fn what_an_instance_here_requires_elsewhere_is_found_by_position() {
        let seen = view(InstanceState::Running, "10.0.0.2", None);
        assert_eq!(required_elsewhere(&seen, "alpha", &[1]), vec![0]);
        assert!(required_elsewhere(&seen, "beta", &[0]).is_empty());
    }

    #[test]
    fn an_instance_waits_for_what_it_requires_elsewhere_and_is_made_again_when_it_moved() {
        let made_with = wiring(&view(InstanceState::Running, "10.0.0.2", None), "app-0");
        assert!(made_with.contains("10.0.0.2"), "{made_with}");
        let cases = [
            (InstanceState::Pending, "", None, (true, false)),
            (
                InstanceState::Running,
                "10.0.0.2",
                Some(&*made_with),
                (false, false),
            ),
            (
                InstanceState::Running,
                "10.0.0.3",
                Some(&*made_with),
                (false, true),
            ),
            // Moved, not yet running on its new host: wait, then make it again.
            (
                InstanceState::Pending,
                "10.0.0.2",
                Some(&*made_with),
                (true, false),
            ),
            // Made before wirings were recorded: never made again for it.
            (InstanceState::Running, "10.0.0.3", None, (false, false)),
        ];
        for (db_state, address, wired, expected) in cases {
            let seen = view(db_state, address, wired);
            assert_eq!(
                wiring_state(&seen, "alpha", 1),
                expected,
                "{db_state:?} at {address:?}, made with {wired:?}"
            );
        }
    }
}
