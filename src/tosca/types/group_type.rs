//! Completing group types: properties, attributes, and `members` (node types; a derived
//! type may only narrow the list).

use super::builder::Builder;
use super::model::{TypeId, TypeKind, TypeRegistry};

/// Completes group type `id` from its parent and its own definition.
pub fn complete(b: &mut Builder<'_, '_>, id: TypeId) {
    let Some((def, mut record)) = b.begin(id, TypeRegistry::group_type) else {
        return;
    };
    record.header = b.reg.header(id).clone();
    record.properties = b.read_own(&def, "properties", record.properties);
    record.attributes = b.read_own(&def, "attributes", record.attributes);
    record.members = b.read_narrowed(&def, "members", TypeKind::Node, record.members);
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
