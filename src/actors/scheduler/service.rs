//! A service's instances as the scheduler sees them: templates with counts and delegates, and
//! instances that must share a host with the host-local resources they use.

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::delegates::profile::types;
use crate::delegates::protocol::{delegate_for, is_a};
use crate::tosca::instance::{Instantiation, NodeInstance};

use super::placement::Unit;

/// Whether an instance of these types is a resource of the host it is made on (a reserved
/// port, a local directory): whoever uses it runs on that host. A networked directory is not:
/// it is mounted on whichever host its users run.
fn host_local(types: &[crate::tosca::instance::TypeRef]) -> bool {
    [types::PORT, types::IP_ENDPOINT, types::LOCAL_DIRECTORY]
        .into_iter()
        .any(|name| is_a(types, name))
}

/// The instances this service runs itself (not those selected from other services).
fn own(instantiation: &Instantiation) -> impl Iterator<Item = &NodeInstance> {
    instantiation
        .nodes
        .iter()
        .filter(|node| node.selected_from.is_none())
}

/// Each template's instance count and the delegate its type needs, in template order.
pub fn templates(
    instantiation: &Instantiation,
) -> (IndexMap<String, u32>, IndexMap<String, Option<String>>) {
    let (mut counts, mut delegates) = (IndexMap::new(), IndexMap::new());
    for node in own(instantiation) {
        *counts.entry(node.template.clone()).or_insert(0) += 1;
        delegates
            .entry(node.template.clone())
            .or_insert_with(|| delegate_for(&node.types).map(|kind| kind.name().to_owned()));
    }
    (counts, delegates)
}

/// The instances to place, dependencies first, each with the host-local resources it uses.
pub fn units(instantiation: &Instantiation) -> Vec<Unit> {
    let nodes: HashMap<&str, &NodeInstance> = instantiation
        .nodes
        .iter()
        .map(|node| (node.id.as_str(), node))
        .collect();
    own(instantiation)
        .map(|node| Unit {
            id: node.id.clone(),
            template: node.template.clone(),
            index: node.index,
            delegate: delegate_for(&node.types).map(|kind| kind.name().to_owned()),
            local_to: node
                .relationships
                .iter()
                .filter(|r| {
                    is_a(&r.types, types::HOSTED_ON)
                        || nodes
                            .get(r.target.as_str())
                            .is_some_and(|t| t.selected_from.is_none() && host_local(&t.types))
                })
                .map(|r| r.target.clone())
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::instance::model::{RelationshipInstance, TypeRef};

    fn node(id: &str, kind: &str, uses: &[&str]) -> NodeInstance {
        let (template, index) = id.rsplit_once('-').unwrap();
        let relationships = uses
            .iter()
            .map(|target| RelationshipInstance {
                types: vec![TypeRef::khutulun(types::ATTACHES_TO)],
                ..RelationshipInstance::bare("storage", target)
            })
            .collect();
        NodeInstance {
            types: vec![TypeRef::khutulun(kind)],
            relationships,
            ..NodeInstance::bare(template, index.parse().unwrap())
        }
    }

    #[test]
    fn a_local_directory_binds_its_users_to_its_host_and_a_networked_one_does_not() {
        let instantiation = Instantiation {
            nodes: vec![
                node("local-0", types::LOCAL_DIRECTORY, &[]),
                node("share-0", types::NETWORK_DIRECTORY, &[]),
                node("app-0", types::PROCESS, &["local-0", "share-0"]),
                node("app-1", types::PROCESS, &["share-0"]),
            ],
            ..Instantiation::default()
        };
        let local_to: Vec<(String, Vec<String>)> = units(&instantiation)
            .into_iter()
            .map(|unit| (unit.id, unit.local_to))
            .collect();
        assert_eq!(
            local_to,
            [
                ("local-0".to_owned(), vec![]),
                ("share-0".to_owned(), vec![]),
                ("app-0".to_owned(), vec!["local-0".to_owned()]),
                ("app-1".to_owned(), vec![]),
            ]
        );
    }
}
