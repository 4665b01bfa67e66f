//! Completing interface types: inputs, operations and notifications (a derived type refines
//! inherited ones and adds its own; none may have an implementation).

use super::builder::Builder;
use super::interface_definition::Place;
use super::model::{TypeId, TypeRegistry};

/// Completes interface type `id` from its parent and its own definition.
pub fn complete(b: &mut Builder<'_, '_>, id: TypeId) {
    let Some((def, mut record)) = b.begin(id, TypeRegistry::interface_type) else {
        return;
    };
    record.header = b.reg.header(id).clone();
    record.inputs = b.read_parameters(
        def.file,
        def.value.get("inputs"),
        record.inputs,
        &Builder::path(&def, "inputs"),
        false,
        false,
    );
    record.operations = b.read_operations(
        def.file,
        def.value.get("operations"),
        record.operations,
        &Builder::path(&def, "operations"),
        Place::InterfaceType,
        true,
    );
    record.notifications = b.read_operations(
        def.file,
        def.value.get("notifications"),
        record.notifications,
        &Builder::path(&def, "notifications"),
        Place::InterfaceType,
        true,
    );
    b.reg.interface[id.index as usize] = record;
}

#[cfg(test)]
mod tests {
    use super::super::model::TypeKind;
    use super::super::testing::*;

    #[test]
    fn derived_interface_types_add_operations() {
        let registry = assert_valid(
            "interface_types:\n  Root: {}\n  Signal:\n    derived_from: Root\n    inputs:\n      mode: {type: string}\n    operations:\n      begin: {description: b}\n    notifications:\n      done: {}\n  More:\n    derived_from: Signal\n    operations:\n      end: {}\n",
        );
        let more = registry.interface_type(id(&registry, TypeKind::Interface, "More"));
        assert_eq!(more.operations.keys().collect::<Vec<_>>(), ["begin", "end"]);
        assert!(more.notifications.contains_key("done"));
        assert!(more.inputs.contains_key("mode"));
    }

    #[test]
    fn an_interface_type_declares_parameters_and_assigns_no_values() {
        for text in [
            "interface_types:\n  Ops:\n    inputs:\n      level: integer\n",
            "interface_types:\n  Ops:\n    operations:\n      go:\n        inputs:\n          level: 3\n",
            "interface_types:\n  Ops:\n    operations:\n      go:\n        outputs:\n          done: string\n",
        ] {
            assert_problem(text, "wrong-shape");
        }
        assert_valid(
            "interface_types:\n  Ops:\n    inputs:\n      level: {type: integer}\n    operations:\n      go:\n        inputs:\n          level: {type: integer}\n",
        );
    }

    #[test]
    fn names_and_shapes() {
        assert_problem(
            "interface_types:\n  '':\n    operations: {}\n",
            "invalid-name",
        );
        assert_problem("interface_types:\n  - Signal: {}\n", "wrong-shape");
        assert_valid("interface_types:\n  I: {}\n");
    }
}
