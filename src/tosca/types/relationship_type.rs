//! Completing relationship types: properties, attributes, interfaces and the three `valid_*`
//! lists (which a derived type may only narrow).

use super::builder::Builder;
use super::model::{TypeId, TypeKind};
use super::property::Role;

/// Completes relationship type `id` from its parent and its own definition.
pub fn complete(b: &mut Builder<'_, '_>, id: TypeId) {
    let Some(def) = b.defs.get(&id).cloned() else {
        return;
    };
    b.read_header_keynames(id);
    let mut record = match b.reg.header(id).parent {
        Some(p) => b.reg.relationship_type(p).clone(),
        None => b.reg.relationship_type(id).clone(),
    };
    record.header = b.reg.header(id).clone();
    record.properties = b.read_properties(
        def.file,
        def.value.get("properties"),
        record.properties,
        Role::Property,
        &Builder::path(&def, "properties"),
        true,
    );
    record.attributes = b.read_properties(
        def.file,
        def.value.get("attributes"),
        record.attributes,
        Role::Attribute,
        &Builder::path(&def, "attributes"),
        true,
    );
    record.interfaces = b.read_interfaces(
        def.file,
        def.value.get("interfaces"),
        record.interfaces,
        &Builder::path(&def, "interfaces"),
    );
    for (key, kind) in [
        ("valid_capability_types", TypeKind::Capability),
        ("valid_target_node_types", TypeKind::Node),
        ("valid_source_node_types", TypeKind::Node),
    ] {
        let Some(list) = def.value.get(key) else {
            continue;
        };
        let path = Builder::path(&def, key);
        let Some(ids) = b.resolve_list(def.file, kind, list, &path) else {
            continue;
        };
        let slot = match key {
            "valid_capability_types" => &mut record.valid_capability_types,
            "valid_target_node_types" => &mut record.valid_target_node_types,
            _ => &mut record.valid_source_node_types,
        };
        let inherited = slot.clone();
        *slot = Some(ids.clone());
        b.check_narrowing(&ids, &inherited, list, &path);
    }
    b.reg.relationship[id.index as usize] = record;
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn inherits_properties_and_valid_lists() {
        let registry = assert_valid(
            "capability_types:\n  Host: {}\nrelationship_types:\n  HostedOn:\n    properties:\n      p: {type: string, required: false}\n    valid_capability_types: [Host]\n  Mine:\n    derived_from: HostedOn\n    properties:\n      q: {type: integer, required: false}\n",
        );
        let mine = registry.relationship_type(id(&registry, TypeKind::Relationship, "Mine"));
        assert_eq!(mine.properties.keys().collect::<Vec<_>>(), ["p", "q"]);
        assert_eq!(
            mine.valid_capability_types,
            Some(vec![id(&registry, TypeKind::Capability, "Host")])
        );
    }

    #[test]
    fn names_must_be_strings() {
        assert_problem(
            "relationship_types:\n  1.0:\n    properties: {}\n",
            "invalid-name",
        );
        assert_problem("relationship_types:\nnode_types: {}\n", "wrong-shape");
    }
}
