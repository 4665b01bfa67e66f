//! Numbers as TOSCA sees them: a 64-bit integer or a 64-bit float, never silently mixed.

use std::cmp::Ordering;
use std::fmt;

use crate::tosca::value::{Value, ValueKind};

/// An integer or a float, keeping which one the author wrote (a scalar of `data_type: integer`
/// refuses `1.5 Mbits/s` even though the amount would be whole).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// A YAML `!!int`.
    Integer(i64),
    /// A YAML `!!float`.
    Float(f64),
}

impl Number {
    /// The number of a YAML integer or float node.
    pub fn from_value(value: &Value) -> Option<Number> {
        match value.kind {
            ValueKind::Integer(i) => Some(Number::Integer(i)),
            ValueKind::Float(f) => Some(Number::Float(f)),
            _ => None,
        }
    }

    /// Parses number text in YAML 1.2 core notation: decimal, `0x` hex and `0o` octal
    /// integers, and decimal or scientific floats. `.inf` and `.nan` are refused: a scalar
    /// amount must be finite.
    pub fn parse_yaml(text: &str) -> Option<Number> {
        let (negative, digits) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let radix = |prefix: &str, radix: u32| {
            let body = digits.strip_prefix(prefix)?;
            if negative || body.is_empty() {
                return None;
            }
            i64::from_str_radix(body, radix).ok().map(Number::Integer)
        };
        if digits.starts_with("0x") {
            return radix("0x", 16);
        }
        if digits.starts_with("0o") {
            return radix("0o", 8);
        }
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse::<i64>().ok().map(Number::Integer);
        }
        if is_yaml_float(digits) {
            return text
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Number::Float);
        }
        None
    }

    /// The value as a float (integers widen; beyond 2^53 they round).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Integer(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    /// Whether the author wrote an integer.
    pub fn is_integer(self) -> bool {
        matches!(self, Number::Integer(_))
    }

    /// The number as a YAML value with no position.
    pub fn to_value(self) -> Value {
        match self {
            Number::Integer(i) => Value::new(ValueKind::Integer(i)),
            Number::Float(f) => Value::new(ValueKind::Float(f)),
        }
    }

    /// Numeric order; integers compare exactly with each other, mixed pairs as floats.
    pub fn compare(self, other: Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Integer(a), Number::Integer(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Integer(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// The YAML 1.2 core float pattern without sign: `( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`.
fn is_yaml_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            all_digits(whole) && all_digits(fraction) && (!whole.is_empty() || !fraction.is_empty())
        }
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = match exponent {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && all_digits(e)
        }
    };
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yaml_number_notations() {
        let cases: &[(&str, Option<Number>)] = &[
            ("10", Some(Number::Integer(10))),
            ("-1", Some(Number::Integer(-1))),
            ("+7", Some(Number::Integer(7))),
            ("0x1F", Some(Number::Integer(31))),
            ("0o17", Some(Number::Integer(15))),
            ("1.5", Some(Number::Float(1.5))),
            ("125.3", Some(Number::Float(125.3))),
            (".5", Some(Number::Float(0.5))),
            ("1.", Some(Number::Float(1.0))),
            ("1e3", Some(Number::Float(1000.0))),
            ("1.23015e+3", Some(Number::Float(1230.15))),
            ("-0.5", Some(Number::Float(-0.5))),
            ("", None),
            ("-", None),
            (".", None),
            ("1,000", None),
            ("1e", None),
            ("0x", None),
            ("-0x10", None),
            (".inf", None),
            ("abc", None),
            ("99999999999999999999", None),
        ];
        for (text, expected) in cases {
            assert_eq!(Number::parse_yaml(text), *expected, "{text:?}");
        }
    }

    #[test]
    fn compares_mixed_numbers() {
        assert_eq!(
            Number::Integer(2).compare(Number::Float(1.5)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Number::Integer(i64::MAX).compare(Number::Integer(i64::MAX - 1)),
            Some(Ordering::Greater)
        );
        assert_eq!(Number::Float(f64::NAN).compare(Number::Integer(1)), None);
    }
}
