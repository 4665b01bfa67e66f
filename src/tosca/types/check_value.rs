//! Checking a literal value against a schema: primitives with no conversion, scalars against
//! their unit tables, lists and maps entry by entry, complex types field by field, and every
//! validation clause that applies with `$value` bound to the value.
//!
//! Values that are expressions (function calls) are not checked here: their results are
//! known only when they are evaluated, which is when the stage evaluating them checks them.

use super::model::{DataKind, DataType, Schema, TypeRegistry};
use super::validation;
use crate::tosca::data::check_primitive;
use crate::tosca::functions::{Expr, has_dollar, parse_expr};
use crate::tosca::grammar::shape::{index, join};
use crate::tosca::problem::Problems;
use crate::tosca::source::Span;
use crate::tosca::value::{Value, ValueKind};

/// Whether a value is a function call (`{ $fn: args }`, or the bare `$fn` string) rather than
/// a literal, by the functions layer's syntax (`$$` escapes a literal dollar).
pub fn is_expression(value: &Value) -> bool {
    has_dollar(value) && matches!(parse_expr(value), Ok(Expr::Call(_)))
}

/// Checks a literal `value` against `schema`, reporting every mismatch under `path`. Calls
/// inside the value are skipped (their results are checked when they are evaluated); the
/// literal parts around them are checked.
pub fn check_value(
    registry: &TypeRegistry,
    schema: &Schema,
    value: &Value,
    problems: &mut Problems,
    path: &str,
) {
    // Most values hold no call, so they need no parsing (and no copy) before they are checked.
    if !has_dollar(value) {
        return check_literal(registry, schema, value, problems, path);
    }
    match parse_expr(value) {
        Ok(expr) => check_expr(registry, schema, &expr, problems, path),
        Err(e) => problems.report("function-syntax", e.span, path, e.message),
    }
}

/// Checks a parsed value: literals fully, lists and maps holding calls entry by entry.
fn check_expr(
    registry: &TypeRegistry,
    schema: &Schema,
    expr: &Expr,
    problems: &mut Problems,
    path: &str,
) {
    match expr {
        Expr::Call(_) => {}
        Expr::Literal(value) => check_literal(registry, schema, value, problems, path),
        Expr::List(items, span) => {
            let data_type = registry.data_type(schema.data_type);
            match (&data_type.kind, entry_schema(schema, data_type)) {
                (DataKind::List, Some(entry)) => {
                    for (i, item) in items.iter().enumerate() {
                        check_expr(registry, entry, item, problems, &index(path, i));
                    }
                }
                (DataKind::List, None) => {}
                _ => wrong_type_at(*span, "list", &data_type.header.name, problems, path),
            }
        }
        Expr::Map(entries, span) => {
            let data_type = registry.data_type(schema.data_type);
            match &data_type.kind {
                DataKind::Map => {
                    if let Some(entry) = entry_schema(schema, data_type) {
                        for (k, v) in entries {
                            let name = k.as_literal().map_or_else(|| "?".to_string(), key_text);
                            check_expr(registry, entry, v, problems, &join(path, &name));
                        }
                    }
                }
                DataKind::Complex => {
                    let mut present = Vec::new();
                    for (k, v) in entries {
                        let Some(name) = k.as_literal().and_then(Value::as_str) else {
                            continue;
                        };
                        present.push(name);
                        match data_type.properties.get(name) {
                            Some(field) => {
                                let mut field_schema = field.schema.clone();
                                field_schema.validation = field.validation.clone();
                                check_expr(registry, &field_schema, v, problems, &join(path, name));
                            }
                            None => problems.report(
                                "undeclared",
                                k.span(),
                                join(path, name),
                                format!("`{}` has no field named `{name}`", data_type.header.name),
                            ),
                        }
                    }
                    missing_fields(data_type, |f| present.contains(&f), *span, problems, path);
                }
                _ => wrong_type_at(*span, "map", &data_type.header.name, problems, path),
            }
        }
    }
}

fn entry_schema<'a>(schema: &'a Schema, data_type: &'a DataType) -> Option<&'a Schema> {
    schema
        .entry_schema
        .as_deref()
        .or(data_type.entry_schema.as_ref())
}

fn key_text(key: &Value) -> String {
    key.as_str().map_or_else(|| key.to_string(), str::to_string)
}

fn missing_fields(
    data_type: &DataType,
    present: impl Fn(&str) -> bool,
    span: Span,
    problems: &mut Problems,
    path: &str,
) {
    for field in data_type.properties.values() {
        if field.required
            && field.default.is_none()
            && field.fixed.is_none()
            && !present(&field.name)
        {
            problems.report(
                "missing-required",
                span,
                path,
                format!(
                    "the required field `{}` of `{}` is missing",
                    field.name, data_type.header.name
                ),
            );
        }
    }
}

/// Checks a value with no call in it.
fn check_literal(
    registry: &TypeRegistry,
    schema: &Schema,
    value: &Value,
    problems: &mut Problems,
    path: &str,
) {
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
                    let number = Value::at(scalar.number.to_value().kind, value.span);
                    let number_schema = Schema {
                        data_type: number_type,
                        entry_schema: None,
                        key_schema: None,
                        validation: Vec::new(),
                    };
                    check_literal(registry, &number_schema, &number, problems, path);
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
                if let Some(entry) = entry_schema(schema, data_type) {
                    for (i, item) in items.iter().enumerate() {
                        check_literal(registry, entry, item, problems, &index(path, i));
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
                let entry = entry_schema(schema, data_type);
                let key = schema
                    .key_schema
                    .as_deref()
                    .or(data_type.key_schema.as_ref());
                for (k, v) in entries {
                    let name = key_text(k);
                    if k.as_str().is_none() {
                        problems.report(
                            "wrong-type",
                            k.span,
                            join(path, &name),
                            format!("map keys must be strings, found the {} {k}", k.kind_name()),
                        );
                    } else if let Some(key) = key {
                        check_literal(registry, key, k, problems, &join(path, &name));
                    }
                    if let Some(entry) = entry {
                        check_literal(registry, entry, v, problems, &join(path, &name));
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
                            check_literal(registry, &field_schema, v, problems, &field_path);
                        }
                        None => problems.report(
                            "undeclared",
                            k.span,
                            &field_path,
                            format!("`{}` has no field named `{name}`", data_type.header.name),
                        ),
                    }
                }
                missing_fields(
                    data_type,
                    |f| value.get(f).is_some(),
                    value.span,
                    problems,
                    path,
                );
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
            validation::check(registry, schema.data_type, clause, value, problems, path);
        }
    }
}

fn wrong_type_at(span: Span, found: &str, type_name: &str, problems: &mut Problems, path: &str) {
    problems.report(
        "wrong-type",
        span,
        path,
        format!("a `{type_name}` value cannot be a {found}"),
    );
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

#[cfg(test)]
mod more_tests {
    use super::super::testing::*;

    #[test]
    fn validation_clauses_are_evaluated() {
        let node = |default: &str| {
            format!(
                "data_types:\n  Port:\n    derived_from: integer\n    validation: {{$less_or_equal: [$value, 65535]}}\nnode_types:\n  N:\n    properties:\n      p:\n        type: Port\n        default: {default}\n        validation: {{$greater_than: [$value, 0]}}\n"
            )
        };
        assert_valid(&node("80"));
        assert_problem(&node("0"), "validation-failed");
        assert_problem(&node("70000"), "validation-failed");
    }

    #[test]
    fn a_property_schema_carries_its_validation() {
        use super::super::check_value;
        use super::super::model::TypeKind;
        use crate::tosca::problem::Problems;
        use crate::tosca::value::{Value, ValueKind};
        let registry = assert_valid(
            "node_types:\n  N:\n    properties:\n      p:\n        type: integer\n        validation: {$greater_than: [$value, 0]}\n",
        );
        let def = &registry
            .node_type(id(&registry, TypeKind::Node, "N"))
            .properties["p"];
        let mut problems = Problems::new();
        check_value(
            &registry,
            &def.schema,
            &Value::new(ValueKind::Integer(5)),
            &mut problems,
            "p",
        );
        assert!(problems.is_empty());
        check_value(
            &registry,
            &def.schema,
            &Value::new(ValueKind::Integer(0)),
            &mut problems,
            "p",
        );
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn scalar_numbers_follow_their_number_type() {
        let types = "data_types:\n  Positive:\n    derived_from: integer\n    validation: {$greater_or_equal: [$value, 1]}\n  Rate:\n    derived_from: scalar\n    data_type: Positive\n    units: {b/s: 1, kb/s: 1000}\nnode_types:\n  N:\n    properties:\n      r:\n        type: Rate\n";
        assert_valid(&format!("{types}        default: 2 kb/s\n"));
        assert_problem(
            &format!("{types}        default: -1 kb/s\n"),
            "validation-failed",
        );
    }

    #[test]
    fn scalar_validation_compares_units() {
        let types = "data_types:\n  Length:\n    derived_from: scalar\n    units: {m: 1}\n    prefixes: {'': 1, c: 0.01, m: 0.001}\nnode_types:\n  N:\n    properties:\n      w:\n        type: Length\n        validation: {$less_than: [$value, 15 cm]}\n";
        assert_valid(&format!("{types}        default: 125.3 mm\n"));
        assert_problem(
            &format!("{types}        default: 1 m\n"),
            "validation-failed",
        );
    }

    #[test]
    fn literal_parts_around_calls_are_checked() {
        let types = "data_types:\n  P:\n    properties:\n      a: {type: string}\n      b: {type: integer}\nnode_types:\n  N:\n    properties:\n      p:\n        type: P\n";
        assert_valid(&format!(
            "{types}        default: {{a: x, b: {{$get_input: n}}}}\n"
        ));
        assert_problem(
            &format!("{types}        default: {{a: 1, b: {{$get_input: n}}}}\n"),
            "wrong-type",
        );
        assert_problem(
            &format!("{types}        default: {{b: {{$get_input: n}}}}\n"),
            "missing-required",
        );
        assert_valid(&format!("{types}        default: {{a: '$$x', b: 1}}\n"));
    }
}
