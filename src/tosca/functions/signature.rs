//! The built-in functions of TOSCA 2.0 and how many arguments each takes.
//!
//! This lets the template checker report an unknown function or a wrong argument count before
//! anything is evaluated. `$in_range` is deliberately absent: it is not a 2.0 built-in (the
//! conformance case `in_range-inv.yaml` expects an error unless a profile declares it).

use super::error::FunctionError;
use super::syntax::{Call, Expr};

/// One built-in function's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Builtin {
    /// The name without `$`.
    pub name: &'static str,
    /// The fewest arguments it takes.
    pub min_args: usize,
    /// The most arguments it takes, or `None` for no limit.
    pub max_args: Option<usize>,
    /// Whether it reads the representation graph (inputs, properties, attributes…) and so is
    /// answered by the resolver's [`super::Context`] rather than computed here.
    pub graph: bool,
}

const fn graph(name: &'static str, min_args: usize, max_args: Option<usize>) -> Builtin {
    Builtin {
        name,
        min_args,
        max_args,
        graph: true,
    }
}

const fn computed(name: &'static str, min_args: usize, max_args: Option<usize>) -> Builtin {
    Builtin {
        name,
        min_args,
        max_args,
        graph: false,
    }
}

/// Every built-in function of TOSCA 2.0 (specification section 10.2).
pub const BUILTINS: &[Builtin] = &[
    // Representation graph queries: `[tosca_path…, name, nested…]`.
    graph("get_input", 1, None),
    graph("get_property", 2, None),
    graph("get_attribute", 2, None),
    graph("get_artifact", 2, None),
    graph("value", 0, None),
    graph("node_index", 0, Some(0)),
    graph("relationship_index", 0, Some(0)),
    graph("available_allocation", 2, None),
    // Boolean logic.
    computed("and", 2, None),
    computed("or", 2, None),
    computed("not", 1, Some(1)),
    computed("xor", 2, Some(2)),
    // Comparison.
    computed("equal", 2, Some(2)),
    computed("greater_than", 2, Some(2)),
    computed("greater_or_equal", 2, Some(2)),
    computed("less_than", 2, Some(2)),
    computed("less_or_equal", 2, Some(2)),
    computed("valid_values", 2, Some(2)),
    computed("matches", 2, Some(2)),
    // Boolean list, map and string functions.
    computed("has_suffix", 2, Some(2)),
    computed("has_prefix", 2, Some(2)),
    computed("contains", 2, Some(2)),
    computed("has_entry", 2, Some(2)),
    computed("has_key", 2, Some(2)),
    computed("has_all_entries", 2, Some(2)),
    computed("has_all_keys", 2, Some(2)),
    computed("has_any_entry", 2, Some(2)),
    computed("has_any_key", 2, Some(2)),
    // String, list and map functions.
    computed("length", 1, Some(1)),
    computed("concat", 1, None),
    computed("join", 1, Some(2)),
    computed("token", 3, Some(3)),
    // Sets.
    computed("union", 1, None),
    computed("intersection", 1, None),
    // Arithmetic.
    computed("sum", 1, None),
    computed("difference", 2, Some(2)),
    computed("product", 1, None),
    computed("quotient", 2, Some(2)),
    computed("remainder", 2, Some(2)),
    computed("round", 1, Some(1)),
    computed("floor", 1, Some(1)),
    computed("ceil", 1, Some(1)),
];

/// The built-in with this name (without `$`); namespaced names are never built-ins.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Checks one call without evaluating it: a built-in must get an allowed number of arguments,
/// and any other name must be a custom function the service declares (`is_declared` answers
/// that; its signatures are the caller's to check).
pub fn check_call(call: &Call, is_declared: &dyn Fn(&str) -> bool) -> Result<(), FunctionError> {
    let Some(builtin) = builtin(&call.name) else {
        if is_declared(&call.name) {
            return Ok(());
        }
        return Err(FunctionError::new(
            call.span,
            format!(
                "unknown function {call}: it is not a TOSCA 2.0 built-in and no functions definition declares it"
            ),
        ));
    };
    let n = call.args.len();
    if n >= builtin.min_args && builtin.max_args.is_none_or(|max| n <= max) {
        return Ok(());
    }
    let plural = |k: usize| if k == 1 { "argument" } else { "arguments" };
    let expected = match builtin.max_args {
        Some(max) if max == builtin.min_args => {
            format!("exactly {max} {}", plural(max))
        }
        Some(max) => format!("{} to {max} arguments", builtin.min_args),
        None => format!("at least {} {}", builtin.min_args, plural(builtin.min_args)),
    };
    Err(FunctionError::new(
        call.span,
        format!("{call} takes {expected}, but it is given {n}"),
    ))
}

/// Checks every call in an expression, returning one error per bad call.
pub fn check_expr(expr: &Expr, is_declared: &dyn Fn(&str) -> bool) -> Vec<FunctionError> {
    expr.calls()
        .into_iter()
        .filter_map(|call| check_call(call, is_declared).err())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::syntax::parse_expr;
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    fn errors(text: &str, declared: &[&str]) -> Vec<String> {
        let value = yaml::parse(text, FileId(0)).expect("test YAML parses");
        let expr = parse_expr(&value).expect("valid syntax");
        check_expr(&expr, &|name| declared.contains(&name))
            .into_iter()
            .map(|e| e.message)
            .collect()
    }

    #[test]
    fn accepts_well_formed_calls() {
        for ok in [
            "{ $get_input: cpus }",
            "$value",
            "{ $value: [ high ] }",
            "{ $and: [ true, { $not: false } ] }",
            "{ $join: [ [ a, b ] ] }",
            "{ $join: [ [ a, b ], \",\" ] }",
            "{ $token: [ \"a:b\", \":\", 1 ] }",
            "{ $get_property: [ SELF, RELATIONSHIP, db, 0, CAPABILITY, port ] }",
            "$node_index",
            "{ $concat: [ a ] }",
        ] {
            assert_eq!(errors(ok, &[]), Vec::<String>::new(), "{ok}");
        }
    }

    #[test]
    fn reports_unknown_functions_and_argument_counts() {
        let cases: &[(&str, &[&str], &str)] = &[
            (
                "{ $in_range: [ $value, [ 0, 10 ] ] }",
                &[],
                "unknown function $in_range",
            ),
            ("{ $keygen: [ UUID ] }", &[], "unknown function $keygen"),
            (
                "{ $ns:get_input: x }",
                &[],
                "unknown function $ns:get_input",
            ),
            (
                "{ $and: [ true ] }",
                &[],
                "$and takes at least 2 arguments, but it is given 1",
            ),
            (
                "{ $not: [ true, false ] }",
                &[],
                "$not takes exactly 1 argument, but it is given 2",
            ),
            (
                "{ $join: [ [a], b, c ] }",
                &[],
                "$join takes 1 to 2 arguments, but it is given 3",
            ),
            (
                "{ $node_index: [ 1 ] }",
                &[],
                "$node_index takes exactly 0 arguments, but it is given 1",
            ),
            (
                "$get_input",
                &[],
                "$get_input takes at least 1 argument, but it is given 0",
            ),
        ];
        for (text, declared, message) in cases {
            let found = errors(text, declared);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert!(found[0].starts_with(message), "{text}: {}", found[0]);
        }
        assert!(errors("{ $in_range: [ 1, [ 0, 10 ] ] }", &["in_range"]).is_empty());
        assert!(errors("{ $ns:sqrt: 4 }", &["ns:sqrt"]).is_empty());
    }

    #[test]
    fn checks_nested_calls() {
        let found = errors(
            "{ $and: [ { $in_range: [1, [0, 2]] }, { $not: [] } ] }",
            &[],
        );
        assert_eq!(found.len(), 2, "{found:?}");
    }
}
