//! Completing data types: complex types (properties), types derived from a primitive
//! (validation only), lists and maps (entry and key schemas), and scalars (units, see
//! [`super::scalar_type`]).
//!
//! Data types are completed on demand ([`ensure_complete`]) because a property anywhere may
//! use a data type whose own entry schema it needs; a data type that uses itself (a recursive
//! structure) sees itself as far as it is complete, which is enough: recursion goes through
//! properties, whose kind is known from derivation alone.

use super::builder::{Builder, Progress};
use super::model::{DataKind, TypeId};
use super::property::Role;
use super::scalar_type;

/// The keynames only scalar types may have.
pub const SCALAR_KEYNAMES: [&str; 4] = ["units", "prefixes", "canonical_unit", "data_type"];

/// Completes a data type (from the main loop, in derivation order).
pub fn complete(b: &mut Builder<'_, '_>, id: TypeId) {
    ensure_complete(b, id);
}

/// Completes a data type if it is not complete or being completed.
pub fn ensure_complete(b: &mut Builder<'_, '_>, id: TypeId) {
    if b.data_progress.get(id.index as usize) != Some(&Progress::Pending) {
        return;
    }
    b.data_progress[id.index as usize] = Progress::Running;
    let parent = b.reg.header(id).parent;
    if let Some(parent) = parent {
        ensure_complete(b, parent);
    }
    fill(b, id, parent);
    b.data_progress[id.index as usize] = Progress::Done;
}

fn fill(b: &mut Builder<'_, '_>, id: TypeId, parent: Option<TypeId>) {
    let Some(def) = b.defs.get(&id).cloned() else {
        return;
    };
    b.read_header_keynames(id);
    let value = def.value;
    let name = b.reg.header(id).name.clone();
    let (mut properties, mut validation, entry_parent, key_parent) = match parent {
        Some(p) => {
            let parent_type = b.reg.data_type(p);
            (
                parent_type.properties.clone(),
                parent_type.validation.clone(),
                parent_type.entry_schema.clone(),
                parent_type.key_schema.clone(),
            )
        }
        None => Default::default(),
    };
    let kind = b.reg.data_type(id).kind.clone();
    if parent.is_none() && value.get("properties").is_none() {
        b.report(
            "missing-keyname",
            def.value.span,
            &def.path,
            format!("the data type `{name}` needs `derived_from` or at least one property"),
        );
    }
    if let Some(section) = value.get("properties") {
        if !matches!(kind, DataKind::Complex) {
            b.report(
                "misplaced-keyname",
                section.span,
                &Builder::path(&def, "properties"),
                format!(
                    "`{name}` derives from the built-in `{}`, so it cannot have properties; only complex types can",
                    b.reg.header(*b.reg.header(id).ancestors.last().expect("own ancestor")).name
                ),
            );
        } else {
            if section.as_map().is_some_and(<[_]>::is_empty) {
                b.report(
                    "missing-value",
                    section.span,
                    &Builder::path(&def, "properties"),
                    "`properties` must hold at least one property definition",
                );
            }
            properties = b.read_properties(
                def.file,
                Some(section),
                properties,
                Role::Property,
                &Builder::path(&def, "properties"),
                true,
            );
        }
    }
    if let Some(v) = value.get("validation") {
        b.check_clause_syntax(def.file, v, &Builder::path(&def, "validation"));
        validation.push(v.clone());
    }
    let is_collection = matches!(kind, DataKind::List | DataKind::Map);
    let entry_schema = match value.get("entry_schema") {
        Some(e) if is_collection => b.read_schema(
            def.file,
            e,
            entry_parent.as_ref(),
            &Builder::path(&def, "entry_schema"),
            false,
        ),
        Some(e) => {
            b.report(
                "misplaced-keyname",
                e.span,
                &Builder::path(&def, "entry_schema"),
                format!("`{name}` is not a list or a map, so it cannot have an `entry_schema`"),
            );
            None
        }
        None => entry_parent,
    };
    if is_collection && entry_schema.is_none() && value.get("entry_schema").is_none() {
        b.report(
            "missing-keyname",
            def.value.span,
            &def.path,
            format!("`{name}` is a list or map type, so it needs an `entry_schema`"),
        );
    }
    let key_schema = match value.get("key_schema") {
        Some(k) if matches!(kind, DataKind::Map) => b.read_schema(
            def.file,
            k,
            key_parent.as_ref(),
            &Builder::path(&def, "key_schema"),
            true,
        ),
        Some(k) => {
            b.report(
                "misplaced-keyname",
                k.span,
                &Builder::path(&def, "key_schema"),
                format!("`{name}` is not a map, so it cannot have a `key_schema`"),
            );
            None
        }
        None => key_parent,
    };
    let is_scalar = super::derivation::is_scalar(b, id);
    let (kind, scalar_number) = if is_scalar {
        match scalar_type::read(b, id, parent, &def) {
            Some((units, number)) => (DataKind::Scalar(units), Some(number)),
            None => (kind, parent.and_then(|p| b.reg.data_type(p).scalar_number)),
        }
    } else {
        for keyname in SCALAR_KEYNAMES {
            if let Some(v) = value.get(keyname) {
                b.report(
                    "misplaced-keyname",
                    v.span,
                    &Builder::path(&def, keyname),
                    format!("`{keyname}` is only for scalar types (derived from `scalar`), and `{name}` is not one"),
                );
            }
        }
        (kind, None)
    };
    let record = &mut b.reg.data[id.index as usize];
    record.kind = kind;
    record.properties = properties;
    record.validation = validation;
    record.entry_schema = entry_schema;
    record.key_schema = key_schema;
    record.scalar_number = scalar_number;
}

#[cfg(test)]
mod tests {
    use super::super::model::TypeKind;
    use super::super::testing::*;

    #[test]
    fn validation_clauses_call_only_functions_tosca_defines_or_the_file_declares() {
        for text in [
            // A TOSCA 1.x name, not a 2.0 built-in.
            "data_types:\n  Small:\n    derived_from: integer\n    validation: {$in_range: [$value, 1, 5]}\n",
            "data_types:\n  Word:\n    derived_from: string\n    validation: {$frobnicate: [$value]}\n",
            // On a property definition, nested in a built-in.
            "data_types:\n  P:\n    properties:\n      n:\n        type: integer\n        validation: {$and: [{$in_range: [$value, 1, 5]}]}\n",
            // A built-in with the wrong number of arguments.
            "data_types:\n  Small:\n    derived_from: integer\n    validation: {$greater_than: [$value]}\n",
        ] {
            assert_problem(text, "function");
        }
        assert_valid(
            "functions:\n  in_range:\n    signatures:\n      - arguments: [{type: integer}, {type: integer}, {type: integer}]\n        result: {type: boolean}\ndata_types:\n  Small:\n    derived_from: integer\n    validation: {$in_range: [$value, 1, 5]}\n",
        );
    }

    #[test]
    fn complex_types_inherit_and_add_properties() {
        let registry = assert_valid(
            "data_types:\n  Person:\n    properties:\n      name: {type: string}\n  Employee:\n    derived_from: Person\n    properties:\n      name:\n        validation: {$greater_than: [{$length: $value}, 1]}\n      id: {type: integer}\n",
        );
        let e = registry.data_type(id(&registry, TypeKind::Data, "Employee"));
        assert_eq!(e.properties.keys().collect::<Vec<_>>(), ["name", "id"]);
        assert_eq!(e.properties["name"].validation.len(), 1);
    }

    #[test]
    fn primitive_based_types_cannot_have_properties() {
        assert_problem(
            "data_types:\n  Url:\n    derived_from: string\n    properties:\n      a: {type: string}\n",
            "misplaced-keyname",
        );
    }

    #[test]
    fn a_data_type_needs_a_parent_or_properties() {
        assert_problem(
            "data_types:\n  Nothing:\n    description: empty\n",
            "missing-keyname",
        );
        assert_problem("data_types:\n  Bad:\n    type: map\n", "unknown-keyname");
    }

    #[test]
    fn collection_types_need_and_pass_on_entry_schemas() {
        assert_problem(
            "data_types:\n  L:\n    derived_from: list\n",
            "missing-keyname",
        );
        let registry = assert_valid(
            "data_types:\n  Short: {derived_from: string}\n  M:\n    derived_from: map\n    entry_schema: Short\nnode_types:\n  N:\n    properties:\n      m: {type: M}\n",
        );
        let n = registry.node_type(id(&registry, TypeKind::Node, "N"));
        assert_eq!(
            n.properties["m"]
                .schema
                .entry_schema
                .as_ref()
                .unwrap()
                .data_type,
            id(&registry, TypeKind::Data, "Short")
        );
        assert_problem(
            "data_types:\n  S:\n    derived_from: string\n    entry_schema: string\n",
            "misplaced-keyname",
        );
        assert_problem(
            "data_types:\n  L:\n    derived_from: list\n    entry_schema: string\n    key_schema: string\n",
            "misplaced-keyname",
        );
    }

    #[test]
    fn recursive_types_are_allowed() {
        assert_valid(
            "data_types:\n  Tree:\n    properties:\n      children:\n        type: list\n        entry_schema: Tree\n        required: false\n",
        );
    }

    #[test]
    fn scalar_keynames_only_on_scalars() {
        assert_problem(
            "data_types:\n  S:\n    derived_from: string\n    units: {b: 1}\n",
            "misplaced-keyname",
        );
        assert_problem(
            "data_types:\n  S:\n    units: {b: 1}\n",
            "misplaced-keyname",
        );
    }
}
