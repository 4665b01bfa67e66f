//! Evaluating expressions: every built-in except the graph queries, which the resolver answers.
//!
//! Values carry an optional [`TypeHint`] saying how a string is to be read: as a version, a
//! timestamp or a scalar of some type. Comparisons and arithmetic read *both* operands with the
//! hint of either side, which is how a scalar property compares with the literal `"1 GB"`, and
//! how versions compare as versions rather than as text. Without a hint nothing is converted:
//! comparing a string with an integer is an error (integers and floats are both numbers and
//! compare with each other, as a float property accepts an integer).

use std::cmp::Ordering;
use std::sync::Arc;

use regex::Regex;

use super::error::FunctionError;
use super::signature::{builtin, check_call};
use super::syntax::{Call, Expr};
use crate::tosca::data::{
    Number, Primitive, Scalar, ScalarNumberType, ScalarUnits, Timestamp, Version, decode_bytes,
    describe,
};
use crate::tosca::value::{Value, ValueKind};

/// How a value's text is to be read when it is compared or computed with.
///
/// On a list or a map, the hint describes the entries: `$has_entry`, `$has_key` and their
/// `all`/`any` forms read entries and keys with it.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeHint {
    /// The value is of type `version` (or derived from it).
    Version,
    /// The value is of type `timestamp` (or derived from it).
    Timestamp,
    /// The value is of a concrete scalar type with these units.
    Scalar(Arc<ScalarUnits>),
    /// The value is of type `bytes`: `$length` counts decoded bytes, not characters.
    Bytes,
}

impl TypeHint {
    /// The hint values of a built-in type need, if any (scalars need their units: build
    /// [`TypeHint::Scalar`] from the concrete type's [`ScalarUnits`]).
    pub fn for_primitive(primitive: Primitive) -> Option<TypeHint> {
        match primitive {
            Primitive::Version => Some(TypeHint::Version),
            Primitive::Timestamp => Some(TypeHint::Timestamp),
            Primitive::Bytes => Some(TypeHint::Bytes),
            _ => None,
        }
    }
}

/// A value with, when its type is known to need one, a hint on how to read it.
#[derive(Clone, Debug, PartialEq)]
pub struct Typed {
    /// The value itself.
    pub value: Value,
    /// How to read it, if its type is a version, timestamp or scalar.
    pub hint: Option<TypeHint>,
}

impl Typed {
    /// A value with no hint (literals, numbers, strings…).
    pub fn plain(value: Value) -> Typed {
        Typed { value, hint: None }
    }

    /// A value with a hint.
    pub fn hinted(value: Value, hint: TypeHint) -> Typed {
        Typed {
            value,
            hint: Some(hint),
        }
    }
}

/// What the resolver provides to evaluation: the answers to graph functions (`$get_input`,
/// `$get_property`, `$get_attribute`, `$get_artifact`, `$value`, `$node_index`,
/// `$relationship_index`, `$available_allocation`) and to custom functions.
pub trait Context {
    /// Answers a call this context handles, or `None` to let the built-in evaluation handle it.
    /// Arguments are unevaluated: use [`evaluate_args`] (or [`evaluate`]) on them.
    fn graph_call(&mut self, call: &Call) -> Option<Result<Typed, FunctionError>>;
}

/// A context with no template behind it: only self-contained expressions evaluate.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoGraph;

impl Context for NoGraph {
    fn graph_call(&mut self, _call: &Call) -> Option<Result<Typed, FunctionError>> {
        None
    }
}

/// Whether an expression can only be evaluated at runtime (it reads attributes).
pub fn needs_runtime(expr: &Expr) -> bool {
    expr.calls().iter().any(|c| c.name == "get_attribute")
}

/// Evaluates every argument of a call, in order.
pub fn evaluate_args(call: &Call, ctx: &mut dyn Context) -> Result<Vec<Typed>, FunctionError> {
    call.args.iter().map(|a| evaluate(a, ctx)).collect()
}

/// Evaluates an expression: literals as they are, calls through the context or the built-ins.
pub fn evaluate(expr: &Expr, ctx: &mut dyn Context) -> Result<Typed, FunctionError> {
    match expr {
        Expr::Literal(v) => Ok(Typed::plain(v.clone())),
        Expr::List(items, span) => {
            let items = items
                .iter()
                .map(|e| evaluate(e, ctx).map(|t| t.value))
                .collect::<Result<_, _>>()?;
            Ok(Typed::plain(Value::at(ValueKind::List(items), *span)))
        }
        Expr::Map(entries, span) => {
            let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let key = evaluate(k, ctx)?.value;
                if out
                    .iter()
                    .any(|(existing, _)| loosely_equal(existing, &key))
                {
                    return Err(FunctionError::new(
                        k.span(),
                        format!("the map key {key} appears twice after evaluation"),
                    ));
                }
                out.push((key, evaluate(v, ctx)?.value));
            }
            Ok(Typed::plain(Value::at(ValueKind::Map(out), *span)))
        }
        Expr::Call(call) => {
            if let Some(answer) = ctx.graph_call(call) {
                return answer;
            }
            match builtin(&call.name) {
                Some(b) if b.graph => Err(FunctionError::new(
                    call.span,
                    format!("{call} cannot be evaluated here: it needs a template context"),
                )),
                Some(_) => compute(call, ctx),
                None => Err(FunctionError::new(
                    call.span,
                    format!(
                        "the custom function {call} has no implementation this processor can run"
                    ),
                )),
            }
        }
    }
}

fn compute(call: &Call, ctx: &mut dyn Context) -> Result<Typed, FunctionError> {
    // The argument count is checked first so that every branch below may index its arguments.
    check_call(call, &|_| false)?;
    let span = call.span;
    let boolean = |b: bool| Ok(Typed::plain(Value::at(ValueKind::Bool(b), span)));
    // The boolean connectives evaluate lazily, so they short-circuit.
    match call.name.as_str() {
        "and" | "or" => {
            let stop_at = call.name == "or";
            for arg in &call.args {
                let value = evaluate(arg, ctx)?;
                if as_bool(call, &value)? == stop_at {
                    return boolean(stop_at);
                }
            }
            return boolean(!stop_at);
        }
        _ => {}
    }
    let args = evaluate_args(call, ctx)?;
    let f = Computation { call, args: &args };
    match call.name.as_str() {
        "not" => boolean(!as_bool(call, &args[0])?),
        "xor" => boolean(as_bool(call, &args[0])? != as_bool(call, &args[1])?),
        "equal" => boolean(f.equal(&args[0], &args[1])?),
        "greater_than" => boolean(f.order(&args[0], &args[1])? == Ordering::Greater),
        "greater_or_equal" => boolean(f.order(&args[0], &args[1])? != Ordering::Less),
        "less_than" => boolean(f.order(&args[0], &args[1])? == Ordering::Less),
        "less_or_equal" => boolean(f.order(&args[0], &args[1])? != Ordering::Greater),
        "valid_values" => {
            let candidates = f.list(1)?;
            for candidate in candidates {
                let candidate = Typed::plain(candidate.clone());
                if f.equal(&args[0], &candidate)? {
                    return boolean(true);
                }
            }
            boolean(false)
        }
        "matches" => {
            let text = f.string(0)?;
            let pattern = f.string(1)?;
            let regex = Regex::new(pattern).map_err(|e| {
                f.error(format!(
                    "{pattern:?} is not a valid regular expression ({e})"
                ))
            })?;
            boolean(regex.is_match(text))
        }
        "has_prefix" | "has_suffix" | "contains" => boolean(f.sequence_test()?),
        "has_entry" => {
            let entries = f.entries(0)?;
            boolean(entries.iter().any(|e| f.same(e, &args[1].value)))
        }
        "has_key" => {
            let keys = f.keys(0)?;
            boolean(keys.iter().any(|k| f.same(k, &args[1].value)))
        }
        "has_all_entries" | "has_any_entry" | "has_all_keys" | "has_any_key" => {
            let haystack = if call.name.ends_with("keys") || call.name.ends_with("key") {
                f.keys(0)?
            } else {
                f.entries(0)?
            };
            let wanted = f.list(1)?;
            let found = |w: &Value| haystack.iter().any(|h| f.same(h, w));
            boolean(if call.name.starts_with("has_all") {
                wanted.iter().all(found)
            } else {
                wanted.iter().any(found)
            })
        }
        "length" => {
            let n = match &args[0].value.kind {
                ValueKind::String(_) if args[0].hint == Some(TypeHint::Bytes) => {
                    decode_bytes(&args[0].value)
                        .map_err(|e| f.error(format!("cannot count bytes: {e}")))?
                        .len()
                }
                ValueKind::String(s) => s.chars().count(),
                ValueKind::List(l) => l.len(),
                ValueKind::Map(m) => m.len(),
                _ => return Err(f.wrong(0, "a string, a list or a map")),
            };
            Ok(f.integer(i64::try_from(n).unwrap_or(i64::MAX)))
        }
        "concat" => f.concat(),
        "join" => {
            let parts = f.list(0)?;
            let delimiter = if args.len() > 1 { f.string(1)? } else { "" };
            let strings = parts
                .iter()
                .map(|p| {
                    p.as_str().ok_or_else(|| {
                        f.error(format!(
                            "joins a list of strings, but the list holds {}",
                            describe(p)
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(f.string_value(strings.join(delimiter)))
        }
        "token" => {
            let text = f.string(0)?;
            let separators = f.string(1)?;
            if separators.is_empty() {
                return Err(f.error(
                    "needs at least one token character, but its second argument is empty".into(),
                ));
            }
            let index = f.index(2)?;
            let tokens: Vec<&str> = text
                .split(|c| separators.contains(c))
                .filter(|t| !t.is_empty())
                .collect();
            let token = tokens.get(index).ok_or_else(|| {
                f.error(format!(
                    "asks for token {index} of {text:?}, which has only {} tokens",
                    tokens.len()
                ))
            })?;
            Ok(f.string_value(token.to_string()))
        }
        "union" | "intersection" => f.set_operation(),
        "sum" | "difference" | "product" | "quotient" | "remainder" => f.arithmetic(),
        "round" | "floor" | "ceil" => {
            let x = match args[0].value.kind {
                ValueKind::Integer(i) => return Ok(f.integer(i)),
                ValueKind::Float(x) => x,
                _ => return Err(f.wrong(0, "a float")),
            };
            let rounded = match call.name.as_str() {
                "floor" => x.floor(),
                "ceil" => x.ceil(),
                // A tie rounds down, as the specification asks: 3.5 gives 3, 3.53 gives 4.
                _ => {
                    let below = x.floor();
                    if x - below > 0.5 { below + 1.0 } else { below }
                }
            };
            if !rounded.is_finite() || rounded < i64::MIN as f64 || rounded >= i64::MAX as f64 {
                return Err(f.error(format!("cannot turn {x} into a 64-bit integer")));
            }
            Ok(f.integer(rounded as i64))
        }
        other => Err(f.error(format!("the built-in {other} is not implemented"))),
    }
}

/// One built-in call being computed, with its evaluated arguments.
struct Computation<'a> {
    call: &'a Call,
    args: &'a [Typed],
}

/// An operand of ordering and equality, read with a hint.
enum Comparable<'a> {
    Number(Number),
    Text(&'a str),
    Version(Version),
    Timestamp(Timestamp),
    Scalar(Scalar),
}

impl Comparable<'_> {
    fn name(&self) -> &'static str {
        match self {
            Comparable::Number(_) => "number",
            Comparable::Text(_) => "string",
            Comparable::Version(_) => "version",
            Comparable::Timestamp(_) => "timestamp",
            Comparable::Scalar(_) => "scalar",
        }
    }
}

/// An operand of arithmetic.
enum Operand {
    Number(Number),
    Scalar(Scalar),
}

impl Computation<'_> {
    fn error(&self, message: String) -> FunctionError {
        FunctionError::new(self.call.span, format!("{} {message}", self.call))
    }

    fn wrong(&self, index: usize, expected: &str) -> FunctionError {
        let found = &self.args[index].value;
        FunctionError::new(
            if found.span.is_known() {
                found.span
            } else {
                self.call.span
            },
            format!(
                "{} expects {expected} as argument {}, found {}",
                self.call,
                index + 1,
                describe(found)
            ),
        )
    }

    fn value(&self, kind: ValueKind) -> Value {
        Value::at(kind, self.call.span)
    }

    fn integer(&self, i: i64) -> Typed {
        Typed::plain(self.value(ValueKind::Integer(i)))
    }

    fn string_value(&self, s: String) -> Typed {
        Typed::plain(self.value(ValueKind::String(s)))
    }

    fn string(&self, index: usize) -> Result<&str, FunctionError> {
        self.args[index]
            .value
            .as_str()
            .ok_or_else(|| self.wrong(index, "a string"))
    }

    fn list(&self, index: usize) -> Result<&[Value], FunctionError> {
        self.args[index]
            .value
            .as_list()
            .ok_or_else(|| self.wrong(index, "a list"))
    }

    fn index(&self, index: usize) -> Result<usize, FunctionError> {
        self.args[index]
            .value
            .as_i64()
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| self.wrong(index, "a non-negative integer"))
    }

    /// The entries of a list, or the values of a map.
    fn entries(&self, index: usize) -> Result<Vec<Value>, FunctionError> {
        match &self.args[index].value.kind {
            ValueKind::List(l) => Ok(l.clone()),
            ValueKind::Map(m) => Ok(m.iter().map(|(_, v)| v.clone()).collect()),
            _ => Err(self.wrong(index, "a list or a map")),
        }
    }

    fn keys(&self, index: usize) -> Result<Vec<Value>, FunctionError> {
        match &self.args[index].value.kind {
            ValueKind::Map(m) => Ok(m.iter().map(|(k, _)| k.clone()).collect()),
            _ => Err(self.wrong(index, "a map")),
        }
    }

    /// The hint of either of two operands.
    fn hint<'h>(&self, a: &'h Typed, b: &'h Typed) -> Option<&'h TypeHint> {
        a.hint.as_ref().or(b.hint.as_ref())
    }

    fn comparable<'v>(
        &self,
        value: &'v Value,
        hint: Option<&TypeHint>,
    ) -> Result<Comparable<'v>, FunctionError> {
        let fail = |e: crate::tosca::data::DataError| self.error(format!("cannot compare: {e}"));
        Ok(match hint {
            Some(TypeHint::Version) => {
                Comparable::Version(Version::from_value(value).map_err(fail)?)
            }
            Some(TypeHint::Timestamp) => {
                Comparable::Timestamp(Timestamp::from_value(value).map_err(fail)?)
            }
            Some(TypeHint::Scalar(units)) => Comparable::Scalar(units.parse(value).map_err(fail)?),
            Some(TypeHint::Bytes) | None => match &value.kind {
                ValueKind::Integer(i) => Comparable::Number(Number::Integer(*i)),
                ValueKind::Float(x) => Comparable::Number(Number::Float(*x)),
                ValueKind::String(s) => Comparable::Text(s),
                _ => {
                    return Err(self.error(format!(
                        "compares integers, floats, strings, timestamps, versions or scalars, but found {}",
                        describe(value)
                    )));
                }
            },
        })
    }

    /// Orders two operands of the same type, reading both with the hint of either.
    fn order(&self, a: &Typed, b: &Typed) -> Result<Ordering, FunctionError> {
        let hint = self.hint(a, b);
        let left = self.comparable(&a.value, hint)?;
        let right = self.comparable(&b.value, hint)?;
        let ordering = match (&left, &right) {
            (Comparable::Number(x), Comparable::Number(y)) => x.compare(*y),
            (Comparable::Text(x), Comparable::Text(y)) => Some(x.cmp(y)),
            (Comparable::Version(x), Comparable::Version(y)) => Some(x.cmp(y)),
            (Comparable::Timestamp(x), Comparable::Timestamp(y)) => Some(x.cmp(y)),
            (Comparable::Scalar(x), Comparable::Scalar(y)) => x.compare(y),
            _ => {
                return Err(self.error(format!(
                    "compares a {} with a {}; both arguments must have the same type",
                    left.name(),
                    right.name()
                )));
            }
        };
        ordering.ok_or_else(|| self.error("cannot order NaN".into()))
    }

    /// Equality of two operands of the same type (any type; hinted ones as their type).
    fn equal(&self, a: &Typed, b: &Typed) -> Result<bool, FunctionError> {
        if self.hint(a, b).is_some() {
            return Ok(self.order(a, b)? == Ordering::Equal);
        }
        let (x, y) = (&a.value, &b.value);
        let numbers = |v: &Value| matches!(v.kind, ValueKind::Integer(_) | ValueKind::Float(_));
        if x.kind_name() != y.kind_name() && !(numbers(x) && numbers(y)) {
            return Err(self.error(format!(
                "compares {} with {}; both arguments must have the same type",
                describe(x),
                describe(y)
            )));
        }
        Ok(loosely_equal(x, y))
    }

    /// Equality of collection entries, where a type mismatch simply means "not equal".
    fn same(&self, entry: &Value, wanted: &Value) -> bool {
        let hint = self.args.iter().find_map(|a| a.hint.as_ref());
        if let Some(hint) = hint
            && let (Ok(x), Ok(y)) = (
                self.comparable(entry, Some(hint)),
                self.comparable(wanted, Some(hint)),
            )
        {
            return match (x, y) {
                (Comparable::Version(x), Comparable::Version(y)) => x == y,
                (Comparable::Timestamp(x), Comparable::Timestamp(y)) => x == y,
                (Comparable::Scalar(x), Comparable::Scalar(y)) => x == y,
                _ => false,
            };
        }
        loosely_equal(entry, wanted)
    }

    fn sequence_test(&self) -> Result<bool, FunctionError> {
        let name = self.call.name.as_str();
        match (&self.args[0].value.kind, &self.args[1].value.kind) {
            (ValueKind::String(whole), ValueKind::String(part)) => Ok(match name {
                "has_prefix" => whole.starts_with(part.as_str()),
                "has_suffix" => whole.ends_with(part.as_str()),
                _ => whole.contains(part.as_str()),
            }),
            (ValueKind::List(whole), ValueKind::List(part)) => {
                let equal = |(a, b): (&Value, &Value)| loosely_equal(a, b);
                let at = |start: usize| whole[start..].iter().zip(part).all(equal);
                if part.len() > whole.len() {
                    return Ok(false);
                }
                Ok(match name {
                    "has_prefix" => at(0),
                    "has_suffix" => at(whole.len() - part.len()),
                    _ => (0..=whole.len() - part.len()).any(at),
                })
            }
            (ValueKind::String(_) | ValueKind::List(_), _) => Err(self.wrong(
                1,
                if self.args[0].value.as_str().is_some() {
                    "a string"
                } else {
                    "a list"
                },
            )),
            _ => Err(self.wrong(0, "a string or a list")),
        }
    }

    fn concat(&self) -> Result<Typed, FunctionError> {
        match &self.args[0].value.kind {
            ValueKind::String(_) => {
                let mut out = String::new();
                for i in 0..self.args.len() {
                    out.push_str(self.string(i)?);
                }
                Ok(self.string_value(out))
            }
            ValueKind::List(_) => {
                let mut out = Vec::new();
                for i in 0..self.args.len() {
                    out.extend(self.list(i)?.iter().cloned());
                }
                Ok(Typed::plain(self.value(ValueKind::List(out))))
            }
            _ => Err(self.wrong(0, "a string or a list")),
        }
    }

    fn set_operation(&self) -> Result<Typed, FunctionError> {
        let lists = (0..self.args.len())
            .map(|i| self.list(i))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out: Vec<Value> = Vec::new();
        let candidates: Box<dyn Iterator<Item = &Value>> = if self.call.name == "union" {
            Box::new(lists.iter().flat_map(|l| l.iter()))
        } else {
            Box::new(lists[0].iter().filter(|v| {
                lists[1..]
                    .iter()
                    .all(|l| l.iter().any(|w| loosely_equal(v, w)))
            }))
        };
        for v in candidates {
            if !out.iter().any(|o| loosely_equal(o, v)) {
                out.push(v.clone());
            }
        }
        Ok(Typed::plain(self.value(ValueKind::List(out))))
    }

    /// Reads an arithmetic operand: a number, or a scalar when a scalar hint is around.
    fn operand(&self, index: usize, units: Option<&ScalarUnits>) -> Result<Operand, FunctionError> {
        let value = &self.args[index].value;
        if let Some(n) = Number::from_value(value) {
            return Ok(Operand::Number(n));
        }
        match units {
            Some(units) if value.as_str().is_some() => units
                .parse(value)
                .map(Operand::Scalar)
                .map_err(|e| self.error(format!("cannot compute: {e}"))),
            _ => Err(self.wrong(index, "an integer, a float or a scalar")),
        }
    }

    fn arithmetic(&self) -> Result<Typed, FunctionError> {
        let units = self.args.iter().find_map(|a| match &a.hint {
            Some(TypeHint::Scalar(units)) => Some(units.clone()),
            _ => None,
        });
        let operands = (0..self.args.len())
            .map(|i| self.operand(i, units.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let overflow = || self.error("overflows a 64-bit integer".into());
        let name = self.call.name.as_str();
        let scalar_result = |amount: Number| -> Result<Typed, FunctionError> {
            let units = units
                .clone()
                .expect("scalar operands come with their units");
            let amount = match (units.number_type(), amount) {
                (ScalarNumberType::Integer, Number::Float(x)) => Number::Integer(x.trunc() as i64),
                (_, other) => other,
            };
            let value = Value {
                span: self.call.span,
                ..units.canonical_value(amount)
            };
            Ok(Typed::hinted(value, TypeHint::Scalar(units)))
        };
        let number_result = |n: Number| Ok(Typed::plain(self.value(n.to_value().kind)));
        match name {
            "sum" | "difference" => {
                let scalars = operands
                    .iter()
                    .filter(|o| matches!(o, Operand::Scalar(_)))
                    .count();
                if scalars != 0 && scalars != operands.len() {
                    return Err(self.error("cannot mix scalars and plain numbers".into()));
                }
                let amounts: Vec<Number> = operands
                    .iter()
                    .map(|o| match o {
                        Operand::Number(n) => *n,
                        Operand::Scalar(s) => s.amount,
                    })
                    .collect();
                let subtract = name == "difference";
                let mut total = amounts[0];
                for next in &amounts[1..] {
                    total = match (total, *next) {
                        (Number::Integer(a), Number::Integer(b)) => Number::Integer(
                            if subtract {
                                a.checked_sub(b)
                            } else {
                                a.checked_add(b)
                            }
                            .ok_or_else(overflow)?,
                        ),
                        (a, b) => Number::Float(if subtract {
                            a.as_f64() - b.as_f64()
                        } else {
                            a.as_f64() + b.as_f64()
                        }),
                    };
                }
                if scalars > 0 {
                    scalar_result(total)
                } else {
                    number_result(total)
                }
            }
            "product" => match operands.as_slice() {
                [Operand::Scalar(s), Operand::Number(n)]
                | [Operand::Number(n), Operand::Scalar(s)] => {
                    scalar_result(multiply(s.amount, *n).ok_or_else(overflow)?)
                }
                _ => {
                    let mut total = Number::Integer(1);
                    for (i, o) in operands.iter().enumerate() {
                        let Operand::Number(n) = o else {
                            return Err(self.wrong(
                                i,
                                "a number (a scalar may only be multiplied by one number)",
                            ));
                        };
                        total = multiply(total, *n).ok_or_else(overflow)?;
                    }
                    number_result(total)
                }
            },
            "quotient" => {
                let Operand::Number(divisor) = operands[1] else {
                    return Err(self.wrong(1, "an integer or a float"));
                };
                if divisor.as_f64() == 0.0 {
                    return Err(self.error("divides by zero".into()));
                }
                match &operands[0] {
                    Operand::Number(n) => {
                        number_result(Number::Float(n.as_f64() / divisor.as_f64()))
                    }
                    Operand::Scalar(s) => {
                        scalar_result(Number::Float(s.amount.as_f64() / divisor.as_f64()))
                    }
                }
            }
            _ => {
                // remainder
                let Operand::Number(Number::Integer(divisor)) = operands[1] else {
                    return Err(self.wrong(1, "an integer"));
                };
                if divisor == 0 {
                    return Err(self.error("divides by zero".into()));
                }
                match &operands[0] {
                    Operand::Number(Number::Integer(n)) => number_result(Number::Integer(
                        n.checked_rem(divisor).ok_or_else(overflow)?,
                    )),
                    Operand::Scalar(s) => scalar_result(match s.amount {
                        Number::Integer(n) => {
                            Number::Integer(n.checked_rem(divisor).ok_or_else(overflow)?)
                        }
                        Number::Float(x) => Number::Float(x % divisor as f64),
                    }),
                    Operand::Number(Number::Float(_)) => {
                        Err(self.wrong(0, "an integer or a scalar"))
                    }
                }
            }
        }
    }
}

fn multiply(a: Number, b: Number) -> Option<Number> {
    match (a, b) {
        (Number::Integer(a), Number::Integer(b)) => a.checked_mul(b).map(Number::Integer),
        (a, b) => Some(Number::Float(a.as_f64() * b.as_f64())),
    }
}

fn as_bool(call: &Call, value: &Typed) -> Result<bool, FunctionError> {
    value.value.as_bool().ok_or_else(|| {
        let span = if value.value.span.is_known() {
            value.value.span
        } else {
            call.span
        };
        FunctionError::new(
            span,
            format!("{call} expects booleans, found {}", describe(&value.value)),
        )
    })
}

/// Structural equality that ignores positions and tags; integers equal floats of the same value.
fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (&a.kind, &b.kind) {
        (
            ValueKind::Integer(_) | ValueKind::Float(_),
            ValueKind::Integer(_) | ValueKind::Float(_),
        ) => Number::from_value(a)
            .zip(Number::from_value(b))
            .is_some_and(|(x, y)| x.compare(y) == Some(Ordering::Equal)),
        (ValueKind::List(x), ValueKind::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| loosely_equal(a, b))
        }
        (ValueKind::Map(x), ValueKind::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.iter()
                        .any(|(k2, v2)| loosely_equal(k, k2) && loosely_equal(v, v2))
                })
        }
        (x, y) => x == y,
    }
}

#[cfg(test)]
mod tests {
    use super::super::syntax::parse_expr;
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    fn yaml(text: &str) -> Value {
        yaml::parse(text, FileId(0)).expect("test YAML parses")
    }

    /// A resolver stand-in: `$value` is a hinted value, `$get_input` reads named inputs, and
    /// `$twice` is a custom function; it records every call it is asked about.
    #[derive(Default)]
    struct Ctx {
        value: Option<Typed>,
        inputs: Vec<(&'static str, Typed)>,
        asked: Vec<String>,
    }

    impl Context for Ctx {
        fn graph_call(&mut self, call: &Call) -> Option<Result<Typed, FunctionError>> {
            self.asked.push(call.name.clone());
            match call.name.as_str() {
                "value" => self.value.clone().map(Ok),
                "get_input" => Some(evaluate_args(call, self).and_then(|args| {
                    let name = args
                        .first()
                        .and_then(|a| a.value.as_str())
                        .unwrap_or_default()
                        .to_string();
                    self.inputs
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, t)| t.clone())
                        .ok_or_else(|| FunctionError::new(call.span, format!("no input {name}")))
                })),
                "twice" => Some(evaluate_args(call, self).map(|args| {
                    let n = args
                        .first()
                        .and_then(|a| a.value.as_i64())
                        .unwrap_or_default();
                    Typed::plain(Value::new(ValueKind::Integer(2 * n)))
                })),
                _ => None,
            }
        }
    }

    fn eval_with(ctx: &mut dyn Context, text: &str) -> Result<Typed, FunctionError> {
        let expr = parse_expr(&yaml(text)).expect("valid syntax");
        evaluate(&expr, ctx)
    }

    fn eval(text: &str) -> Result<serde_json::Value, FunctionError> {
        eval_with(&mut NoGraph, text).map(|t| t.value.to_json())
    }

    #[test]
    fn computes_the_builtins() {
        let cases: &[(&str, &str)] = &[
            ("{ $and: [ true, true, true ] }", "true"),
            ("{ $and: [ true, false ] }", "false"),
            ("{ $or: [ false, false ] }", "false"),
            ("{ $or: [ false, true ] }", "true"),
            ("{ $not: [ false ] }", "true"),
            ("{ $xor: [ true, true ] }", "false"),
            ("{ $xor: [ true, false ] }", "true"),
            ("{ $equal: [ 1, 1 ] }", "true"),
            ("{ $equal: [ 1, 1.0 ] }", "true"),
            ("{ $equal: [ abc, abd ] }", "false"),
            ("{ $equal: [ [1, {a: b}], [1, {a: b}] ] }", "true"),
            ("{ $equal: [ null, null ] }", "true"),
            ("{ $greater_than: [ 2, 1 ] }", "true"),
            ("{ $greater_than: [ 1, 1 ] }", "false"),
            ("{ $greater_or_equal: [ 1, 1 ] }", "true"),
            ("{ $less_than: [ 1.5, 2 ] }", "true"),
            ("{ $less_or_equal: [ b, a ] }", "false"),
            ("{ $less_or_equal: [ 0xFFFF, 65535 ] }", "true"),
            ("{ $valid_values: [ 4, [ 1, 2, 4, 8 ] ] }", "true"),
            ("{ $valid_values: [ 3, [ 1, 2, 4, 8 ] ] }", "false"),
            ("{ $matches: [ abc123, '[0-9]+' ] }", "true"),
            ("{ $matches: [ abc123, '^[0-9]+$' ] }", "false"),
            ("{ $has_prefix: [ hello, he ] }", "true"),
            ("{ $has_suffix: [ hello, lo ] }", "true"),
            ("{ $has_suffix: [ hello, he ] }", "false"),
            ("{ $contains: [ hello, ell ] }", "true"),
            ("{ $has_prefix: [ [1, 2, 3], [1, 2] ] }", "true"),
            ("{ $has_suffix: [ [1, 2, 3], [2, 3] ] }", "true"),
            ("{ $contains: [ [1, 2, 3], [2, 3] ] }", "true"),
            ("{ $contains: [ [1, 2, 3], [1, 3] ] }", "false"),
            ("{ $contains: [ [1], [1, 2] ] }", "false"),
            ("{ $has_entry: [ [1, 2], 2 ] }", "true"),
            ("{ $has_entry: [ { a: 1 }, 1 ] }", "true"),
            ("{ $has_entry: [ { a: 1 }, a ] }", "false"),
            ("{ $has_key: [ { a: 1 }, a ] }", "true"),
            ("{ $has_all_entries: [ [1, 2, 3], [3, 1] ] }", "true"),
            ("{ $has_all_entries: [ [1, 2, 3], [3, 4] ] }", "false"),
            ("{ $has_any_entry: [ [1, 2, 3], [4, 3] ] }", "true"),
            ("{ $has_all_keys: [ { a: 1, b: 2 }, [a, b] ] }", "true"),
            ("{ $has_any_key: [ { a: 1, b: 2 }, [c, d] ] }", "false"),
            ("{ $length: [ héllo ] }", "5"),
            ("{ $length: [ [1, 2] ] }", "2"),
            ("{ $length: [ { a: 1 } ] }", "1"),
            (
                "{ $concat: [ 'http://', host, ':', '80' ] }",
                "\"http://host:80\"",
            ),
            ("{ $concat: [ [1], [2, 3] ] }", "[1, 2, 3]"),
            (
                "{ $join: [ [ prefix, '1111', suffix ], _ ] }",
                "\"prefix_1111_suffix\"",
            ),
            ("{ $join: [ [ a, b ] ] }", "\"ab\""),
            ("{ $token: [ '10.0.0.1:8080', ':', 1 ] }", "\"8080\""),
            ("{ $token: [ 'a,,b;c', ',;', 2 ] }", "\"c\""),
            ("{ $union: [ [1, 2, 2], [2, 3] ] }", "[1, 2, 3]"),
            ("{ $union: [ [b, a, b] ] }", "[\"b\", \"a\"]"),
            (
                "{ $intersection: [ [1, 2, 2, 3], [2, 3, 4], [3, 2] ] }",
                "[2, 3]",
            ),
            ("{ $sum: [ 1, 2, 3 ] }", "6"),
            ("{ $sum: [ 1, 2.5 ] }", "3.5"),
            ("{ $difference: [ 10, 4 ] }", "6"),
            ("{ $product: [ 2, 3, 4 ] }", "24"),
            ("{ $product: [ 2, 1.5 ] }", "3.0"),
            ("{ $quotient: [ 7, 2 ] }", "3.5"),
            ("{ $remainder: [ 7, 3 ] }", "1"),
            ("{ $round: [ 3.5 ] }", "3"),
            ("{ $round: [ 3.53 ] }", "4"),
            ("{ $round: [ -3.5 ] }", "-4"),
            ("{ $round: [ 2.4 ] }", "2"),
            ("{ $floor: [ 3.9 ] }", "3"),
            ("{ $ceil: [ 3.1 ] }", "4"),
            ("{ $ceil: [ -3.9 ] }", "-3"),
            (
                "{ $and: [ { $greater_or_equal: [ 5, 0 ] }, { $less_or_equal: [ 5, 0xFFFF ] } ] }",
                "true",
            ),
            ("[ { $sum: [1, 1] }, plain ]", "[2, \"plain\"]"),
            ("{ k: { $length: [ abc ] } }", "{\"k\": 3}"),
        ];
        for (text, expected) in cases {
            let expected: serde_json::Value = serde_json::from_str(expected).expect("test JSON");
            match eval(text) {
                Ok(found) => assert_eq!(found, expected, "{text}"),
                Err(e) => panic!("{text}: {e}"),
            }
        }
    }

    #[test]
    fn refuses_bad_arguments_with_a_sentence() {
        let cases: &[(&str, &str)] = &[
            (
                "{ $equal: [ 1, '1' ] }",
                "$equal compares the integer 1 with the string \"1\"",
            ),
            (
                "{ $greater_than: [ 1, a ] }",
                "$greater_than compares a number with a string",
            ),
            (
                "{ $less_than: [ [1], [2] ] }",
                "$less_than compares integers, floats, strings",
            ),
            (
                "{ $and: [ true, 1 ] }",
                "$and expects booleans, found the integer 1",
            ),
            (
                "{ $not: [ yes ] }",
                "$not expects booleans, found the string \"yes\"",
            ),
            (
                "{ $matches: [ a, '(' ] }",
                "$matches \"(\" is not a valid regular expression",
            ),
            (
                "{ $concat: [ a, 1 ] }",
                "$concat expects a string as argument 2, found the integer 1",
            ),
            (
                "{ $concat: [ a, [b] ] }",
                "$concat expects a string as argument 2",
            ),
            ("{ $join: [ [ a, 1 ] ] }", "$join joins a list of strings"),
            (
                "{ $token: [ a, ':', 1 ] }",
                "$token asks for token 1 of \"a\", which has only 1 tokens",
            ),
            (
                "{ $token: [ a, ':', -1 ] }",
                "$token expects a non-negative integer as argument 3",
            ),
            (
                "{ $length: [ 5 ] }",
                "$length expects a string, a list or a map",
            ),
            (
                "{ $sum: [ 1, '2' ] }",
                "$sum expects an integer, a float or a scalar as argument 2",
            ),
            (
                "{ $sum: [ 9223372036854775807, 1 ] }",
                "$sum overflows a 64-bit integer",
            ),
            ("{ $quotient: [ 1, 0 ] }", "$quotient divides by zero"),
            ("{ $remainder: [ 1, 0 ] }", "$remainder divides by zero"),
            (
                "{ $remainder: [ 1.5, 1 ] }",
                "$remainder expects an integer or a scalar",
            ),
            (
                "{ $round: [ .inf ] }",
                "$round cannot turn inf into a 64-bit integer",
            ),
            (
                "{ $has_key: [ [a], a ] }",
                "$has_key expects a map as argument 1",
            ),
            ("{ $get_input: x }", "$get_input cannot be evaluated here"),
            ("$value", "$value cannot be evaluated here"),
            (
                "{ $sqrt: 4 }",
                "the custom function $sqrt has no implementation",
            ),
        ];
        for (text, message) in cases {
            match eval(text) {
                Ok(v) => panic!("{text} should fail, gave {v}"),
                Err(e) => assert!(e.message.starts_with(message), "{text}: {}", e.message),
            }
        }
    }

    #[test]
    fn and_or_short_circuit() {
        let mut ctx = Ctx::default();
        let found = eval_with(&mut ctx, "{ $and: [ false, { $get_input: missing } ] }").unwrap();
        assert_eq!(found.value.as_bool(), Some(false));
        let found = eval_with(&mut ctx, "{ $or: [ true, { $get_input: missing } ] }").unwrap();
        assert_eq!(found.value.as_bool(), Some(true));
        assert!(
            ctx.asked.iter().all(|n| n != "get_input"),
            "{:?}",
            ctx.asked
        );
        assert!(eval_with(&mut ctx, "{ $and: [ true, { $get_input: missing } ] }").is_err());
    }

    fn scalar_units(units: &str, prefixes: Option<&str>, data_type: &str) -> Arc<ScalarUnits> {
        let prefixes = prefixes.map(yaml);
        Arc::new(
            ScalarUnits::from_definition(&yaml(units), prefixes.as_ref(), None, Some(data_type))
                .expect("valid units"),
        )
    }

    #[test]
    fn hints_make_scalars_versions_and_timestamps_comparable() {
        let length = scalar_units(
            "{ m: 1 }",
            Some("{ m: 0.001, c: 0.01, \"\": 1, k: 1000 }"),
            "float",
        );
        let mut ctx = Ctx {
            value: Some(Typed::hinted(
                Value::string("125.3 mm"),
                TypeHint::Scalar(length.clone()),
            )),
            inputs: vec![
                (
                    "version",
                    Typed::hinted(Value::string("1.0.0.alpha-10"), TypeHint::Version),
                ),
                (
                    "when",
                    Typed::hinted(
                        Value::string("1996-12-19T16:39:57-08:00"),
                        TypeHint::Timestamp,
                    ),
                ),
                (
                    "size",
                    Typed::hinted(Value::string("2 km"), TypeHint::Scalar(length.clone())),
                ),
            ],
            ..Ctx::default()
        };
        let cases: &[(&str, bool)] = &[
            ("{ $less_than: [ $value, 15 cm ] }", true),
            ("{ $greater_than: [ 1 cm, $value ] }", false),
            ("{ $equal: [ $value, 0.1253 m ] }", true),
            ("{ $valid_values: [ $value, [ 1 m, 125.3 mm ] ] }", true),
            ("{ $less_than: [ { $get_input: version }, '1.0.0' ] }", true),
            (
                "{ $greater_than: [ { $get_input: version }, '1.0.0.alpha-9' ] }",
                true,
            ),
            (
                "{ $equal: [ { $get_input: when }, '1996-12-20T00:39:57Z' ] }",
                true,
            ),
            (
                "{ $less_than: [ { $get_input: when }, '1996-12-19T17:00:00-08:00' ] }",
                true,
            ),
            ("{ $greater_than: [ { $get_input: size }, 1999 m ] }", true),
            // Without a hint the same strings compare as text.
            ("{ $less_than: [ '10.0.0', '9.0.0' ] }", true),
        ];
        for (text, expected) in cases {
            let found = eval_with(&mut ctx, text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(found.value.as_bool(), Some(*expected), "{text}");
        }
        let mut lists = Ctx {
            value: Some(Typed::hinted(
                yaml("[ 1 m, 20 cm ]"),
                TypeHint::Scalar(length.clone()),
            )),
            ..Ctx::default()
        };
        for (text, expected) in [
            ("{ $has_entry: [ $value, 200 mm ] }", true),
            ("{ $has_entry: [ $value, 2 m ] }", false),
            ("{ $has_all_entries: [ $value, [ 100 cm, 0.2 m ] ] }", true),
        ] {
            let found = eval_with(&mut lists, text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(found.value.as_bool(), Some(expected), "{text}");
        }
        let err = eval_with(&mut ctx, "{ $less_than: [ $value, 15 ] }").unwrap_err();
        assert!(err.message.contains("cannot compare"), "{err}");
        let err = eval_with(&mut ctx, "{ $less_than: [ $value, 15 lb ] }").unwrap_err();
        assert!(err.message.contains("\"lb\""), "{err}");
    }

    #[test]
    fn arithmetic_on_scalars_gives_canonical_scalars() {
        let size = scalar_units(
            "{ B: 1 }",
            Some("{ \"\": 1, k: 1000, Ki: 1024 }"),
            "integer",
        );
        let mut ctx = Ctx {
            inputs: vec![(
                "disk",
                Typed::hinted(Value::string("2 kB"), TypeHint::Scalar(size.clone())),
            )],
            ..Ctx::default()
        };
        let cases: &[(&str, &str)] = &[
            ("{ $sum: [ { $get_input: disk }, 1 KiB, 24 B ] }", "3048 B"),
            ("{ $difference: [ { $get_input: disk }, 1 kB ] }", "1000 B"),
            ("{ $product: [ { $get_input: disk }, 3 ] }", "6000 B"),
            ("{ $quotient: [ { $get_input: disk }, 3 ] }", "666 B"),
            ("{ $remainder: [ { $get_input: disk }, 3 ] }", "2 B"),
        ];
        for (text, expected) in cases {
            let found = eval_with(&mut ctx, text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(found.value.as_str(), Some(*expected), "{text}");
            assert_eq!(found.hint, Some(TypeHint::Scalar(size.clone())), "{text}");
        }
        let nested = "{ $greater_than: [ { $sum: [ { $get_input: disk }, 1 kB ] }, 2999 B ] }";
        assert_eq!(
            eval_with(&mut ctx, nested).unwrap().value.as_bool(),
            Some(true)
        );
        let err = eval_with(&mut ctx, "{ $sum: [ { $get_input: disk }, 5 ] }").unwrap_err();
        assert!(err.message.contains("cannot mix scalars"), "{err}");
        let err = eval("{ $sum: [ 1 kB, 2 kB ] }").unwrap_err();
        assert!(err.message.contains("as argument 1"), "{err}");
    }

    #[test]
    fn bytes_have_a_byte_length() {
        let mut ctx = Ctx {
            inputs: vec![(
                "blob",
                Typed::hinted(Value::string("aGVsbG8h"), TypeHint::Bytes),
            )],
            ..Ctx::default()
        };
        let found = eval_with(&mut ctx, "{ $length: [ { $get_input: blob } ] }").unwrap();
        assert_eq!(found.value.as_i64(), Some(6));
        assert_eq!(
            eval("{ $length: [ aGVsbG8h ] }").unwrap(),
            serde_json::json!(8)
        );
        assert_eq!(
            TypeHint::for_primitive(Primitive::Bytes),
            Some(TypeHint::Bytes)
        );
        assert_eq!(TypeHint::for_primitive(Primitive::String), None);
    }

    #[test]
    fn custom_functions_and_runtime_detection() {
        let mut ctx = Ctx::default();
        let found = eval_with(&mut ctx, "{ $sum: [ { $twice: 4 }, 1 ] }").unwrap();
        assert_eq!(found.value.as_i64(), Some(9));
        let runtime = parse_expr(&yaml(
            "{ $concat: [ a, { $get_attribute: [ SELF, ip ] } ] }",
        ))
        .unwrap();
        assert!(needs_runtime(&runtime));
        let static_expr =
            parse_expr(&yaml("{ $concat: [ a, { $get_property: [ SELF, ip ] } ] }")).unwrap();
        assert!(!needs_runtime(&static_expr));
    }

    /// Random values whose maps are often single-key calls of random built-ins.
    fn arbitrary_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let names: Vec<String> = crate::tosca::functions::BUILTINS
            .iter()
            .map(|b| format!("${}", b.name))
            .chain(["$custom".to_string(), "$$escaped".to_string()])
            .collect();
        let leaf = prop_oneof![
            Just(Value::new(ValueKind::Null)),
            any::<bool>().prop_map(|b| Value::new(ValueKind::Bool(b))),
            (-5i64..5).prop_map(|i| Value::new(ValueKind::Integer(i))),
            Just(Value::new(ValueKind::Integer(i64::MAX))),
            (-5.0f64..5.0).prop_map(|f| Value::new(ValueKind::Float(f))),
            Just(Value::new(ValueKind::Float(f64::NAN))),
            prop::sample::select(vec!["", "a", "1 kB", "1.0", "2025-01-01", ":", "aGk="])
                .prop_map(Value::string),
            prop::sample::select(names.clone()).prop_map(Value::string),
        ];
        leaf.prop_recursive(4, 40, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| Value::new(ValueKind::List(items))),
                (prop::sample::select(names.clone()), inner.clone()).prop_map(|(name, args)| {
                    Value::new(ValueKind::Map(vec![(Value::string(name), args)]))
                }),
                prop::collection::vec(
                    (prop::sample::select(vec!["k", "$sum", "$$x"]), inner),
                    0..3
                )
                .prop_map(|entries| {
                    let mut seen = Vec::new();
                    let entries = entries
                        .into_iter()
                        .filter(|(k, _)| {
                            let fresh = !seen.contains(k);
                            seen.push(*k);
                            fresh
                        })
                        .map(|(k, v)| (Value::string(k), v))
                        .collect();
                    Value::new(ValueKind::Map(entries))
                }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_expression(value in arbitrary_value()) {
            if let Ok(expr) = parse_expr(&value) {
                let _ = crate::tosca::functions::check_expr(&expr, &|_| false);
                let _ = evaluate(&expr, &mut NoGraph);
                let _ = evaluate(&expr, &mut Ctx::default());
                let again = parse_expr(&expr.to_value());
                proptest::prop_assert!(again.is_ok());
            }
        }
    }
}
