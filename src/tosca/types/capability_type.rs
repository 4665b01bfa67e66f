//! Completing capability types: properties, attributes, and the `valid_source_node_types` and
//! `valid_relationship_types` lists (which a derived type may only narrow).

use super::builder::Builder;
use super::model::{TypeId, TypeKind};
use super::property::Role;

/// Completes capability type `id` from its parent and its own definition.
pub fn complete(b: &mut Builder<'_, '_>, id: TypeId) {
    let Some(def) = b.defs.get(&id).cloned() else {
        return;
    };
    b.read_header_keynames(id);
    let mut record = match b.reg.header(id).parent {
        Some(p) => b.reg.capability_type(p).clone(),
        None => b.reg.capability_type(id).clone(),
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
    if let Some(list) = def.value.get("valid_source_node_types") {
        let path = Builder::path(&def, "valid_source_node_types");
        if let Some(ids) = b.resolve_list(def.file, TypeKind::Node, list, &path) {
            b.check_narrowing(&ids, &record.valid_source_node_types, list, &path);
            record.valid_source_node_types = Some(ids);
        }
    }
    if let Some(list) = def.value.get("valid_relationship_types") {
        let path = Builder::path(&def, "valid_relationship_types");
        if let Some(ids) = b.resolve_list(def.file, TypeKind::Relationship, list, &path) {
            b.check_narrowing(&ids, &record.valid_relationship_types, list, &path);
            record.valid_relationship_types = Some(ids);
        }
    }
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
