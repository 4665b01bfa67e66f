//! Capability definitions on node types: a capability type (short form: just its name), with
//! refinements of the properties and attributes that type declares (no new ones), and
//! `valid_*` lists that may only narrow the type's. A definition with the name of an
//! inherited one refines it: its type must be the same or derived.

use indexmap::IndexMap;

use super::builder::Builder;
use super::model::{CapabilityDef, TypeKind};
use super::property::{Role, text};
use crate::tosca::grammar::shape::join;
use crate::tosca::source::FileId;
use crate::tosca::value::Value;

impl Builder<'_, '_> {
    /// Reads a node type's `capabilities` on top of the inherited ones.
    pub fn read_capabilities(
        &mut self,
        file: FileId,
        section: Option<&Value>,
        inherited: IndexMap<String, CapabilityDef>,
        path: &str,
    ) -> IndexMap<String, CapabilityDef> {
        self.read_over(section, inherited, path, |b, e| {
            b.read_capability(file, e.name, e.value, e.parent.as_ref(), &e.path)
        })
    }

    fn read_capability(
        &mut self,
        file: FileId,
        name: &str,
        value: &Value,
        parent: Option<&CapabilityDef>,
        path: &str,
    ) -> Option<CapabilityDef> {
        let (type_value, map) = match value.as_map() {
            Some(_) => (value.get("type"), Some(value)),
            None => (Some(value), None),
        };
        let capability_type = match type_value {
            Some(t) => {
                let id = self.resolve(file, TypeKind::Capability, t, &join(path, "type"))?;
                if let Some(parent) = parent
                    && !self.reg.derives_from(id, parent.capability_type)
                {
                    self.report(
                        "invalid-refinement",
                        t.span,
                        &join(path, "type"),
                        format!(
                            "a refinement may only keep the capability type `{}` or use one derived from it",
                            self.reg.header(parent.capability_type).name
                        ),
                    );
                }
                id
            }
            None => match parent {
                Some(p) => p.capability_type,
                None => {
                    self.report(
                        "missing-keyname",
                        value.span,
                        path,
                        format!("the capability definition `{name}` must have the keyname `type`"),
                    );
                    return None;
                }
            },
        };
        let declared = self.reg.capability_type(capability_type).clone();
        let mut def = match parent {
            Some(p) => p.clone(),
            None => CapabilityDef {
                name: name.to_string(),
                span: value.span,
                capability_type,
                description: None,
                properties: declared.properties.clone(),
                attributes: declared.attributes.clone(),
                valid_source_node_types: declared.valid_source_node_types.clone(),
                valid_relationship_types: declared.valid_relationship_types.clone(),
            },
        };
        for (k, p) in &declared.properties {
            def.properties.entry(k.clone()).or_insert_with(|| p.clone());
        }
        for (k, a) in &declared.attributes {
            def.attributes.entry(k.clone()).or_insert_with(|| a.clone());
        }
        def.span = value.span;
        def.capability_type = capability_type;
        let Some(map) = map else {
            return Some(def);
        };
        if let Some(d) = text(map, "description") {
            def.description = Some(d);
        }
        def.properties = self.read_properties(
            file,
            map.get("properties"),
            def.properties,
            Role::Property,
            &join(path, "properties"),
            false,
        );
        def.attributes = self.read_properties(
            file,
            map.get("attributes"),
            def.attributes,
            Role::Attribute,
            &join(path, "attributes"),
            false,
        );
        for (key, kind) in [
            ("valid_source_node_types", TypeKind::Node),
            ("valid_relationship_types", TypeKind::Relationship),
        ] {
            if let Some(list) = map.get(key) {
                let key_path = join(path, key);
                if let Some(ids) = self.resolve_list(file, kind, list, &key_path) {
                    let inherited = if key == "valid_source_node_types" {
                        def.valid_source_node_types.clone()
                    } else {
                        def.valid_relationship_types.clone()
                    };
                    self.check_narrowing(&ids, &inherited, list, &key_path);
                    if key == "valid_source_node_types" {
                        def.valid_source_node_types = Some(ids);
                    } else {
                        def.valid_relationship_types = Some(ids);
                    }
                }
            }
        }
        Some(def)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const TYPES: &str = "capability_types:\n  Endpoint:\n    properties:\n      port: {type: integer, required: false}\n    valid_source_node_types: [Client]\n  Secure:\n    derived_from: Endpoint\nnode_types:\n  Client: {}\n  Special:\n    derived_from: Client\n  Other: {}\n";

    #[test]
    fn short_and_long_forms() {
        let registry = assert_valid(&format!(
            "{TYPES}  Server:\n    capabilities:\n      a: Endpoint\n      b:\n        type: Endpoint\n        properties:\n          port: {{default: 80}}\n        valid_source_node_types: [Special]\n"
        ));
        let server = registry.node_type(id(&registry, TypeKind::Node, "Server"));
        assert!(server.capabilities["a"].properties.contains_key("port"));
        assert_eq!(
            server.capabilities["b"].properties["port"]
                .default
                .as_ref()
                .and_then(Value::as_i64),
            Some(80)
        );
    }

    #[test]
    fn refinements_keep_to_the_type() {
        assert_problem(
            &format!(
                "{TYPES}  S:\n    capabilities:\n      a:\n        type: Endpoint\n        properties:\n          extra: {{type: string}}\n"
            ),
            "undeclared",
        );
        assert_problem(
            &format!(
                "{TYPES}  S:\n    capabilities:\n      a:\n        type: Endpoint\n        valid_source_node_types: [Other]\n"
            ),
            "invalid-refinement",
        );
        assert_problem(
            &format!(
                "{TYPES}  A:\n    capabilities:\n      c: Secure\n  B:\n    derived_from: A\n    capabilities:\n      c: Endpoint\n"
            ),
            "invalid-refinement",
        );
        assert_valid(&format!(
            "{TYPES}  A:\n    capabilities:\n      c: Endpoint\n  B:\n    derived_from: A\n    capabilities:\n      c:\n        description: refined\n"
        ));
    }
}
