//! Recognising function calls in YAML values.
//!
//! A call is a map with a single key `$name` (its value holds the arguments) or, with no
//! arguments, the string `$name`. `$$` escapes a leading dollar (`$$x` is the text `$x`).
//! A name may carry a namespace (`$ns:fn`) and a suffix after a second dollar (`$fn$1`), which
//! lets the same call appear twice as a map key. A `$name` key that shares its map with other
//! keys is the "malformed function" error of the specification.
//!
//! A string whose text after `$` is not a function name (`"$keygen: [ UUID ]"`, `"$5"`) is a
//! plain string: the conformance case `function-syntax/s91a.yaml` uses such map keys and is
//! valid, and no function could ever have such a name.

use std::fmt;

use super::error::FunctionSyntaxError;
use crate::tosca::source::Span;
use crate::tosca::value::{Value, ValueKind};

/// A value that may contain function calls.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Data with no call inside (escapes already removed).
    Literal(Value),
    /// A list with at least one call inside.
    List(Vec<Expr>, Span),
    /// A map with at least one call inside (in its keys or values).
    Map(Vec<(Expr, Expr)>, Span),
    /// A function call.
    Call(Call),
}

/// One function call as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The function name without `$` and suffix: `get_input`, or `ns:fn` when namespaced.
    pub name: String,
    /// The text after a second `$` (`1` in `$keygen$1`), which only makes keys unique.
    pub suffix: Option<String>,
    /// The arguments: a list value gives one argument per entry, any other value is the single
    /// argument, and `null` or the bare `$name` string form give none.
    pub args: Vec<Expr>,
    /// Where the call is written.
    pub span: Span,
}

impl Call {
    /// The name without namespace (`fn` in `$ns:fn`).
    pub fn local_name(&self) -> &str {
        self.name.rsplit(':').next().unwrap_or(&self.name)
    }

    /// The namespace prefix (`ns` in `$ns:fn`), if any.
    pub fn namespace(&self) -> Option<&str> {
        self.name.rsplit_once(':').map(|(ns, _)| ns)
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", self.name)
    }
}

impl Expr {
    /// Whether the expression holds no call, so its value is known without evaluation.
    pub fn is_constant(&self) -> bool {
        match self {
            Expr::Literal(_) => true,
            Expr::List(items, _) => items.iter().all(Expr::is_constant),
            Expr::Map(entries, _) => entries
                .iter()
                .all(|(k, v)| k.is_constant() && v.is_constant()),
            Expr::Call(_) => false,
        }
    }

    /// The literal value, if the expression holds no call.
    pub fn as_literal(&self) -> Option<&Value> {
        match self {
            Expr::Literal(v) => Some(v),
            _ => None,
        }
    }

    /// Where the expression starts.
    pub fn span(&self) -> Span {
        match self {
            Expr::Literal(v) => v.span,
            Expr::List(_, span) | Expr::Map(_, span) => *span,
            Expr::Call(call) => call.span,
        }
    }

    /// Visits every call, outer calls before the calls in their arguments.
    pub fn walk_calls<'a>(&'a self, visit: &mut dyn FnMut(&'a Call)) {
        match self {
            Expr::Literal(_) => {}
            Expr::List(items, _) => items.iter().for_each(|e| e.walk_calls(visit)),
            Expr::Map(entries, _) => entries.iter().for_each(|(k, v)| {
                k.walk_calls(visit);
                v.walk_calls(visit);
            }),
            Expr::Call(call) => {
                visit(call);
                call.args.iter().for_each(|e| e.walk_calls(visit));
            }
        }
    }

    /// Every call, outer calls first.
    pub fn calls(&self) -> Vec<&Call> {
        let mut out = Vec::new();
        self.walk_calls(&mut |c| out.push(c));
        out
    }
}

/// Parses a YAML value into an expression, finding every call and removing `$$` escapes.
pub fn parse_expr(value: &Value) -> Result<Expr, FunctionSyntaxError> {
    if !has_dollar(value) {
        // Most values hold no call: one copy, without taking them apart and rebuilding them.
        return Ok(Expr::Literal(value.clone()));
    }
    match &value.kind {
        ValueKind::String(s) if value.tag.is_none() => Ok(match dollar(s) {
            Dollar::Escaped(text) => Expr::Literal(Value {
                kind: ValueKind::String(text.to_string()),
                span: value.span,
                tag: None,
            }),
            Dollar::Call(name, suffix) => Expr::Call(Call {
                name,
                suffix,
                args: Vec::new(),
                span: value.span,
            }),
            Dollar::Plain => Expr::Literal(value.clone()),
        }),
        ValueKind::List(items) => {
            let items = items
                .iter()
                .map(parse_expr)
                .collect::<Result<Vec<_>, _>>()?;
            if items.iter().all(|e| matches!(e, Expr::Literal(_))) {
                let kind = ValueKind::List(items.into_iter().map(into_literal).collect());
                return Ok(Expr::Literal(value.with_kind(kind)));
            }
            Ok(Expr::List(items, value.span))
        }
        ValueKind::Map(entries) => parse_map(value, entries),
        _ => Ok(Expr::Literal(value.clone())),
    }
}

fn parse_map(value: &Value, entries: &[(Value, Value)]) -> Result<Expr, FunctionSyntaxError> {
    let call_key = |key: &Value| match (&key.kind, &key.tag) {
        (ValueKind::String(s), None) => match dollar(s) {
            Dollar::Call(name, suffix) => Some((name, suffix)),
            _ => None,
        },
        _ => None,
    };
    if let [(key, args)] = entries
        && let Some((name, suffix)) = call_key(key)
    {
        let args = match &args.kind {
            ValueKind::Null if args.tag.is_none() => Vec::new(),
            ValueKind::List(items) if args.tag.is_none() => {
                items.iter().map(parse_expr).collect::<Result<_, _>>()?
            }
            _ => vec![parse_expr(args)?],
        };
        return Ok(Expr::Call(Call {
            name,
            suffix,
            args,
            span: key.span,
        }));
    }
    if let Some((key, _)) = entries.iter().find(|(k, _)| call_key(k).is_some()) {
        return Err(FunctionSyntaxError {
            message: format!(
                "malformed function call: the key {} must be the only key of its map, but this map has {} keys; write a literal key starting with $ as $${}",
                key,
                entries.len(),
                key.as_str().unwrap_or_default().trim_start_matches('$'),
            ),
            span: key.span,
        });
    }
    let mut parsed = Vec::with_capacity(entries.len());
    for (key, item) in entries {
        // A string key is never a bare call (the specification forbids that form as a key);
        // it only loses its escape.
        let key = match (&key.kind, &key.tag) {
            (ValueKind::String(s), None) => match dollar(s) {
                Dollar::Escaped(text) => Expr::Literal(Value {
                    kind: ValueKind::String(text.to_string()),
                    span: key.span,
                    tag: None,
                }),
                _ => Expr::Literal(key.clone()),
            },
            _ => parse_expr(key)?,
        };
        parsed.push((key, parse_expr(item)?));
    }
    if parsed
        .iter()
        .all(|(k, v)| matches!((k, v), (Expr::Literal(_), Expr::Literal(_))))
    {
        let kind = ValueKind::Map(
            parsed
                .into_iter()
                .map(|(k, v)| (into_literal(k), into_literal(v)))
                .collect(),
        );
        return Ok(Expr::Literal(value.with_kind(kind)));
    }
    Ok(Expr::Map(parsed, value.span))
}

/// Whether an untagged string of `value` (a key or a value, at any depth) starts with `$`:
/// only those can be calls or escapes.
pub fn has_dollar(value: &Value) -> bool {
    mentions(value, "$")
}

/// Whether an untagged string of `value` (a key or a value, at any depth) starts with
/// `prefix`: `$get_artifact` finds the values that may call it without parsing any.
pub fn mentions(value: &Value, prefix: &str) -> bool {
    match &value.kind {
        ValueKind::String(s) => value.tag.is_none() && s.starts_with(prefix),
        ValueKind::List(items) => items.iter().any(|v| mentions(v, prefix)),
        ValueKind::Map(entries) => entries
            .iter()
            .any(|(k, v)| mentions(k, prefix) || mentions(v, prefix)),
        _ => false,
    }
}

fn into_literal(expr: Expr) -> Value {
    match expr {
        Expr::Literal(v) => v,
        _ => unreachable!("only called on literals"),
    }
}

/// What a string starting with `$` means.
enum Dollar<'a> {
    /// `$$x`: the text `$x`.
    Escaped(&'a str),
    /// `$name` or `$name$suffix`.
    Call(String, Option<String>),
    /// Anything else, including `$` followed by something that is not a name.
    Plain,
}

fn dollar(text: &str) -> Dollar<'_> {
    let Some(rest) = text.strip_prefix('$') else {
        return Dollar::Plain;
    };
    if rest.starts_with('$') {
        return Dollar::Escaped(rest);
    }
    let (name, suffix) = match rest.split_once('$') {
        Some((name, suffix)) => (name, Some(suffix)),
        None => (rest, None),
    };
    let is_part = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    let suffix_ok = suffix
        .is_none_or(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if name.split(':').all(is_part) && suffix_ok {
        Dollar::Call(name.to_string(), suffix.map(str::to_string))
    } else {
        Dollar::Plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    fn expr(text: &str) -> Result<Expr, FunctionSyntaxError> {
        parse_expr(&yaml::parse(text, FileId(0)).expect("test YAML parses"))
    }

    fn call(text: &str) -> Call {
        match expr(text).unwrap() {
            Expr::Call(c) => c,
            other => panic!("{text}: not a call: {other:?}"),
        }
    }

    fn literal(text: &str) -> Value {
        match expr(text).unwrap() {
            Expr::Literal(v) => v,
            other => panic!("{text}: not a literal: {other:?}"),
        }
    }

    #[test]
    fn recognises_calls_and_their_arguments() {
        let cases: &[(&str, &str, Option<&str>, usize)] = &[
            ("{ $get_input: cpus }", "get_input", None, 1),
            ("{ $get_input: [ net, name ] }", "get_input", None, 2),
            ("{ $value: [] }", "value", None, 0),
            ("{ $value: }", "value", None, 0),
            ("$value", "value", None, 0),
            ("$node_index", "node_index", None, 0),
            (
                "{ $get_security_context: [ { env: staging, role: admin } ] }",
                "get_security_context",
                None,
                1,
            ),
            (
                "{ $get_security_context: { env: staging } }",
                "get_security_context",
                None,
                1,
            ),
            (
                "{ $namespace1:random_generator: [ 1 ] }",
                "namespace1:random_generator",
                None,
                1,
            ),
            ("{ $keygen$1: [ UUID ] }", "keygen", Some("1"), 1),
            ("{ $join: [ [ a, b ], \",\" ] }", "join", None, 2),
        ];
        for (text, name, suffix, args) in cases {
            let c = call(text);
            assert_eq!(c.name, *name, "{text}");
            assert_eq!(c.suffix.as_deref(), *suffix, "{text}");
            assert_eq!(c.args.len(), *args, "{text}");
        }
        let namespaced = call("{ $ns:fn: 1 }");
        assert_eq!(
            (namespaced.namespace(), namespaced.local_name()),
            (Some("ns"), "fn")
        );
        assert_eq!(call("$f").namespace(), None);
    }

    #[test]
    fn nested_calls_are_walked_outer_first() {
        let e = expr("{ $outer_func: [ { $inner_func: [ iarg1, iarg2 ] }, oarg2 ] }").unwrap();
        let names: Vec<&str> = e.calls().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["outer_func", "inner_func"]);
        assert!(!e.is_constant());
        let e = expr("a: [1, { $get_input: x }]\nb: { c: $value }\n").unwrap();
        assert_eq!(e.calls().len(), 2);
        assert!(matches!(e, Expr::Map(..)));
    }

    #[test]
    fn only_values_with_a_dollar_string_are_taken_apart() {
        let value = |text: &str| yaml::parse(text, FileId(0)).expect("test YAML parses");
        for (text, dollar) in [
            ("plain", false),
            ("[ 1, { a: b }, [ c ] ]", false),
            ("!custom $tagged", false),
            ("a$b", false),
            ("[ 1, { a: $b } ]", true),
            ("{ x: { $$escaped: 1 } }", true),
            ("[ [ $value ] ]", true),
        ] {
            let v = value(text);
            assert_eq!(has_dollar(&v), dollar, "{text}");
            if !dollar {
                assert_eq!(parse_expr(&v).unwrap(), Expr::Literal(v), "{text}");
            }
        }
        let v = value("{ path: [ { $get_artifact: [ SELF, a, /x ] } ], other: $get_input }");
        assert!(mentions(&v, "$get_artifact"));
        assert!(!mentions(&value("{ $get_input: a }"), "$get_artifact"));
    }

    #[test]
    fn escapes_and_non_names_stay_data() {
        // s94: escaped keys and values.
        let v = literal("$$myid1: myval1\nmyid2: $$myval2\n$$myid3: $$$myval3\n");
        assert_eq!(v.get("$myid1").and_then(Value::as_str), Some("myval1"));
        assert_eq!(v.get("myid2").and_then(Value::as_str), Some("$myval2"));
        assert_eq!(v.get("$myid3").and_then(Value::as_str), Some("$$myval3"));
        // s91a: quoted keys that are not function names.
        let v = literal("\"$keygen: [ UUID ]\": 34\n\"$keygen$1: [ UUID ]\": 56\n");
        assert_eq!(v.as_map().map(<[_]>::len), Some(2));
        assert_eq!(literal("\"$5\"").as_str(), Some("$5"));
        assert_eq!(literal("\"$\"").as_str(), Some("$"));
        assert_eq!(literal("price").as_str(), Some("price"));
        assert!(expr("[1, 2, {a: b}]").unwrap().is_constant());
    }

    #[test]
    fn call_keys_with_other_keys_are_malformed() {
        let err = expr("$get_input: x\nother: 1\n").unwrap_err();
        assert!(err.message.starts_with("malformed function call"), "{err}");
        assert_eq!(err.span.line, 1);
        assert!(expr("a: { b: 1, $concat: [x] }").is_err());
    }

    #[test]
    fn calls_may_be_map_keys() {
        let e = expr("{ $keygen: [ UUID ] }: 34\n{ $keygen$1: [ UUID ] }: 56\n").unwrap();
        let calls = e.calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].suffix.as_deref(), Some("1"));
    }
}
