//! The TOSCA `version` type: `major.minor[.fix[.qualifier[-build]]]`.
//!
//! Ordering follows the specification's Maven-like rules: numbers compare left to right (a
//! missing fix counts as 0, so `1.0` equals `1.0.0`), a qualified version is older than the same
//! unqualified one, and the same qualifier compares by build. The specification leaves
//! different qualifiers unordered ("different branches"); we order them by text so that `Ord`
//! stays total, which only matters for sorting.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::error::DataError;
use crate::tosca::source::Span;
use crate::tosca::value::{Value, ValueKind};

/// A parsed TOSCA version.
#[derive(Clone, Debug)]
pub struct Version {
    /// The major number.
    pub major: u64,
    /// The minor number.
    pub minor: u64,
    /// The fix number, if written.
    pub fix: Option<u64>,
    /// The pre-release qualifier (`alpha`, `beta`…), only after a fix number.
    pub qualifier: Option<String>,
    /// The build number, only after a qualifier.
    pub build: Option<u64>,
}

impl Version {
    /// Reads a version from a YAML node, which must be a string: an unquoted `6.1` is a float
    /// and is refused with a hint to quote it.
    pub fn from_value(value: &Value) -> Result<Version, DataError> {
        match &value.kind {
            ValueKind::String(s) if value.tag.is_none() => s
                .parse::<Version>()
                .map_err(|e| DataError::new(value.span, e.message)),
            ValueKind::Float(_) | ValueKind::Integer(_) => Err(DataError::new(
                value.span,
                format!(
                    "expected a version string, found the {} {value}; quote it (\"{value}\") so that YAML reads a string",
                    value.kind_name()
                ),
            )),
            _ => Err(DataError::new(
                value.span,
                format!(
                    "expected a version string such as \"1.0.0\", found a {}",
                    value.kind_name()
                ),
            )),
        }
    }

    /// Whether this is the "no version" value `0.0` (or `0.0.0`).
    pub fn is_zero(&self) -> bool {
        self.major == 0 && self.minor == 0 && self.fix.unwrap_or(0) == 0 && self.qualifier.is_none()
    }
}

impl FromStr for Version {
    type Err = DataError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            DataError::new(
                Span::NONE,
                format!(
                    "{text:?} is not a version: {why}; expected major.minor[.fix[.qualifier[-build]]], such as 1.0.0.alpha-10"
                ),
            )
        };
        let number = |part: &str, name: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(&format!(
                    "the {name} {part:?} is not a non-negative integer"
                )));
            }
            part.parse::<u64>()
                .map_err(|_| bad(&format!("the {name} is too large")))
        };
        // The qualifier may not contain dots, so at most four dot-separated parts.
        let parts: Vec<&str> = text.splitn(4, '.').collect();
        if parts.len() < 2 {
            return Err(bad("it needs at least a major and a minor number"));
        }
        let major = number(parts[0], "major version")?;
        let minor = number(parts[1], "minor version")?;
        let fix = parts.get(2).map(|p| number(p, "fix version")).transpose()?;
        let (qualifier, build) = match parts.get(3) {
            None => (None, None),
            Some(rest) => {
                let (qualifier, build) = match rest.rsplit_once('-') {
                    Some((q, b)) => (q, Some(number(b, "build version")?)),
                    None => (*rest, None),
                };
                if qualifier.is_empty() {
                    return Err(bad("the qualifier is empty"));
                }
                if qualifier.contains('.') {
                    return Err(bad("the qualifier may not contain a dot"));
                }
                if qualifier.chars().any(char::is_whitespace) {
                    return Err(bad("the qualifier may not contain spaces"));
                }
                (Some(qualifier.to_string()), build)
            }
        };
        Ok(Version {
            major,
            minor,
            fix,
            qualifier,
            build,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if let Some(fix) = self.fix {
            write!(f, ".{fix}")?;
        }
        if let Some(qualifier) = &self.qualifier {
            write!(f, ".{qualifier}")?;
        }
        if let Some(build) = self.build {
            write!(f, "-{build}")?;
        }
        Ok(())
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.fix.unwrap_or(0))
            .cmp(&(other.major, other.minor, other.fix.unwrap_or(0)))
            .then_with(|| match (&self.qualifier, &other.qualifier) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a
                    .cmp(b)
                    .then_with(|| self.build.unwrap_or(0).cmp(&other.build.unwrap_or(0))),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_the_grammar() {
        let ok = [
            ("6.1", "6.1", None, None, None),
            ("0.0", "0.0", None, None, None),
            ("2.0.1", "2.0.1", Some(1), None, None),
            ("3.1.0.beta", "3.1.0.beta", Some(0), Some("beta"), None),
            (
                "1.0.0.alpha-10",
                "1.0.0.alpha-10",
                Some(0),
                Some("alpha"),
                Some(10),
            ),
            (
                "1.0.0.rc-x-2",
                "1.0.0.rc-x-2",
                Some(0),
                Some("rc-x"),
                Some(2),
            ),
        ];
        for (text, shown, fix, qualifier, build) in ok {
            let parsed = v(text);
            assert_eq!(parsed.to_string(), shown);
            assert_eq!(parsed.fix, fix, "{text}");
            assert_eq!(parsed.qualifier.as_deref(), qualifier, "{text}");
            assert_eq!(parsed.build, build, "{text}");
        }
        for bad in [
            "",
            "1",
            "1.",
            ".1",
            "a.b",
            "1.0.x",
            "1..0",
            "1..0.abc",
            "1.0.0.",
            "1.0.0.a.b",
            "1.0.0.alpha-",
            "1.0.0.alpha-x",
            "-1.0",
            "1.0 ",
            "tosca-2-0",
            "1.0.0.-3",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn orders_like_tosca() {
        let ascending = [
            "0.9",
            "1.0.0.alpha",
            "1.0.0.alpha-2",
            "1.0.0.alpha-10",
            "1.0",
            "1.0.1",
            "1.2",
            "1.10",
            "2.0.0.beta",
            "2.0",
        ];
        for pair in ascending.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0"), v("1.0.0"));
        assert!(v("0.0").is_zero());
        assert!(!v("0.0.1").is_zero());
    }

    #[test]
    fn values_must_be_strings() {
        assert!(Version::from_value(&Value::string("6.1")).is_ok());
        let float = Value::new(ValueKind::Float(6.1));
        let err = Version::from_value(&float).unwrap_err();
        assert!(err.message.contains("quote it"), "{err}");
        assert!(Version::from_value(&Value::new(ValueKind::Integer(2))).is_err());
    }

    proptest::proptest! {
        #[test]
        fn display_and_parse_round_trip(
            major in 0u64..1000,
            minor in 0u64..1000,
            fix in proptest::option::of(0u64..1000),
            qualifier in proptest::option::of("[a-z][a-z0-9_]{0,8}"),
            build in proptest::option::of(0u64..1000),
        ) {
            // The grammar nests: a qualifier needs a fix, a build needs a qualifier.
            let qualifier = fix.and(qualifier);
            let build = qualifier.as_ref().and(build);
            let version = Version { major, minor, fix, qualifier, build };
            let text = version.to_string();
            let parsed: Version = text.parse().expect("displayed versions parse");
            proptest::prop_assert_eq!(parsed.to_string(), text);
            proptest::prop_assert_eq!(&parsed, &version);
            if version.qualifier.is_some() {
                let release = Version { qualifier: None, build: None, ..version.clone() };
                proptest::prop_assert!(version < release);
            }
        }
    }
}
