//! The processor's document model: YAML values that remember where they came from.
//!
//! TOSCA forbids silent conversions (an unquoted `0.1` is a float, never a string; `yes` is a
//! string, never a boolean), so scalars are resolved once, by the YAML 1.2 core schema, in
//! [`crate::tosca::yaml`], and every later stage sees exactly what the author wrote. Explicit tags
//! (`!!binary`, `!!timestamp`) are kept so that the stages that must reject them can.

use std::fmt;

use super::source::Span;

/// A YAML node with its position and, when the author wrote one, its explicit tag.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// What the node holds.
    pub kind: ValueKind,
    /// Where the node starts.
    pub span: Span,
    /// An explicit YAML tag other than the core ones (`!!binary`, `!!timestamp`, `!custom`).
    pub tag: Option<Box<str>>,
}

/// The shapes a YAML node can take after core-schema resolution.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    /// `null`, `~` or an empty node.
    Null,
    /// Only `true` or `false`.
    Bool(bool),
    /// A 64-bit integer (decimal, `0x` hex or `0o` octal in the source).
    Integer(i64),
    /// A 64-bit float, including `.inf` and `.nan`.
    Float(f64),
    /// Any other scalar, and every quoted scalar.
    String(String),
    /// A sequence.
    List(Vec<Value>),
    /// A mapping, in source order (keys are unique: the parser rejects duplicates).
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// A value with no source position (built-ins, inputs from the command line).
    pub fn new(kind: ValueKind) -> Self {
        Value {
            kind,
            span: Span::NONE,
            tag: None,
        }
    }

    /// Another content at this value's position, with its tag: copies neither this value's
    /// content nor its children.
    pub fn with_kind(&self, kind: ValueKind) -> Self {
        Value {
            kind,
            span: self.span,
            tag: self.tag.clone(),
        }
    }

    /// A value at a position.
    pub fn at(kind: ValueKind, span: Span) -> Self {
        Value {
            kind,
            span,
            tag: None,
        }
    }

    /// A string value with no position.
    pub fn string(s: impl Into<String>) -> Self {
        Value::new(ValueKind::String(s.into()))
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ValueKind::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self.kind {
            ValueKind::Integer(i) => Some(i),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            ValueKind::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The entries, if this is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match &self.kind {
            ValueKind::List(l) => Some(l),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match &self.kind {
            ValueKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, ValueKind::Null)
    }

    /// Looks up a string key in a map (linear: maps in TOSCA files are small; large ones are
    /// indexed by the stage that reads them).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name for the node's shape, for messages ("expected a map, found a list").
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ValueKind::Null => "null",
            ValueKind::Bool(_) => "boolean",
            ValueKind::Integer(_) => "integer",
            ValueKind::Float(_) => "float",
            ValueKind::String(_) => "string",
            ValueKind::List(_) => "list",
            ValueKind::Map(_) => "map",
        }
    }

    /// The value as JSON (for output); non-string map keys are rendered as their YAML text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.kind {
            ValueKind::Null => J::Null,
            ValueKind::Bool(b) => J::Bool(*b),
            ValueKind::Integer(i) => J::from(*i),
            ValueKind::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or_else(|| J::String(f.to_string())),
            ValueKind::String(s) => J::String(s.clone()),
            ValueKind::List(l) => J::Array(l.iter().map(Value::to_json).collect()),
            ValueKind::Map(m) => J::Object(
                m.iter()
                    .map(|(k, v)| {
                        let key = match &k.kind {
                            ValueKind::String(s) => s.clone(),
                            _ => k.to_string(),
                        };
                        (key, v.to_json())
                    })
                    .collect(),
            ),
        }
    }

    /// A value from JSON (command-line inputs, stored attributes); it has no position.
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        let kind = match json {
            J::Null => ValueKind::Null,
            J::Bool(b) => ValueKind::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => ValueKind::Integer(i),
                None => ValueKind::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => ValueKind::String(s.clone()),
            J::Array(a) => ValueKind::List(a.iter().map(Value::from_json).collect()),
            J::Object(o) => ValueKind::Map(
                o.iter()
                    .map(|(k, v)| (Value::string(k.clone()), Value::from_json(v)))
                    .collect(),
            ),
        };
        Value::new(kind)
    }
}

impl fmt::Display for Value {
    /// Compact, YAML-flow-like rendering for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ValueKind::Null => write!(f, "null"),
            ValueKind::Bool(b) => write!(f, "{b}"),
            ValueKind::Integer(i) => write!(f, "{i}"),
            ValueKind::Float(x) => write!(f, "{x:?}"),
            ValueKind::String(s) => write!(f, "{s:?}"),
            ValueKind::List(l) => {
                write!(f, "[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            ValueKind::Map(m) => {
                write!(f, "{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}
