//! Builders for the delegates' unit tests: an instance spec and a fulfilled requirement, with
//! the fields no test looks at filled in the same way everywhere.

use serde_json::Value;

use super::protocol::{Dependency, InstanceSpec, TypeRef};

/// Instance `instance` (`<node>-<n>`) of `service`, of the Khutulun type `node_type`.
pub fn spec(
    service: &str,
    instance: &str,
    node_type: &str,
    properties: Value,
    requirements: Vec<Dependency>,
) -> InstanceSpec {
    let node = instance.rsplit_once('-').map_or(instance, |(node, _)| node);
    InstanceSpec {
        namespace: "default".into(),
        service: service.into(),
        instance: instance.into(),
        node: node.into(),
        types: vec![TypeRef::khutulun(node_type)],
        properties: properties.as_object().cloned().unwrap_or_default(),
        requirements,
        state_dir: format!("/var/lib/khutulun-test/{service}/{instance}").into(),
        artifacts: Default::default(),
    }
}

/// The requirement `requirement`, fulfilled by `<requirement>-0` of the Khutulun types
/// `target_types` (most derived first) reporting `attributes`, through a relationship with
/// the properties `relationship`.
pub fn dependency(
    requirement: &str,
    target_types: &[&str],
    attributes: Value,
    relationship: Value,
) -> Dependency {
    Dependency {
        requirement: requirement.into(),
        target: format!("{requirement}-0"),
        target_node: requirement.into(),
        target_types: target_types.iter().map(|t| TypeRef::khutulun(t)).collect(),
        target_attributes: attributes.as_object().cloned().unwrap_or_default(),
        relationship_types: Vec::new(),
        relationship_properties: relationship.as_object().cloned().unwrap_or_default(),
    }
}

/// Instance `db-0` of service `shop`, a `SystemContainer` (the nspawn and distrobox tests').
pub fn system_container(properties: Value, requirements: Vec<Dependency>) -> InstanceSpec {
    spec(
        "shop",
        "db-0",
        super::profile::types::SYSTEM_CONTAINER,
        properties,
        requirements,
    )
}
