//! Validation clauses: boolean expressions where `$value` is the value being checked.
//!
//! Most clauses only read `$value` and can be checked as soon as a value is known, before any
//! template is resolved. [`ValueContext`] answers `$value` and `$value: [nested…]`, and hands
//! every other graph call to an outer context when there is one (the resolver, for clauses
//! such as `$greater_or_equal: [ $value, { $get_property: [ SELF, minimum ] } ]`).

use super::error::FunctionError;
use super::eval::{Context, TypeHint, Typed, evaluate, evaluate_args};
use super::nested::nested_value;
use super::signature::builtin;
use super::syntax::{Call, Expr};
use crate::tosca::data::describe;
use crate::tosca::value::Value;

/// Gives the hint of a value found at a nested path inside the value under validation
/// (`["high"]` for `{ $value: [ high ] }`), for complex types with scalar or version fields.
pub type NestedHint<'a> = &'a dyn Fn(&[Value]) -> Option<TypeHint>;

/// A context that answers `$value` with the value under validation.
pub struct ValueContext<'a> {
    /// The value being validated, with its hint.
    pub value: Typed,
    /// Hints for nested values, if the value's type has hinted fields.
    pub nested_hint: Option<NestedHint<'a>>,
    /// The context for every other graph call (the resolver), if any.
    pub outer: Option<&'a mut dyn Context>,
}

impl<'a> ValueContext<'a> {
    /// A context with only the value: graph calls other than `$value` cannot be evaluated.
    pub fn new(value: Typed) -> Self {
        ValueContext {
            value,
            nested_hint: None,
            outer: None,
        }
    }
}

impl Context for ValueContext<'_> {
    fn graph_call(&mut self, call: &Call) -> Option<Result<Typed, FunctionError>> {
        if call.name != "value" {
            return self.outer.as_mut().and_then(|outer| outer.graph_call(call));
        }
        Some(evaluate_args(call, self).and_then(|path| {
            if path.is_empty() {
                return Ok(self.value.clone());
            }
            let path: Vec<Value> = path.into_iter().map(|t| t.value).collect();
            let found = nested_value(&self.value.value, &path, call.span)
                .map_err(|e| FunctionError::new(e.span, format!("{call}: {}", e.message)))?;
            Ok(Typed {
                value: found.clone(),
                hint: self.nested_hint.and_then(|hint| hint(&path)),
            })
        }))
    }
}

/// Evaluates a validation clause (or any condition) that must give a boolean.
pub fn evaluate_condition(expr: &Expr, ctx: &mut dyn Context) -> Result<bool, FunctionError> {
    let result = evaluate(expr, ctx)?;
    result.value.as_bool().ok_or_else(|| {
        FunctionError::new(
            expr.span(),
            format!(
                "a condition must evaluate to true or false, but this one gives {}",
                describe(&result.value)
            ),
        )
    })
}

/// Whether evaluating the expression needs more than `$value` and the computed built-ins: a
/// graph function such as `$get_property`, or a custom function. Such clauses wait for the
/// resolver.
pub fn depends_on_graph(expr: &Expr) -> bool {
    expr.calls()
        .iter()
        .any(|c| c.name != "value" && builtin(&c.name).is_none_or(|b| b.graph))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::syntax::parse_expr;
    use super::*;
    use crate::tosca::data::ScalarUnits;
    use crate::tosca::source::FileId;
    use crate::tosca::value::ValueKind;
    use crate::tosca::yaml;

    fn yaml(text: &str) -> Value {
        yaml::parse(text, FileId(0)).expect("test YAML parses")
    }

    fn clause(text: &str) -> Expr {
        parse_expr(&yaml(text)).expect("valid syntax")
    }

    fn holds(text: &str, value: Typed) -> Result<bool, FunctionError> {
        evaluate_condition(&clause(text), &mut ValueContext::new(value))
    }

    #[test]
    fn checks_values_against_clauses() {
        let int = |i| Typed::plain(Value::new(ValueKind::Integer(i)));
        let cases: &[(&str, Typed, bool)] = &[
            ("{ $greater_or_equal: [ $value, 1 ] }", int(1), true),
            ("{ $greater_or_equal: [ $value, 1 ] }", int(0), false),
            ("{ $greater_or_equal: [ { $value: [] }, 0 ] }", int(0), true),
            (
                "{ $and: [ { $greater_or_equal: [ $value, 0 ] }, { $less_or_equal: [ $value, 0xFFFF ] } ] }",
                int(65536),
                false,
            ),
            (
                "{ $valid_values: [ $value, [ 1, 2, 4, 8 ] ] }",
                int(4),
                true,
            ),
            (
                "{ $less_or_equal: [ { $length: [ $value ] }, 16 ] }",
                Typed::plain(Value::string("short")),
                true,
            ),
            (
                "{ $greater_or_equal: [ { $value: [ high ] }, { $value: [ low ] } ] }",
                Typed::plain(yaml("{ low: 1.5, high: 2.0 }")),
                true,
            ),
            (
                "{ $greater_or_equal: [ { $value: [ high ] }, { $value: [ low ] } ] }",
                Typed::plain(yaml("{ low: 3.5, high: 2.0 }")),
                false,
            ),
        ];
        for (text, value, expected) in cases {
            let found = holds(text, value.clone()).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(found, *expected, "{text} with {}", value.value);
        }
    }

    #[test]
    fn hints_reach_the_value_and_its_fields() {
        let mass = Arc::new(
            ScalarUnits::from_definition(
                &yaml("{ g: 1 }"),
                Some(&yaml("{ '': 1, k: 1000 }")),
                None,
                None,
            )
            .expect("valid units"),
        );
        let value = Typed::hinted(Value::string("9 kg"), TypeHint::Scalar(mass.clone()));
        assert_eq!(
            holds("{ $less_or_equal: [ $value, 10 kg ] }", value.clone()),
            Ok(true)
        );
        assert_eq!(
            holds("{ $less_or_equal: [ $value, 8000 g ] }", value),
            Ok(false)
        );

        let range = Typed::plain(yaml("{ low: 900 g, high: 1 kg }"));
        let hint = |_: &[Value]| Some(TypeHint::Scalar(mass.clone()));
        let mut ctx = ValueContext {
            nested_hint: Some(&hint),
            ..ValueContext::new(range)
        };
        let ordered = clause("{ $less_than: [ { $value: [ low ] }, { $value: [ high ] } ] }");
        assert_eq!(evaluate_condition(&ordered, &mut ctx), Ok(true));
    }

    #[test]
    fn reports_what_cannot_be_checked_here() {
        let value = Typed::plain(Value::new(ValueKind::Integer(3)));
        let err = holds("{ $sum: [ $value, 1 ] }", value.clone()).unwrap_err();
        assert!(err.message.contains("gives the integer 4"), "{err}");
        let err = holds("{ $value: [ missing ] }", value.clone()).unwrap_err();
        assert!(err.message.starts_with("$value: cannot select"), "{err}");
        let needs_template =
            clause("{ $greater_or_equal: [ $value, { $get_property: [ SELF, min ] } ] }");
        assert!(depends_on_graph(&needs_template));
        assert!(
            evaluate_condition(&needs_template, &mut ValueContext::new(value.clone())).is_err()
        );
        assert!(depends_on_graph(&clause(
            "{ $equal: [ $value, { $sqrt: 4 } ] }"
        )));
        assert!(!depends_on_graph(&clause(
            "{ $equal: [ $value, { $sum: [ 1, 2 ] } ] }"
        )));

        // The outer context answers what $value does not.
        struct Minimum;
        impl Context for Minimum {
            fn graph_call(&mut self, call: &Call) -> Option<Result<Typed, FunctionError>> {
                (call.name == "get_property")
                    .then(|| Ok(Typed::plain(Value::new(ValueKind::Integer(2)))))
            }
        }
        let mut outer = Minimum;
        let mut ctx = ValueContext {
            outer: Some(&mut outer),
            ..ValueContext::new(value)
        };
        assert_eq!(evaluate_condition(&needs_template, &mut ctx), Ok(true));
    }
}
