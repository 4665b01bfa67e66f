//! The built-in types by name, and the check of a YAML value against one of them.

use std::fmt;

use super::bytes::decode_bytes;
use super::error::DataError;
use super::scalar::split_scalar_text;
use super::timestamp::Timestamp;
use super::version::Version;
use crate::tosca::value::{Value, ValueKind};

/// A TOSCA built-in type: every data type derives, in the end, from one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// `string`: a YAML string, never converted from another scalar.
    String,
    /// `integer`: a 64-bit signed YAML integer.
    Integer,
    /// `float`: a 64-bit float; a YAML integer is accepted as its value.
    Float,
    /// `boolean`: only `true` or `false`.
    Boolean,
    /// `bytes`: a Base64 string.
    Bytes,
    /// `nil`: only `null`.
    Nil,
    /// `timestamp`: an RFC 3339 string.
    Timestamp,
    /// `version`: `major.minor[.fix[.qualifier[-build]]]`.
    Version,
    /// `scalar`: the abstract root of scalar types, `"<number> <unit>"`.
    Scalar,
    /// `list`: a YAML sequence.
    List,
    /// `map`: a YAML mapping.
    Map,
}

impl Primitive {
    /// Every built-in type, in the specification's order.
    pub const ALL: [Primitive; 11] = [
        Primitive::String,
        Primitive::Integer,
        Primitive::Float,
        Primitive::Boolean,
        Primitive::Bytes,
        Primitive::Nil,
        Primitive::Timestamp,
        Primitive::Version,
        Primitive::Scalar,
        Primitive::List,
        Primitive::Map,
    ];

    /// The built-in type with this TOSCA name (`string`, `integer`…), if there is one.
    pub fn from_name(name: &str) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The TOSCA name of the type.
    pub fn name(self) -> &'static str {
        match self {
            Primitive::String => "string",
            Primitive::Integer => "integer",
            Primitive::Float => "float",
            Primitive::Boolean => "boolean",
            Primitive::Bytes => "bytes",
            Primitive::Nil => "nil",
            Primitive::Timestamp => "timestamp",
            Primitive::Version => "version",
            Primitive::Scalar => "scalar",
            Primitive::List => "list",
            Primitive::Map => "map",
        }
    }

    /// Whether values of this type are compared and sorted (`$greater_than` and friends).
    pub fn is_comparable(self) -> bool {
        matches!(
            self,
            Primitive::String
                | Primitive::Integer
                | Primitive::Float
                | Primitive::Timestamp
                | Primitive::Version
                | Primitive::Scalar
        )
    }
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks a value against a built-in type with no conversion at all.
///
/// Lists and maps are checked for shape only: their entries are the caller's to check against
/// the `entry_schema` and `key_schema`. A `scalar` is checked for the `"<number> <unit>"` shape
/// only, since the abstract type has no units; concrete scalar types use [`super::ScalarUnits`].
pub fn check_primitive(primitive: Primitive, value: &Value) -> Result<(), DataError> {
    if let Some(tag) = &value.tag {
        return Err(DataError::new(
            value.span,
            format!(
                "expected a {primitive} value, found a value with the YAML tag {tag}; TOSCA does not accept explicit YAML tags"
            ),
        ));
    }
    let found = || describe(value);
    let wrong = |expected: &str| {
        Err(DataError::new(
            value.span,
            format!("expected {expected}, found {}", found()),
        ))
    };
    match (primitive, &value.kind) {
        (Primitive::String, ValueKind::String(_)) => Ok(()),
        (Primitive::String, ValueKind::Integer(_) | ValueKind::Float(_) | ValueKind::Bool(_)) => {
            Err(DataError::new(
                value.span,
                format!(
                    "expected a string, found {}; quote it (\"{}\") if it is meant as text",
                    found(),
                    plain_text(value)
                ),
            ))
        }
        (Primitive::String, _) => wrong("a string"),
        (Primitive::Integer, ValueKind::Integer(_)) => Ok(()),
        (Primitive::Integer, _) => wrong("an integer"),
        (Primitive::Float, ValueKind::Integer(_) | ValueKind::Float(_)) => Ok(()),
        (Primitive::Float, _) => wrong("a float"),
        (Primitive::Boolean, ValueKind::Bool(_)) => Ok(()),
        (Primitive::Boolean, _) => wrong("a boolean (unquoted lowercase true or false)"),
        (Primitive::Bytes, _) => decode_bytes(value).map(|_| ()),
        (Primitive::Nil, ValueKind::Null) => Ok(()),
        (Primitive::Nil, _) => wrong("null (the only nil value)"),
        (Primitive::Timestamp, _) => Timestamp::from_value(value).map(|_| ()),
        (Primitive::Version, _) => Version::from_value(value).map(|_| ()),
        (Primitive::Scalar, ValueKind::String(text)) => split_scalar_text(text)
            .map(|_| ())
            .map_err(|why| DataError::new(value.span, why)),
        (Primitive::Scalar, _) => wrong("a scalar string \"<number> <unit>\""),
        (Primitive::List, ValueKind::List(_)) => Ok(()),
        (Primitive::List, _) => wrong("a list"),
        (Primitive::Map, ValueKind::Map(_)) => Ok(()),
        (Primitive::Map, _) => wrong("a map"),
    }
}

/// "the float 0.1", "the string \"no\"", "null", "a list".
pub(crate) fn describe(value: &Value) -> String {
    match &value.kind {
        ValueKind::Null => "null".to_string(),
        ValueKind::List(_) | ValueKind::Map(_) => format!("a {}", value.kind_name()),
        _ => format!("the {} {value}", value.kind_name()),
    }
}

fn plain_text(value: &Value) -> String {
    match value.kind {
        ValueKind::Float(f) if f.is_nan() => ".nan".into(),
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    /// Parses `v: <text>` and checks the value of `v`.
    fn check(primitive: Primitive, text: &str) -> Result<(), DataError> {
        let doc = yaml::parse(&format!("v: {text}\n"), FileId(0)).expect("test YAML parses");
        check_primitive(primitive, doc.get("v").expect("has v"))
    }

    #[test]
    fn names_round_trip() {
        for p in Primitive::ALL {
            assert_eq!(Primitive::from_name(p.name()), Some(p));
        }
        assert_eq!(Primitive::from_name("str"), None);
        assert_eq!(Primitive::from_name("scalar-unit.size"), None);
    }

    #[test]
    fn follows_the_conformance_rules() {
        use Primitive::*;
        let cases: &[(Primitive, &str, bool)] = &[
            (String, "\"0.1\"", true),
            (String, "\"\"", true),
            (String, "0.1", false),
            (String, "", false),
            (String, "true", false),
            (String, "hello world", true),
            (Integer, "1", true),
            (Integer, "-1", true),
            (Integer, "0xFFFF0000", true),
            (Integer, "0o755", true),
            (Integer, "1.0", false),
            (Integer, "\"1\"", false),
            (Float, "0.1", true),
            (Float, "10", true),
            (Float, "-.inf", true),
            (Float, ".NaN", true),
            (Float, "1.8e+308", true),
            (Float, "\"1.0\"", false),
            (Boolean, "false", true),
            (Boolean, "true", true),
            (Boolean, "False", false),
            (Boolean, "no", false),
            (Boolean, "0", false),
            (Bytes, "\"\"", true),
            (Bytes, "\"aGVsbG8=\"", true),
            (Bytes, "\"not base64!\"", false),
            (Bytes, "!!binary aGVsbG8=", false),
            (Bytes, "12", false),
            (Nil, "null", true),
            (Nil, "~", true),
            (Nil, "\"null\"", false),
            (Nil, "0", false),
            (Timestamp, "\"2025-04-12T23:20:50.52Z\"", true),
            (Timestamp, "\"2000-02-29\"", true),
            (Timestamp, "\"2001-12-14 21:59:43.10\"", false),
            (Timestamp, "!!timestamp 2001-12-14T21:59:43Z", false),
            (Version, "\"6.1\"", true),
            (Version, "2.0.1", true),
            (Version, "3.1.0.beta", true),
            (Version, "1.0.0.alpha-10", true),
            (Version, "\"0.0\"", true),
            (Version, "6.1", false),
            (Version, "1..0.abc", false),
            (Scalar, "10 kg", true),
            (Scalar, "10", false),
            (Scalar, "g", false),
            (List, "[1, 2]", true),
            (List, "{a: 1}", false),
            (Map, "{a: 1}", true),
            (Map, "[1]", false),
        ];
        for (primitive, text, valid) in cases {
            let result = check(*primitive, text);
            assert_eq!(result.is_ok(), *valid, "{primitive} {text:?}: {result:?}");
        }
    }

    #[test]
    fn errors_say_what_was_found_and_expected() {
        let err = check(Primitive::String, "0.1").unwrap_err();
        assert_eq!(
            err.message,
            "expected a string, found the float 0.1; quote it (\"0.1\") if it is meant as text"
        );
        assert_eq!((err.span.line, err.span.column), (1, 4));
        let err = check(Primitive::Boolean, "no").unwrap_err();
        assert!(err.message.contains("found the string \"no\""), "{err}");
    }
}
