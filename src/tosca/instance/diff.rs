//! What an update of a service would change: the difference between the instantiation that
//! runs and a new one, instance by instance (by id). `service plan` prints it; an update
//! applies only it, so an unchanged instance keeps its process, ports and paths.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::{Instantiation, NodeInstance};

/// The difference between two instantiations of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstantiationDiff {
    /// Instances only the new one has, in its order (every one after those it requires).
    pub added: Vec<String>,
    /// Instances that differ, in the new one's order, each with what differs.
    pub changed: Vec<ChangedInstance>,
    /// Instances only the old one has, in its order.
    pub removed: Vec<String>,
    /// How many instances are the same in both.
    pub unchanged: usize,
}

/// An instance both instantiations have, and where they differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedInstance {
    /// Its id.
    pub id: String,
    /// What differs: `types`, `properties.<name>`, `relationships`, `interfaces`, …
    pub fields: Vec<String>,
}

impl InstantiationDiff {
    /// Whether the new instantiation is the old one.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// What turning `old` into `new` adds, changes and removes.
pub fn diff(old: &Instantiation, new: &Instantiation) -> InstantiationDiff {
    let old_nodes: IndexMap<&str, &NodeInstance> =
        old.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let new_ids: std::collections::HashSet<&str> =
        new.nodes.iter().map(|n| n.id.as_str()).collect();
    let mut diff = InstantiationDiff::default();
    for node in &new.nodes {
        match old_nodes.get(node.id.as_str()) {
            None => diff.added.push(node.id.clone()),
            Some(before) => {
                let fields = differing_fields(before, node);
                if fields.is_empty() {
                    diff.unchanged += 1;
                } else {
                    diff.changed.push(ChangedInstance {
                        id: node.id.clone(),
                        fields,
                    });
                }
            }
        }
    }
    diff.removed = (old.nodes.iter())
        .filter(|n| !new_ids.contains(n.id.as_str()))
        .map(|n| n.id.clone())
        .collect();
    diff
}

/// A digest of a node instance's definition, recorded with the workload made from it: an
/// update makes again exactly the instances whose digest changed, which are those [`diff`]
/// finds changed (it compares every field but the id and what the id implies).
pub fn digest(node: &NodeInstance) -> String {
    let definition = serde_json::to_vec(node).unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, &definition);
    super::checksum::hex(&digest.as_ref()[..16])
}

/// The fields in which two versions of one instance differ; properties by name.
pub fn differing_fields(old: &NodeInstance, new: &NodeInstance) -> Vec<String> {
    let mut fields = Vec::new();
    if old.types != new.types {
        fields.push("types".to_owned());
    }
    fields.extend(changed_keys(&old.properties, &new.properties, "properties"));
    // Every property is reflected as an attribute too: named once, as a property.
    let reflected = |field: &String| {
        let name = field.trim_start_matches("attributes.");
        old.properties.contains_key(name) || new.properties.contains_key(name)
    };
    let attributes = changed_keys(&old.attributes, &new.attributes, "attributes");
    fields.extend(attributes.into_iter().filter(|field| !reflected(field)));
    let wholes = [
        ("capabilities", old.capabilities != new.capabilities),
        ("relationships", old.relationships != new.relationships),
        ("directives", old.directives != new.directives),
        ("selected_from", old.selected_from != new.selected_from),
        ("artifacts", old.artifacts != new.artifacts),
        ("interfaces", old.interfaces != new.interfaces),
    ];
    let differing = wholes.into_iter().filter(|(_, differs)| *differs);
    fields.extend(differing.map(|(name, _)| name.to_owned()));
    fields
}

/// `<prefix>.<key>` for each key whose value differs (or that only one map has), in the new
/// map's order, then the removed ones.
fn changed_keys<V: PartialEq>(
    old: &IndexMap<String, V>,
    new: &IndexMap<String, V>,
    prefix: &str,
) -> Vec<String> {
    let changed = new
        .iter()
        .filter(|(key, value)| old.get(*key) != Some(*value));
    let removed = old.keys().filter(|key| !new.contains_key(*key));
    changed
        .map(|(key, _)| key)
        .chain(removed)
        .map(|key| format!("{prefix}.{key}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::instance::Expression;

    fn node(id: &str, command: &str) -> NodeInstance {
        let mut node = NodeInstance::bare(id.trim_end_matches("-0"), 0);
        node.properties.insert(
            "command".into(),
            Expression::Resolved(serde_json::Value::from(command)),
        );
        node
    }

    fn of(nodes: Vec<NodeInstance>) -> Instantiation {
        Instantiation {
            nodes,
            ..Instantiation::default()
        }
    }

    #[test]
    fn the_digest_changes_exactly_when_the_diff_finds_a_change() {
        let old = of(vec![node("web-0", "serve"), node("db-0", "store")]);
        let new = of(vec![node("web-0", "serve --fast"), node("db-0", "store")]);
        let found = diff(&old, &new);
        for (before, after) in old.nodes.iter().zip(&new.nodes) {
            let changed = found.changed.iter().any(|c| c.id == after.id);
            assert_eq!(digest(before) != digest(after), changed, "{}", after.id);
        }
        assert_eq!(digest(&old.nodes[1]), digest(&old.nodes[1].clone()));
    }

    #[test]
    fn the_same_instantiation_differs_in_nothing() {
        let old = of(vec![node("web-0", "serve"), node("db-0", "store")]);
        let diff = diff(&old, &old.clone());
        assert!(diff.is_empty());
        assert_eq!(diff.unchanged, 2);
    }

    #[test]
    fn instances_are_added_changed_and_removed_by_id() {
        let old = of(vec![node("db-0", "store"), node("web-0", "serve")]);
        let mut web = node("web-0", "serve --fast");
        web.properties.insert(
            "arguments".into(),
            Expression::Resolved(serde_json::json!(["-v"])),
        );
        let new = of(vec![node("cache-0", "remember"), web]);
        let diff = diff(&old, &new);
        assert_eq!(diff.added, ["cache-0"]);
        assert_eq!(diff.removed, ["db-0"]);
        assert_eq!(
            diff.changed,
            [ChangedInstance {
                id: "web-0".into(),
                fields: vec!["properties.command".into(), "properties.arguments".into()],
            }]
        );
        assert_eq!(diff.unchanged, 0);
    }

    #[test]
    fn a_property_reflected_as_an_attribute_is_named_once() {
        let reflecting = |command: &str| {
            let mut node = node("web-0", command);
            let value = Expression::Resolved(serde_json::Value::from(command));
            node.attributes.insert("command".into(), value);
            node.attributes.insert(
                "colour".into(),
                Expression::Resolved(serde_json::Value::from(command.len())),
            );
            node
        };
        let old = of(vec![reflecting("serve")]);
        let diff = diff(&old, &of(vec![reflecting("serve --fast")]));
        assert_eq!(
            diff.changed[0].fields,
            ["properties.command", "attributes.colour"]
        );
    }

    #[test]
    fn a_removed_property_and_a_new_relationship_are_changes() {
        let old = of(vec![node("web-0", "serve")]);
        let mut web = NodeInstance::bare("web", 0);
        web.relationships
            .push(crate::tosca::instance::RelationshipInstance::bare(
                "db", "db-0",
            ));
        let diff = diff(&old, &of(vec![web]));
        assert_eq!(
            diff.changed[0].fields,
            ["properties.command", "relationships"]
        );
    }
}
