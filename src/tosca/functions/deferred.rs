//! Expressions kept for later: partial evaluation and writing an expression back as data.
//!
//! Some calls can only be answered at runtime (`$get_attribute` reads state the orchestrator
//! has not produced yet). [`partially_evaluate`] computes everything else now and keeps those
//! calls, and [`Expr::to_value`] writes the rest back in the call syntax so that it can be
//! stored (the instantiation keeps deferred expressions as JSON) and parsed again later with
//! [`super::parse_expr`]. Literal strings starting with `$` are re-escaped as `$$…` on the way
//! out, so a round trip never turns data into a call.

use super::error::FunctionError;
use super::eval::{Context, evaluate};
use super::syntax::{Call, Expr};
use crate::tosca::source::Span;
use crate::tosca::value::{Value, ValueKind};

impl Expr {
    /// The expression written back as a YAML value: calls as `{ "$name": [args…] }` and
    /// literal strings that start with `$` escaped as `$$…`.
    pub fn to_value(&self) -> Value {
        match self {
            Expr::Literal(v) => escape(v),
            Expr::List(items, span) => Value::at(
                ValueKind::List(items.iter().map(Expr::to_value).collect()),
                *span,
            ),
            Expr::Map(entries, span) => Value::at(
                ValueKind::Map(
                    entries
                        .iter()
                        .map(|(k, v)| (k.to_value(), v.to_value()))
                        .collect(),
                ),
                *span,
            ),
            Expr::Call(call) => {
                let key = match &call.suffix {
                    Some(suffix) => format!("${}${suffix}", call.name),
                    None => format!("${}", call.name),
                };
                let args = Value::at(
                    ValueKind::List(call.args.iter().map(Expr::to_value).collect()),
                    call.span,
                );
                Value::at(
                    ValueKind::Map(vec![(Value::at(ValueKind::String(key), call.span), args)]),
                    call.span,
                )
            }
        }
    }
}

/// Evaluates every call except those `defer` picks (and the calls that contain them), whose
/// arguments are still evaluated as far as they can be.
pub fn partially_evaluate(
    expr: &Expr,
    ctx: &mut dyn Context,
    defer: &dyn Fn(&Call) -> bool,
) -> Result<Expr, FunctionError> {
    Ok(match expr {
        Expr::Literal(_) => expr.clone(),
        Expr::List(items, span) => {
            let items = items
                .iter()
                .map(|e| partially_evaluate(e, ctx, defer))
                .collect::<Result<Vec<_>, _>>()?;
            collapse_list(items, *span)
        }
        Expr::Map(entries, span) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                out.push((
                    partially_evaluate(k, ctx, defer)?,
                    partially_evaluate(v, ctx, defer)?,
                ));
            }
            collapse_map(out, *span)
        }
        Expr::Call(call) => {
            if expr.calls().iter().any(|c| defer(c)) {
                let args = call
                    .args
                    .iter()
                    .map(|e| partially_evaluate(e, ctx, defer))
                    .collect::<Result<Vec<_>, _>>()?;
                Expr::Call(Call {
                    name: call.name.clone(),
                    suffix: call.suffix.clone(),
                    args,
                    span: call.span,
                })
            } else {
                Expr::Literal(evaluate(expr, ctx)?.value)
            }
        }
    })
}

fn collapse_list(items: Vec<Expr>, span: Span) -> Expr {
    if items.iter().all(|e| matches!(e, Expr::Literal(_))) {
        let values = items
            .into_iter()
            .filter_map(|e| e.as_literal().cloned())
            .collect();
        Expr::Literal(Value::at(ValueKind::List(values), span))
    } else {
        Expr::List(items, span)
    }
}

fn collapse_map(entries: Vec<(Expr, Expr)>, span: Span) -> Expr {
    if entries
        .iter()
        .all(|(k, v)| matches!((k, v), (Expr::Literal(_), Expr::Literal(_))))
    {
        let values = entries
            .into_iter()
            .filter_map(|(k, v)| Some((k.as_literal()?.clone(), v.as_literal()?.clone())))
            .collect();
        Expr::Literal(Value::at(ValueKind::Map(values), span))
    } else {
        Expr::Map(entries, span)
    }
}

/// A literal with every string that starts with `$` (keys included) escaped.
fn escape(value: &Value) -> Value {
    let kind = match &value.kind {
        ValueKind::String(s) if s.starts_with('$') => ValueKind::String(format!("${s}")),
        ValueKind::List(items) => ValueKind::List(items.iter().map(escape).collect()),
        ValueKind::Map(entries) => ValueKind::Map(
            entries
                .iter()
                .map(|(k, v)| (escape(k), escape(v)))
                .collect(),
        ),
        other => other.clone(),
    };
    value.with_kind(kind)
}

#[cfg(test)]
mod tests {
    use super::super::eval::{NoGraph, Typed, evaluate_args};
    use super::super::syntax::parse_expr;
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    fn expr(text: &str) -> Expr {
        parse_expr(&yaml::parse(text, FileId(0)).expect("test YAML parses")).expect("valid syntax")
    }

    /// Strips positions so that parsed and re-parsed expressions compare by content.
    fn shape(e: &Expr) -> serde_json::Value {
        e.to_value().to_json()
    }

    #[test]
    fn round_trips_through_data() {
        for text in [
            "{ $concat: [ a, { $get_attribute: [ SELF, ip ] } ] }",
            "{ $keygen$1: [ UUID ] }",
            "{ $ns:fn: [ 1, [ 2, { $value: [] } ] ] }",
            "$$literal",
            "{ $$key: $$value, plain: [ $$x, 1 ] }",
            "{ a: { $get_input: x }, $$b: [ $node_index ] }",
            "\"$keygen: [ UUID ]\"",
        ] {
            let first = expr(text);
            let again = parse_expr(&first.to_value()).expect("re-parses");
            assert_eq!(shape(&again), shape(&first), "{text}");
            assert_eq!(again.calls().len(), first.calls().len(), "{text}");
        }
        assert_eq!(
            expr("{ $$key: $$value }").to_value().to_json(),
            serde_json::json!({ "$$key": "$$value" })
        );
        assert_eq!(
            expr("$value").to_value().to_json(),
            serde_json::json!({ "$value": [] })
        );
    }

    /// Answers `$get_input` with 7 and refuses everything else.
    struct Inputs;

    impl Context for Inputs {
        fn graph_call(&mut self, call: &Call) -> Option<Result<Typed, FunctionError>> {
            (call.name == "get_input").then(|| {
                evaluate_args(call, self).map(|_| Typed::plain(Value::new(ValueKind::Integer(7))))
            })
        }
    }

    #[test]
    fn evaluates_all_but_deferred_calls() {
        let runtime = |c: &Call| c.name == "get_attribute";
        let e = expr(
            "{ url: { $concat: [ { $get_attribute: [ SELF, ip ] }, ':', { $join: [ [ '80', '80' ] ] } ] }, n: { $sum: [ { $get_input: x }, 1 ] } }",
        );
        let partial = partially_evaluate(&e, &mut Inputs, &runtime).expect("evaluates");
        assert_eq!(
            partial.to_value().to_json(),
            serde_json::json!({
                "url": { "$concat": [ { "$get_attribute": [ "SELF", "ip" ] }, ":", "8080" ] },
                "n": 8
            })
        );
        assert_eq!(partial.calls().len(), 2);
        let constant =
            partially_evaluate(&expr("[ { $sum: [ 1, 2 ] }, b ]"), &mut NoGraph, &runtime)
                .expect("evaluates");
        assert_eq!(
            constant.as_literal().map(Value::to_json),
            Some(serde_json::json!([3, "b"]))
        );
        assert!(
            partially_evaluate(
                &expr("{ $get_property: [ SELF, p ] }"),
                &mut NoGraph,
                &runtime
            )
            .is_err()
        );
    }
}
