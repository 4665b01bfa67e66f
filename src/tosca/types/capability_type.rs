//! Completing capability types: properties, attributes, and the `valid_source_node_types` and
//! `valid_relationship_types` lists (which a derived type may only narrow).

use super::builder::Builder;
use super::model::{TypeId, TypeKind, TypeRegistry};

/// Completes capability type `id` from its parent and its own definition.
pub fn complete(b: &mut Builder<'_, '_>, id: TypeId) {
    let Some((def, mut record)) = b.begin(id, TypeRegistry::capability_type) else {
        return;
    };
    record.header = b.reg.header(id).clone();
    record.properties = b.read_own(&def, "properties", record.properties);
    record.attributes = b.read_own(&def, "attributes", record.attributes);
    record.valid_source_node_types = b.read_narrowed(
        &def,
        "valid_source_node_types",
        TypeKind::Node,
        record.valid_source_node_types,
    );
    record.valid_relationship_types = b.read_narrowed(
        &def,
        "valid_relationship_types",
        TypeKind::Relationship,
        record.valid_relationship_types,
    );
    b.reg.capability[id.index as usize] = record;
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn valid_lists_resolve_and_only_narrow() {
        let base = "node_types:\n  A: {}\n  B: {derived_from: A}\n  C: {}\ncapability_types:\n  Cap:\n    valid_source_node_types: [A]\n";
        let registry = assert_valid(&format!(
            "{base}  Sub:\n    derived_from: Cap\n    valid_source_node_types: [B]\n"
        ));
        let sub = registry.capability_type(id(&registry, TypeKind::Capability, "Sub"));
        assert_eq!(
            sub.valid_source_node_types,
            Some(vec![id(&registry, TypeKind::Node, "B")])
        );
        assert_problem(
            &format!("{base}  Sub:\n    derived_from: Cap\n    valid_source_node_types: [C]\n"),
            "invalid-refinement",
        );
        assert_problem(
            "capability_types:\n  Cap:\n    valid_relationship_types: [Nope]\n",
            "unknown-type",
        );
    }

    #[test]
    fn properties_must_be_a_map() {
        assert_problem(
            "capability_types:\n  Cap:\n    properties:\n      - a:\n        type: string\n",
            "wrong-shape",
        );
        assert_problem("capability_types: 1\n", "wrong-shape");
    }
}
