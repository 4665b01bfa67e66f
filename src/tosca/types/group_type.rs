//! Completing group types: properties, attributes, and `members` (node types; a derived
//! type may only narrow the list).

use super::builder::Builder;
use super::model::{TypeId, TypeKind};
use super::property::Role;

/// Completes group type `id` from its parent and its own definition.
pub fn complete(b: &mut Builder<'_, '_>, id: TypeId) {
    let Some(def) = b.defs.get(&id).cloned() else {
        return;
    };
    b.read_header_keynames(id);
    let mut record = match b.reg.header(id).parent {
        Some(p) => b.reg.group_type(p).clone(),
        None => b.reg.group_type(id).clone(),
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
    if let Some(list) = def.value.get("members") {
        let path = Builder::path(&def, "members");
        if let Some(ids) = b.resolve_list(def.file, TypeKind::Node, list, &path) {
            b.check_narrowing(&ids, &record.members, list, &path);
            record.members = Some(ids);
        }
    }
    b.reg.group[id.index as usize] = record;
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn members_are_node_types_and_only_narrow() {
        let base = "node_types:\n  Compute: {}\n  Storage: {}\n  Block: {derived_from: Storage}\n  Lb: {}\ngroup_types:\n  R:\n    members: [Compute, Storage]\n";
        let registry = assert_valid(&format!(
            "{base}  S:\n    derived_from: R\n    members: [Block]\n"
        ));
        let s = registry.group_type(id(&registry, TypeKind::Group, "S"));
        assert_eq!(
            s.members,
            Some(vec![id(&registry, TypeKind::Node, "Block")])
        );
        assert_problem(
            &format!("{base}  S:\n    derived_from: R\n    members: [Lb]\n"),
            "invalid-refinement",
        );
        assert_problem("group_types:\n  '': 1.0\n", "invalid-name");
    }
}
