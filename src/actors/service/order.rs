//! Deployment order: instances grouped in waves, each wave's instances depending only on
//! earlier waves, so a wave can be made real all at once.

use std::collections::HashMap;

use crate::tosca::instance::Instantiation;

/// The instance ids of `instantiation` in waves: wave 0 requires nothing, wave n requires only
/// instances of earlier waves. Relies on the instantiation's nodes coming dependencies first.
pub fn waves(instantiation: &Instantiation) -> Vec<Vec<String>> {
    let mut depth: HashMap<&str, usize> = HashMap::new();
    let mut waves: Vec<Vec<String>> = Vec::new();
    for node in &instantiation.nodes {
        let level = node
            .relationships
            .iter()
            .filter_map(|r| depth.get(r.target.as_str()).map(|d| d + 1))
            .max()
            .unwrap_or(0);
        depth.insert(&node.id, level);
        if waves.len() <= level {
            waves.resize_with(level + 1, Vec::new);
        }
        waves[level].push(node.id.clone());
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::instance::{NodeInstance, RelationshipInstance};
    use indexmap::IndexMap;

    fn node(id: &str, requires: &[&str]) -> NodeInstance {
        NodeInstance {
            id: id.into(),
            template: id.into(),
            index: 0,
            types: Vec::new(),
            properties: IndexMap::new(),
            attributes: IndexMap::new(),
            capabilities: IndexMap::new(),
            relationships: requires
                .iter()
                .map(|target| RelationshipInstance {
                    requirement: "dependency".into(),
                    target: target.to_string(),
                    capability: "feature".into(),
                    index: 0,
                    types: Vec::new(),
                    properties: IndexMap::new(),
                    attributes: IndexMap::new(),
                    interfaces: IndexMap::new(),
                })
                .collect(),
            directives: Vec::new(),
            selected_from: None,
            artifacts: IndexMap::new(),
            interfaces: IndexMap::new(),
        }
    }

    #[test]
    fn dependencies_come_in_earlier_waves() {
        let instantiation = Instantiation {
            nodes: vec![
                node("port", &[]),
                node("dir", &[]),
                node("filler", &["dir"]),
                node("web", &["port", "dir", "filler"]),
            ],
            ..Instantiation::default()
        };
        assert_eq!(
            waves(&instantiation),
            vec![
                vec!["port".to_string(), "dir".to_string()],
                vec!["filler".to_string()],
                vec!["web".to_string()]
            ]
        );
    }
}
