//! Interface definitions (on node and relationship types, and in requirement relationship
//! refinements) and the operation and notification definitions inside them and inside
//! interface types.
//!
//! An interface definition names an interface type and refines what it declares: its inputs
//! (new inputs may be added), and the operations and notifications the type declares (new
//! ones may not be added here). Implementations belong to definitions, never to interface
//! types.

use indexmap::IndexMap;

use super::builder::Builder;
use super::model::{InterfaceDef, OperationDef, TypeKind};
use super::property::text;
use crate::tosca::grammar::shape::join;
use crate::tosca::source::FileId;
use crate::tosca::value::Value;

/// Whether operations are read in an interface type (no implementation allowed) or in an
/// interface definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Inside `interface_types`.
    InterfaceType,
    /// Inside a node type, relationship type or requirement definition.
    Definition,
}

impl Builder<'_, '_> {
    /// Reads a map of interface definitions on top of the inherited ones.
    pub fn read_interfaces(
        &mut self,
        file: FileId,
        section: Option<&Value>,
        inherited: IndexMap<String, InterfaceDef>,
        path: &str,
    ) -> IndexMap<String, InterfaceDef> {
        self.read_over(section, inherited, path, |b, e| {
            b.read_interface(file, e.name, e.value, e.parent.as_ref(), &e.path)
        })
    }

    fn read_interface(
        &mut self,
        file: FileId,
        name: &str,
        value: &Value,
        parent: Option<&InterfaceDef>,
        path: &str,
    ) -> Option<InterfaceDef> {
        value.as_map()?;
        let interface_type = match value.get("type") {
            Some(t) => {
                let id = self.resolve(file, TypeKind::Interface, t, &join(path, "type"))?;
                if let Some(parent) = parent
                    && !self.reg.derives_from(id, parent.interface_type)
                {
                    self.report(
                        "invalid-refinement",
                        t.span,
                        &join(path, "type"),
                        format!(
                            "a refinement may only keep the interface type `{}` or use one derived from it",
                            self.reg.header(parent.interface_type).name
                        ),
                    );
                }
                id
            }
            None => match parent {
                Some(p) => p.interface_type,
                None => {
                    self.report(
                        "missing-keyname",
                        value.span,
                        path,
                        format!("the interface definition `{name}` must have the keyname `type`"),
                    );
                    return None;
                }
            },
        };
        let declared = self.reg.interface_type(interface_type).clone();
        let mut base = match parent {
            Some(p) => p.clone(),
            None => InterfaceDef {
                name: name.to_string(),
                span: value.span,
                interface_type,
                inputs: declared.inputs.clone(),
                operations: declared.operations.clone(),
                notifications: declared.notifications.clone(),
            },
        };
        for (op, def) in &declared.operations {
            base.operations
                .entry(op.clone())
                .or_insert_with(|| def.clone());
        }
        for (n, def) in &declared.notifications {
            base.notifications
                .entry(n.clone())
                .or_insert_with(|| def.clone());
        }
        base.span = value.span;
        base.interface_type = interface_type;
        base.inputs = self.read_parameters(
            file,
            value.get("inputs"),
            base.inputs,
            &join(path, "inputs"),
            true,
            false,
        );
        base.operations = self.read_operations(
            file,
            value.get("operations"),
            base.operations,
            &join(path, "operations"),
            Place::Definition,
            false,
        );
        base.notifications = self.read_operations(
            file,
            value.get("notifications"),
            base.notifications,
            &join(path, "notifications"),
            Place::Definition,
            false,
        );
        Some(base)
    }

    /// Reads a map of operation (or notification) definitions on top of inherited ones; new
    /// ones are allowed only when `allow_new`.
    pub fn read_operations(
        &mut self,
        file: FileId,
        section: Option<&Value>,
        inherited: IndexMap<String, OperationDef>,
        path: &str,
        place: Place,
        allow_new: bool,
    ) -> IndexMap<String, OperationDef> {
        self.read_over(section, inherited, path, |b, e| {
            if e.parent.is_none() && !allow_new {
                b.report(
                    "undeclared",
                    e.key.span,
                    &e.path,
                    format!(
                        "`{}` is not declared by the interface type, so it cannot be defined here",
                        e.name
                    ),
                );
                return None;
            }
            Some(b.read_operation(file, e.name, e.value, e.parent.as_ref(), &e.path, place))
        })
    }

    fn read_operation(
        &mut self,
        file: FileId,
        name: &str,
        value: &Value,
        parent: Option<&OperationDef>,
        path: &str,
        place: Place,
    ) -> OperationDef {
        let mut def = parent.cloned().unwrap_or_else(|| OperationDef {
            name: name.to_string(),
            span: value.span,
            description: None,
            implementation: None,
            inputs: IndexMap::new(),
            outputs: IndexMap::new(),
        });
        def.span = value.span;
        let implementation = match value.as_map() {
            Some(_) => value.get("implementation"),
            None if value.is_null() => None,
            None => Some(value),
        };
        if let Some(implementation) = implementation {
            if place == Place::InterfaceType {
                self.report(
                    "misplaced-keyname",
                    implementation.span,
                    &join(path, "implementation"),
                    "an interface type declares operations; their `implementation` belongs in the interface definitions of node and relationship types",
                );
            } else {
                self.check_implementation(file, implementation, &join(path, "implementation"));
                def.implementation = Some(implementation.clone());
            }
        }
        if value.as_map().is_some() {
            if let Some(d) = text(value, "description") {
                def.description = Some(d);
            }
            let values = place != Place::InterfaceType;
            def.inputs = self.read_parameters(
                file,
                value.get("inputs"),
                def.inputs,
                &join(path, "inputs"),
                values,
                false,
            );
            def.outputs = self.read_parameters(
                file,
                value.get("outputs"),
                def.outputs,
                &join(path, "outputs"),
                values,
                true,
            );
        }
        def
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const STANDARD: &str = "interface_types:\n  Standard:\n    inputs:\n      mode: {type: string, required: false}\n    operations:\n      create: {description: c}\n      delete: {}\n";

    #[test]
    fn definitions_refine_what_the_type_declares() {
        let registry = assert_valid(&format!(
            "{STANDARD}node_types:\n  N:\n    interfaces:\n      Standard:\n        type: Standard\n        operations:\n          create: create.sh\n"
        ));
        let n = registry.node_type(id(&registry, TypeKind::Node, "N"));
        let iface = &n.interfaces["Standard"];
        assert_eq!(
            iface.operations.keys().collect::<Vec<_>>(),
            ["create", "delete"]
        );
        assert_eq!(
            iface.operations["create"]
                .implementation
                .as_ref()
                .and_then(Value::as_str),
            Some("create.sh")
        );
        assert!(iface.inputs.contains_key("mode"));
    }

    #[test]
    fn definitions_cannot_add_operations_nor_types_implement_them() {
        assert_problem(
            &format!(
                "{STANDARD}node_types:\n  N:\n    interfaces:\n      S:\n        type: Standard\n        operations:\n          restart: r.sh\n"
            ),
            "undeclared",
        );
        assert_problem(
            "interface_types:\n  I:\n    operations:\n      op:\n        implementation: x.sh\n",
            "misplaced-keyname",
        );
        assert_problem(
            "node_types:\n  N:\n    interfaces:\n      S:\n        operations: {}\n",
            "missing-keyname",
        );
    }

    #[test]
    fn derived_node_types_inherit_and_refine_interfaces() {
        let registry = assert_valid(&format!(
            "{STANDARD}node_types:\n  A:\n    interfaces:\n      S: {{type: Standard}}\n  B:\n    derived_from: A\n    interfaces:\n      S:\n        operations:\n          delete: d.sh\n"
        ));
        let b = registry.node_type(id(&registry, TypeKind::Node, "B"));
        assert_eq!(
            b.interfaces["S"].operations["delete"]
                .implementation
                .as_ref()
                .and_then(Value::as_str),
            Some("d.sh")
        );
    }
}
