//! Checking a literal value against a schema: primitives with no conversion, scalars against
//! their unit tables, lists and maps entry by entry, complex types field by field, and every
//! validation clause that applies with `$value` bound to the value.
//!
//! Values that are expressions (function calls) are not checked here: their results are
//! known only when they are evaluated, which is when the stage evaluating them checks them.

use super::model::{DataKind, Schema, TypeRegistry};
use super::validation;
use crate::tosca::data::check_primitive;
use crate::tosca::grammar::shape::{index, join};
use crate::tosca::problem::Problems;
use crate::tosca::value::{Value, ValueKind};

/// Whether a value is a function call (`{ $fn: args }`, or the bare `$fn` string) rather than
/// a literal. `$$` escapes a literal dollar.
pub fn is_expression(value: &Value) -> bool {
    let is_call_name = |s: &str| s.starts_with('$') && !s.starts_with("$$") && s.len() > 1;
    match &value.kind {
        ValueKind::String(s) => is_call_name(s),
        ValueKind::Map(entries) => {
            matches!(entries.as_slice(), [(k, _)] if k.as_str().is_some_and(is_call_name))
        }
        _ => false,
    }
}

/// Checks a literal `value` against `schema`, reporting every mismatch under `path`.
pub fn check_value(
    registry: &TypeRegistry,
    schema: &Schema,
    value: &Value,
    problems: &mut Problems,
    path: &str,
) {
    if is_expression(value) {
        return;
    }
    let data_type = registry.data_type(schema.data_type);
    let shape_ok = match &data_type.kind {
        DataKind::Primitive(primitive) => match check_primitive(*primitive, value) {
            Ok(()) => true,
            Err(e) => {
                problems.report(
                    "wrong-type",
                    e.span,
                    path,
                    format!("{} (the type is `{}`)", e.message, data_type.header.name),
                );
                false
            }
        },
        DataKind::Scalar(units) => match units.parse(value) {
            Ok(scalar) => {
                if let Some(number_type) = data_type.scalar_number {
                    let number = scalar.number.to_value();
                    let number = Value::at(number.kind, value.span);
                    let number_schema = Schema {
                        data_type: number_type,
                        entry_schema: None,
                        key_schema: None,
                        validation: Vec::new(),
                    };
                    check_value(registry, &number_schema, &number, problems, path);
                }
                true
            }
            Err(e) => {
                problems.report(
                    "wrong-type",
                    e.span,
                    path,
                    format!("{} (the type is `{}`)", e.message, data_type.header.name),
                );
                false
            }
        },
        DataKind::List => match value.as_list() {
            Some(items) => {
                if let Some(entry) = schema
                    .entry_schema
                    .as_deref()
                    .or(data_type.entry_schema.as_ref())
                {
                    for (i, item) in items.iter().enumerate() {
                        check_value(registry, entry, item, problems, &index(path, i));
                    }
                }
                true
            }
            None => {
                wrong_type(value, &data_type.header.name, "a list", problems, path);
                false
            }
        },
        DataKind::Map => match value.as_map() {
            Some(entries) => {
                let entry = schema
                    .entry_schema
                    .as_deref()
                    .or(data_type.entry_schema.as_ref());
                let key = schema
                    .key_schema
                    .as_deref()
                    .or(data_type.key_schema.as_ref());
                for (k, v) in entries {
                    let name = match k.as_str() {
                        Some(name) => name.to_string(),
                        None => {
                            problems.report(
                                "wrong-type",
                                k.span,
                                path,
                                format!(
                                    "map keys must be strings, found the {} {k}",
                                    k.kind_name()
                                ),
                            );
                            k.to_string()
                        }
                    };
                    if let Some(key) = key
                        && k.as_str().is_some()
                    {
                        check_value(registry, key, k, problems, &join(path, &name));
                    }
                    if let Some(entry) = entry {
                        check_value(registry, entry, v, problems, &join(path, &name));
                    }
                }
                true
            }
            None => {
                wrong_type(value, &data_type.header.name, "a map", problems, path);
                false
            }
        },
        DataKind::Complex => match value.as_map() {
            Some(entries) => {
                for (k, v) in entries {
                    let Some(name) = k.as_str() else {
                        problems.report(
                            "wrong-type",
                            k.span,
                            path,
                            format!("field names are strings, found the {} {k}", k.kind_name()),
                        );
                        continue;
                    };
                    let field_path = join(path, name);
                    match data_type.properties.get(name) {
                        Some(field) => {
                            if field.fixed.is_some() {
                                problems.report(
                                    "fixed-value",
                                    k.span,
                                    &field_path,
                                    format!("the field `{name}` of `{}` has a fixed value and cannot be assigned", data_type.header.name),
                                );
                            }
                            let mut field_schema = field.schema.clone();
                            field_schema.validation = field.validation.clone();
                            check_value(registry, &field_schema, v, problems, &field_path);
                        }
                        None => problems.report(
                            "undeclared",
                            k.span,
                            &field_path,
                            format!("`{}` has no field named `{name}`", data_type.header.name),
                        ),
                    }
                }
                for field in data_type.properties.values() {
                    if field.required
                        && field.default.is_none()
                        && field.fixed.is_none()
                        && value.get(&field.name).is_none()
                    {
                        problems.report(
                            "missing-required",
                            value.span,
                            path,
                            format!(
                                "the required field `{}` of `{}` is missing",
                                field.name, data_type.header.name
                            ),
                        );
                    }
                }
                true
            }
            None => {
                wrong_type(
                    value,
                    &data_type.header.name,
                    "a map of its fields",
                    problems,
                    path,
                );
                false
            }
        },
    };
    if shape_ok {
        for clause in data_type.validation.iter().chain(schema.validation.iter()) {
            validation::check(clause, value, problems, path);
        }
    }
}

fn wrong_type(value: &Value, type_name: &str, expected: &str, problems: &mut Problems, path: &str) {
    let found = match value.kind {
        ValueKind::Null => "null".to_string(),
        ValueKind::List(_) | ValueKind::Map(_) => format!("a {}", value.kind_name()),
        _ => format!("the {} {value}", value.kind_name()),
    };
    problems.report(
        "wrong-type",
        value.span,
        path,
        format!("a `{type_name}` value is {expected}, found {found}"),
    );
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    fn node_with(property: &str, default: &str) -> String {
        format!(
            "node_types:\n  N:\n    properties:\n      p:\n{property}        default: {default}\n"
        )
    }

    #[test]
    fn defaults_are_checked_without_conversion() {
        assert_valid(&node_with("        type: string\n", "'0.1'"));
        assert_problem(&node_with("        type: string\n", "0.1"), "wrong-type");
        assert_problem(&node_with("        type: integer\n", "zero"), "wrong-type");
        assert_valid(&node_with("        type: float\n", "1"));
        assert_problem(&node_with("        type: boolean\n", "yes"), "wrong-type");
    }

    #[test]
    fn lists_and_maps_are_checked_entry_by_entry() {
        assert_valid(&node_with(
            "        type: list\n        entry_schema: integer\n",
            "[1, 2]",
        ));
        assert_problem(
            &node_with(
                "        type: list\n        entry_schema: integer\n",
                "[1, two]",
            ),
            "wrong-type",
        );
        assert_problem(
            &node_with(
                "        type: map\n        entry_schema: integer\n",
                "{a: 1, b: x}",
            ),
            "wrong-type",
        );
        assert_problem(
            &node_with("        type: map\n        entry_schema: integer\n", "[1]"),
            "wrong-type",
        );
    }

    #[test]
    fn complex_values_need_their_fields_and_nothing_else() {
        let types = "data_types:\n  P:\n    properties:\n      a: {type: string}\n      b: {type: integer, required: false}\n";
        assert_valid(&format!(
            "{types}{}",
            node_with("        type: P\n", "{a: x}")
        ));
        assert_problem(
            &format!("{types}{}", node_with("        type: P\n", "{b: 1}")),
            "missing-required",
        );
        assert_problem(
            &format!("{types}{}", node_with("        type: P\n", "{a: x, c: 1}")),
            "undeclared",
        );
        assert_problem(
            &format!("{types}{}", node_with("        type: P\n", "{a: 1}")),
            "wrong-type",
        );
    }

    #[test]
    fn expressions_are_not_checked_here() {
        assert_valid(&node_with("        type: integer\n", "{$get_input: n}"));
    }

    #[test]
    fn scalars_are_checked_against_their_units() {
        let types = "data_types:\n  Size:\n    derived_from: scalar\n    data_type: integer\n    units: {B: 1, kB: 1000}\n";
        assert_valid(&format!(
            "{types}{}",
            node_with("        type: Size\n", "4 kB")
        ));
        assert_problem(
            &format!("{types}{}", node_with("        type: Size\n", "4 GB")),
            "wrong-type",
        );
        assert_problem(
            &format!("{types}{}", node_with("        type: Size\n", "4")),
            "wrong-type",
        );
        assert_problem(
            &format!("{types}{}", node_with("        type: Size\n", "1.5 kB")),
            "wrong-type",
        );
    }
}
