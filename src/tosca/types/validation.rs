//! Validation clauses: boolean expressions evaluated with `$value` bound to the value being
//! checked, by the functions layer's evaluator.
//!
//! The value is handed over with a type hint (scalar units, version, timestamp), and so are
//! its nested fields, so that `$less_than: [$value, 15 cm]` compares amounts rather than text.
//! A clause that needs the graph (`$get_property`…) or a custom function cannot be decided
//! from the value alone: it is left to the stage that resolves templates.

use std::borrow::Cow;

use super::model::{DataKind, Schema, TypeId, TypeRegistry};
use crate::tosca::functions::{
    Expr, FunctionSyntaxError, NestedHint, TypeHint, Typed, ValueContext, depends_on_graph,
    evaluate_condition, parse_expr,
};
use crate::tosca::problem::Problems;
use crate::tosca::value::{Value, ValueKind};

/// Evaluates one validation clause for `value` (of data type `data_type`), reporting a clause
/// that does not hold or cannot be evaluated.
pub fn check(
    registry: &TypeRegistry,
    data_type: TypeId,
    clause: &Value,
    value: &Value,
    problems: &mut Problems,
    path: &str,
) {
    let expr = match clause_expr(registry, clause) {
        Ok(expr) => expr,
        Err(e) => {
            problems.report("function-syntax", e.span, path, e.message);
            return;
        }
    };
    if depends_on_graph(&expr) {
        return;
    }
    let nested = |path: &[Value]| hint_at(registry, data_type, path);
    let mut context = ValueContext::new(Typed {
        value: value.clone(),
        hint: hint_for(registry, data_type),
    });
    context.nested_hint = Some(&nested);
    let verdict = evaluate_condition(&expr, &mut context).map_err(|e| e.to_string());
    report_verdict(verdict, clause, value, problems, path);
}

/// The parsed form of `clause`: the registry's, parsed when its type was built, or parsed
/// now (a clause without a position is not in the registry).
fn clause_expr<'r>(
    registry: &'r TypeRegistry,
    clause: &Value,
) -> Result<Cow<'r, Expr>, FunctionSyntaxError> {
    match registry.clauses.get(&clause.span) {
        Some(expr) if clause.span.is_known() => Ok(Cow::Borrowed(expr)),
        _ => parse_expr(clause).map(Cow::Owned),
    }
}

/// Reports a clause that `value` does not satisfy, or that cannot be evaluated for it.
fn report_verdict(
    verdict: Result<bool, String>,
    clause: &Value,
    value: &Value,
    problems: &mut Problems,
    path: &str,
) {
    let message = match verdict {
        Ok(true) => return,
        Ok(false) => format!("the value {value} does not satisfy the validation clause {clause}"),
        Err(e) => {
            format!("the validation clause {clause} cannot be evaluated for the value {value}: {e}")
        }
    };
    problems.report("validation-failed", value.span, path, message);
}

/// Evaluates one clause that reads the graph, with `$value` bound: `Ok(None)` when it must
/// wait for runtime attributes.
pub type GraphClause<'a> =
    dyn FnMut(&Expr, Typed, Option<NestedHint<'_>>) -> Result<Option<bool>, String> + 'a;

/// Checks the clauses of `schema` (a property's own, not its data type's) that read the graph,
/// which `check` leaves aside: `evaluate` answers one with `$value` bound (the resolver's
/// view), `Ok(None)` when it must wait for runtime attributes.
pub fn check_graph_clauses(
    registry: &TypeRegistry,
    schema: &Schema,
    value: &Value,
    problems: &mut Problems,
    path: &str,
    evaluate: &mut GraphClause<'_>,
) {
    for clause in &schema.validation {
        let Ok(expr) = clause_expr(registry, clause) else {
            continue;
        };
        if !depends_on_graph(&expr) {
            continue;
        }
        let nested = |path: &[Value]| hint_at(registry, schema.data_type, path);
        let typed = Typed {
            value: value.clone(),
            hint: hint_for(registry, schema.data_type),
        };
        // `None`: it waits for runtime attributes, so nothing is decided yet.
        let verdict = evaluate(&expr, typed, Some(&nested)).map(|v| v.unwrap_or(true));
        report_verdict(verdict, clause, value, problems, path);
    }
}

/// How values of a data type are read by functions (scalar units, versions, timestamps).
pub fn hint_for(registry: &TypeRegistry, data_type: TypeId) -> Option<TypeHint> {
    match &registry.data_type(data_type).kind {
        DataKind::Scalar(units) => Some(TypeHint::Scalar(units.clone())),
        DataKind::Primitive(p) => TypeHint::for_primitive(*p),
        _ => None,
    }
}

/// The hint of the value found at a nested path (field names, list indexes, map keys).
pub fn hint_at(registry: &TypeRegistry, data_type: TypeId, path: &[Value]) -> Option<TypeHint> {
    let mut current = data_type;
    for step in path {
        let record = registry.data_type(current);
        current = match (&record.kind, &step.kind) {
            (DataKind::Complex, ValueKind::String(name)) => {
                record.properties.get(name)?.schema.data_type
            }
            (DataKind::List | DataKind::Map, _) => record.entry_schema.as_ref()?.data_type,
            _ => return None,
        };
    }
    hint_for(registry, current)
}
