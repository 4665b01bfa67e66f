//! Completing node types: properties, attributes, capabilities, requirements (ordered),
//! interfaces and artifacts, each inherited from the parent and then augmented or refined.

use super::builder::Builder;
use super::model::{TypeId, TypeRegistry};

/// Completes node type `id` from its parent and its own definition.
pub fn complete(b: &mut Builder<'_, '_>, id: TypeId) {
    let Some((def, mut record)) = b.begin(id, TypeRegistry::node_type) else {
        return;
    };
    record.header = b.reg.header(id).clone();
    let file = def.file;
    let v = def.value;
    record.properties = b.read_own(&def, "properties", record.properties);
    record.attributes = b.read_own(&def, "attributes", record.attributes);
    record.capabilities = b.read_capabilities(
        file,
        v.get("capabilities"),
        record.capabilities,
        &Builder::path(&def, "capabilities"),
    );
    record.requirements = b.read_requirements(
        file,
        v.get("requirements"),
        record.requirements,
        &Builder::path(&def, "requirements"),
    );
    record.interfaces = b.read_interfaces(
        file,
        v.get("interfaces"),
        record.interfaces,
        &Builder::path(&def, "interfaces"),
    );
    record.artifacts = b.read_artifacts(
        file,
        v.get("artifacts"),
        record.artifacts,
        &Builder::path(&def, "artifacts"),
    );
    b.reg.node[id.index as usize] = record;
}

#[cfg(test)]
mod tests {
    use super::super::model::TypeKind;
    use super::super::testing::*;

    #[test]
    fn a_node_type_with_every_keyname() {
        let registry = assert_valid(
            "capability_types:\n  Db: {}\n  Mon: {}\nrelationship_types:\n  ConnectsTo: {}\nartifact_types:\n  Image: {}\ninterface_types:\n  Standard:\n    operations:\n      create: {}\nnode_types:\n  Database:\n    capabilities:\n      db: Db\n  Base: {}\n  App:\n    derived_from: Base\n    version: 1.0.0\n    metadata: {author: me}\n    description: an app\n    properties:\n      password: {type: string, default: secret12345, validation: {$greater_or_equal: [{$length: [$value]}, 10]}}\n    attributes:\n      status: {type: string}\n    capabilities:\n      mon: {type: Mon}\n    requirements:\n      - db: {capability: Db, node: Database, relationship: ConnectsTo}\n    interfaces:\n      Standard: {type: Standard}\n    artifacts:\n      image: {type: Image, file: app.tar}\n",
        );
        let app = registry.node_type(id(&registry, TypeKind::Node, "App"));
        assert_eq!(app.header.version.as_deref(), Some("1.0.0"));
        assert_eq!(app.requirements.len(), 1);
        assert!(app.interfaces["Standard"].operations.contains_key("create"));
        assert!(app.artifacts.contains_key("image"));
    }

    #[test]
    fn wrong_shapes_of_sections() {
        assert_problem(
            "node_types:\n  A:\n    attributes:\n      - a:\n          type: integer\n",
            "wrong-shape",
        );
        assert_problem(
            "node_types:\n  A:\n    requirements:\n      r:\n        capability: C\n",
            "wrong-shape",
        );
        assert_problem("node_types:\n  '': null\n", "invalid-name");
    }
}
