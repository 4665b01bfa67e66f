//! Completing relationship types: properties, attributes, interfaces and the three `valid_*`
//! lists (which a derived type may only narrow).

use super::builder::Builder;
use super::model::{TypeId, TypeKind, TypeRegistry};

/// Completes relationship type `id` from its parent and its own definition.
pub fn complete(b: &mut Builder<'_, '_>, id: TypeId) {
    let Some((def, mut record)) = b.begin(id, TypeRegistry::relationship_type) else {
        return;
    };
    record.header = b.reg.header(id).clone();
    record.properties = b.read_own(&def, "properties", record.properties);
    record.attributes = b.read_own(&def, "attributes", record.attributes);
    record.interfaces = b.read_interfaces(
        def.file,
        def.value.get("interfaces"),
        record.interfaces,
        &Builder::path(&def, "interfaces"),
    );
    record.valid_capability_types = b.read_narrowed(
        &def,
        "valid_capability_types",
        TypeKind::Capability,
        record.valid_capability_types,
    );
    record.valid_target_node_types = b.read_narrowed(
        &def,
        "valid_target_node_types",
        TypeKind::Node,
        record.valid_target_node_types,
    );
    record.valid_source_node_types = b.read_narrowed(
        &def,
        "valid_source_node_types",
        TypeKind::Node,
        record.valid_source_node_types,
    );
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
