//! Concrete scalar types (`derived_from: scalar`): their unit tables and their values.
//!
//! A scalar value is a string `"<number> <unit>"`: a number in YAML notation, at least one
//! whitespace, and a unit the type defines (the specification makes the whitespace mandatory,
//! so `10kg` is refused). A unit is either a key of `units`, or, when the type has `prefixes`
//! (allowed only with a single unit of multiplier 1), a prefix followed by that unit. Values
//! compare by their amount in the canonical unit.
//!
//! `data_type` is passed as the primitive it resolves to (`float` or `integer`): the type
//! registry resolves derived names such as `PositiveInteger` and applies their validation to
//! [`Scalar::number`] itself.

use std::cmp::Ordering;
use std::fmt;

use indexmap::IndexMap;

use super::error::DataError;
use super::number::Number;
use super::primitive::describe;
use crate::tosca::source::Span;
use crate::tosca::value::{Value, ValueKind};

/// The kind of number a scalar type counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarNumberType {
    /// `data_type: float` (the default): integers in values are accepted and widened.
    Float,
    /// `data_type: integer`: numbers and multipliers must be integers.
    Integer,
}

impl ScalarNumberType {
    fn from_name(name: Option<&str>) -> Result<ScalarNumberType, DataError> {
        match name {
            None | Some("float") => Ok(ScalarNumberType::Float),
            Some("integer") => Ok(ScalarNumberType::Integer),
            Some(other) => Err(DataError::new(
                Span::NONE,
                format!(
                    "a scalar's data_type must be float or integer (or derived from them), found {other:?}"
                ),
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            ScalarNumberType::Float => "float",
            ScalarNumberType::Integer => "integer",
        }
    }
}

/// The unit table of one concrete scalar type, checked against every definition rule.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarUnits {
    units: IndexMap<String, Number>,
    prefixes: IndexMap<String, Number>,
    canonical_unit: String,
    number_type: ScalarNumberType,
}

impl ScalarUnits {
    /// Builds the unit table of a type derived directly from `scalar`, from its `units`,
    /// `prefixes` and `canonical_unit` keynames and the primitive its `data_type` resolves to.
    pub fn from_definition(
        units: &Value,
        prefixes: Option<&Value>,
        canonical: Option<&Value>,
        data_type: Option<&str>,
    ) -> Result<ScalarUnits, DataError> {
        let number_type = ScalarNumberType::from_name(data_type)?;
        let unit_table = read_multipliers(units, "units", number_type)?;
        let prefix_table = prefixes
            .map(|p| read_multipliers(p, "prefixes", number_type))
            .transpose()?;
        let canonical = canonical.map(read_canonical).transpose()?;
        ScalarUnits::assemble(
            unit_table,
            prefix_table.unwrap_or_default(),
            prefixes.map_or(units.span, |p| p.span),
            canonical,
            number_type,
            units.span,
        )
    }

    /// Builds the unit table of a type derived from another scalar type: `data_type` and
    /// `canonical_unit` may be repeated but not changed, and `units` and `prefixes` may only gain
    /// entries.
    pub fn refine(
        &self,
        units: Option<&Value>,
        prefixes: Option<&Value>,
        canonical: Option<&Value>,
        data_type: Option<&str>,
    ) -> Result<ScalarUnits, DataError> {
        if let Some(name) = data_type {
            let number_type = ScalarNumberType::from_name(Some(name))?;
            if number_type != self.number_type {
                return Err(DataError::new(
                    Span::NONE,
                    format!(
                        "a scalar type may not change the data_type it derives with, from {} to {}",
                        self.number_type.name(),
                        number_type.name()
                    ),
                ));
            }
        }
        if let Some(canonical) = canonical {
            let (name, span) = read_canonical(canonical)?;
            if name != self.canonical_unit {
                return Err(DataError::new(
                    span,
                    format!(
                        "a derived scalar type may not change canonical_unit, which is {:?}, to {name:?}",
                        self.canonical_unit
                    ),
                ));
            }
        }
        let grow = |base: &IndexMap<String, Number>, added: Option<&Value>, what: &str| {
            let mut merged = base.clone();
            if let Some(added) = added {
                for (name, multiplier) in read_multipliers(added, what, self.number_type)? {
                    match merged.get(&name) {
                        Some(old) if !same_number(*old, multiplier) => {
                            return Err(DataError::new(
                                added.span,
                                format!(
                                    "a derived scalar type may only add {what}, but it changes the multiplier of {name:?} from {old} to {multiplier}"
                                ),
                            ));
                        }
                        _ => {
                            merged.insert(name, multiplier);
                        }
                    }
                }
            }
            Ok(merged)
        };
        let unit_table = grow(&self.units, units, "units")?;
        let prefix_table = grow(&self.prefixes, prefixes, "prefixes")?;
        let span = units.or(prefixes).map_or(Span::NONE, |v| v.span);
        ScalarUnits::assemble(
            unit_table,
            prefix_table,
            prefixes.map_or(span, |p| p.span),
            Some((self.canonical_unit.clone(), Span::NONE)),
            self.number_type,
            span,
        )
    }

    fn assemble(
        units: IndexMap<String, Number>,
        prefixes: IndexMap<String, Number>,
        prefixes_span: Span,
        canonical: Option<(String, Span)>,
        number_type: ScalarNumberType,
        units_span: Span,
    ) -> Result<ScalarUnits, DataError> {
        if !units.values().any(|m| is_one(*m)) {
            return Err(DataError::new(
                units_span,
                "a scalar type needs at least one unit with multiplier 1, but none of its units has it",
            ));
        }
        if !prefixes.is_empty() {
            if units.len() != 1 {
                return Err(DataError::new(
                    prefixes_span,
                    format!(
                        "prefixes may only be used with a single unit, but this scalar type has {} units",
                        units.len()
                    ),
                ));
            }
            if !prefixes.values().any(|m| is_one(*m)) {
                return Err(DataError::new(
                    prefixes_span,
                    "prefixes need at least one entry with multiplier 1 (such as \"\": 1), but none has it",
                ));
            }
        }
        let mut table = ScalarUnits {
            units,
            prefixes,
            canonical_unit: String::new(),
            number_type,
        };
        table.canonical_unit = match canonical {
            Some((name, span)) => match table.multiplier(&name) {
                None => {
                    return Err(DataError::new(
                        span,
                        format!(
                            "canonical_unit {name:?} is not a unit of this scalar type; expected one of {}",
                            table.describe_units()
                        ),
                    ));
                }
                Some(m) if !is_one(m) => {
                    return Err(DataError::new(
                        span,
                        format!(
                            "canonical_unit {name:?} has multiplier {m}, but the canonical unit must have multiplier 1"
                        ),
                    ));
                }
                Some(_) => name,
            },
            None => {
                let ones = table.units_with_multiplier_one();
                match ones.as_slice() {
                    [only] => only.clone(),
                    _ => {
                        return Err(DataError::new(
                            units_span,
                            format!(
                                "canonical_unit is mandatory when more than one unit has multiplier 1 (here {})",
                                ones.join(", ")
                            ),
                        ));
                    }
                }
            }
        };
        Ok(table)
    }

    /// The unit every amount is expressed in.
    pub fn canonical_unit(&self) -> &str {
        &self.canonical_unit
    }

    /// The kind of number the type counts in.
    pub fn number_type(&self) -> ScalarNumberType {
        self.number_type
    }

    /// The `units` table, in definition order.
    pub fn units(&self) -> &IndexMap<String, Number> {
        &self.units
    }

    /// The `prefixes` table, in definition order (empty when the type has none).
    pub fn prefixes(&self) -> &IndexMap<String, Number> {
        &self.prefixes
    }

    /// The multiplier that converts an amount in `unit` (with its prefix, if the type has
    /// prefixes) to the canonical unit, if the type knows the unit.
    pub fn multiplier(&self, unit: &str) -> Option<Number> {
        if self.prefixes.is_empty() {
            return self.units.get(unit).copied();
        }
        let (base, base_multiplier) = self.units.first()?;
        let prefix = unit.strip_suffix(base.as_str())?;
        let prefix_multiplier = *self.prefixes.get(prefix)?;
        multiply(prefix_multiplier, *base_multiplier)
    }

    /// Parses a value of this type: a string `"<number> <unit>"` with a unit the type knows.
    pub fn parse(&self, value: &Value) -> Result<Scalar, DataError> {
        let text = match (&value.kind, &value.tag) {
            (ValueKind::String(s), None) => s,
            _ => {
                return Err(DataError::new(
                    value.span,
                    format!(
                        "expected a scalar \"<number> <unit>\" such as \"10 {}\", found {}",
                        self.canonical_unit,
                        describe(value)
                    ),
                ));
            }
        };
        let (number, unit) =
            split_scalar_text(text).map_err(|why| DataError::new(value.span, why))?;
        let multiplier = self.multiplier(unit).ok_or_else(|| {
            DataError::new(
                value.span,
                format!(
                    "the unit {unit:?} is not defined by this scalar type; expected one of {}",
                    self.describe_units()
                ),
            )
        })?;
        if self.number_type == ScalarNumberType::Integer && !number.is_integer() {
            return Err(DataError::new(
                value.span,
                format!(
                    "this scalar type counts in integers, but {number} in {text:?} is not an integer"
                ),
            ));
        }
        let amount = self.to_canonical(number, multiplier).ok_or_else(|| {
            DataError::new(
                value.span,
                format!(
                    "{text:?} is too large to express in {}",
                    self.canonical_unit
                ),
            )
        })?;
        Ok(Scalar {
            number,
            unit: unit.to_string(),
            amount,
        })
    }

    /// A value of this type holding `amount` canonical units, as arithmetic results are shown.
    pub fn canonical_value(&self, amount: Number) -> Value {
        Value::string(format!("{amount} {}", self.canonical_unit))
    }

    /// A scalar of this type holding `amount` canonical units (integers are kept only when the
    /// type counts in integers).
    pub fn scalar_of(&self, amount: Number) -> Scalar {
        let amount = match (self.number_type, amount) {
            (ScalarNumberType::Float, Number::Integer(i)) => Number::Float(i as f64),
            (_, other) => other,
        };
        Scalar {
            number: amount,
            unit: self.canonical_unit.clone(),
            amount,
        }
    }

    fn to_canonical(&self, number: Number, multiplier: Number) -> Option<Number> {
        match (self.number_type, number, multiplier) {
            (ScalarNumberType::Integer, Number::Integer(n), Number::Integer(m)) => {
                n.checked_mul(m).map(Number::Integer)
            }
            _ => Some(Number::Float(number.as_f64() * multiplier.as_f64()))
                .filter(|n| n.as_f64().is_finite()),
        }
    }

    fn units_with_multiplier_one(&self) -> Vec<String> {
        if self.prefixes.is_empty() {
            return self
                .units
                .iter()
                .filter(|(_, m)| is_one(**m))
                .map(|(u, _)| u.clone())
                .collect();
        }
        let base = self.units.keys().next().cloned().unwrap_or_default();
        self.prefixes
            .iter()
            .filter(|(_, m)| is_one(**m))
            .map(|(p, _)| format!("{p}{base}"))
            .collect()
    }

    fn describe_units(&self) -> String {
        let quoted = |names: Vec<&String>| {
            names
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.prefixes.is_empty() {
            quoted(self.units.keys().collect())
        } else {
            let base = self.units.keys().next().cloned().unwrap_or_default();
            format!(
                "{base:?} after one of the prefixes {}",
                quoted(self.prefixes.keys().collect())
            )
        }
    }
}

/// A value of a concrete scalar type.
#[derive(Clone, Debug)]
pub struct Scalar {
    /// The number as written (the type registry validates it against a derived `data_type`).
    pub number: Number,
    /// The unit as written, including its prefix.
    pub unit: String,
    /// The amount in the type's canonical unit, used for comparison and arithmetic.
    pub amount: Number,
}

impl Scalar {
    /// Orders two scalars of the same type by amount. Float amounts closer than one part in
    /// 10^12 are equal, so that `0.1 m` equals `10 cm` despite binary rounding.
    pub fn compare(&self, other: &Scalar) -> Option<Ordering> {
        match (self.amount, other.amount) {
            (Number::Integer(a), Number::Integer(b)) => Some(a.cmp(&b)),
            (a, b) => {
                let (a, b) = (a.as_f64(), b.as_f64());
                if (a - b).abs() <= 1e-12 * a.abs().max(b.abs()) {
                    Some(Ordering::Equal)
                } else {
                    a.partial_cmp(&b)
                }
            }
        }
    }
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.compare(other) == Some(Ordering::Equal)
    }
}

impl PartialOrd for Scalar {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.compare(other)
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.number, self.unit)
    }
}

/// Splits `"<number> <unit>"` into its number and unit, or says which part is missing.
pub(crate) fn split_scalar_text(text: &str) -> Result<(Number, &str), String> {
    let shape = "expected a scalar \"<number> <unit>\": a number, at least one space, and a unit";
    let Some(space) = text.find(char::is_whitespace) else {
        return Err(match Number::parse_yaml(text) {
            Some(_) => format!("{shape}, but {text:?} has no unit"),
            None if text.starts_with(|c: char| c.is_ascii_digit()) => {
                format!("{shape}, but {text:?} has no space between number and unit")
            }
            None => format!("{shape}, but {text:?} has no number"),
        });
    };
    let (number_text, rest) = text.split_at(space);
    let unit = rest.trim();
    if number_text.is_empty() {
        return Err(format!("{shape}, but {text:?} starts with a space"));
    }
    let number = Number::parse_yaml(number_text)
        .ok_or_else(|| format!("{shape}, but {number_text:?} in {text:?} is not a number"))?;
    if unit.is_empty() {
        return Err(format!("{shape}, but {text:?} has no unit"));
    }
    if unit.contains(char::is_whitespace) {
        return Err(format!(
            "{shape}, but the unit {unit:?} in {text:?} contains a space"
        ));
    }
    Ok((number, unit))
}

fn read_multipliers(
    table: &Value,
    what: &str,
    number_type: ScalarNumberType,
) -> Result<IndexMap<String, Number>, DataError> {
    let Some(entries) = table.as_map() else {
        return Err(DataError::new(
            table.span,
            format!(
                "{what} must be a map of names to multipliers, found {}",
                describe(table)
            ),
        ));
    };
    if entries.is_empty() {
        return Err(DataError::new(
            table.span,
            format!("{what} must define at least one entry, but it is empty"),
        ));
    }
    let mut out = IndexMap::new();
    for (key, multiplier) in entries {
        let Some(name) = key.as_str() else {
            return Err(DataError::new(
                key.span,
                format!(
                    "the names in {what} must be strings, found {}",
                    describe(key)
                ),
            ));
        };
        if name.contains(char::is_whitespace) || (what == "units" && name.is_empty()) {
            return Err(DataError::new(
                key.span,
                format!(
                    "{name:?} cannot be used in {what}: names must be non-empty and contain no spaces"
                ),
            ));
        }
        let number = Number::from_value(multiplier).ok_or_else(|| {
            DataError::new(
                multiplier.span,
                format!(
                    "the multiplier of {name:?} in {what} must be a number, found {}",
                    describe(multiplier)
                ),
            )
        })?;
        if !(number.as_f64() > 0.0 && number.as_f64().is_finite()) {
            return Err(DataError::new(
                multiplier.span,
                format!(
                    "the multiplier of {name:?} in {what} must be a positive number, found {number}"
                ),
            ));
        }
        if number_type == ScalarNumberType::Integer && !number.is_integer() {
            return Err(DataError::new(
                multiplier.span,
                format!(
                    "the multiplier of {name:?} in {what} must be an integer because the data_type is integer, found {number}"
                ),
            ));
        }
        out.insert(name.to_string(), number);
    }
    Ok(out)
}

fn read_canonical(value: &Value) -> Result<(String, Span), DataError> {
    value
        .as_str()
        .map(|s| (s.to_string(), value.span))
        .ok_or_else(|| {
            DataError::new(
                value.span,
                format!(
                    "canonical_unit must be a unit name, found {}",
                    describe(value)
                ),
            )
        })
}

fn multiply(a: Number, b: Number) -> Option<Number> {
    match (a, b) {
        (Number::Integer(a), Number::Integer(b)) => a.checked_mul(b).map(Number::Integer),
        (a, b) => Some(Number::Float(a.as_f64() * b.as_f64())),
    }
}

fn is_one(n: Number) -> bool {
    n.as_f64() == 1.0
}

fn same_number(a: Number, b: Number) -> bool {
    a.compare(b) == Some(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    const ISO: &str =
        "{ μ: 0.0001, m: 0.001, c: 0.01, d: 0.1, \"\": 1.0, da: 10, h: 100, k: 1000, M: 1000000 }";
    const BITRATE: &str = "{ bits/s: 1, kbits/s: 1000, Kibits/s: 1024, Mbits/s: 1000000 }";

    fn yaml(text: &str) -> Value {
        yaml::parse(text, FileId(0)).expect("test YAML parses")
    }

    fn define(
        units: &str,
        prefixes: Option<&str>,
        canonical: Option<&str>,
        data_type: Option<&str>,
    ) -> Result<ScalarUnits, DataError> {
        ScalarUnits::from_definition(
            &yaml(units),
            prefixes.map(yaml).as_ref(),
            canonical.map(Value::string).as_ref(),
            data_type,
        )
    }

    fn parse(units: &ScalarUnits, text: &str) -> Result<Scalar, DataError> {
        units.parse(&Value::string(text))
    }

    #[test]
    fn definition_rules_match_the_conformance_suite() {
        let bitrate2 = "{ bits/s: 1.0, bps: 1, Kbits/s: 1000, Kibits/s: 1024 }";
        let prefixes_with_one = "{ \"\": 1, K: 1000, Ki: 1024 }";
        /// Name, units, prefixes, canonical_unit, data_type, and whether it is valid.
        type Case<'a> = (
            &'a str,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            bool,
        );
        let cases: &[Case] = &[
            (
                "s69 Bitrate",
                "{ bits/s: 1, bps: 1, kbits/s: 1000, Kibits/s: 1024 }",
                None,
                Some("bits/s"),
                Some("integer"),
                true,
            ),
            ("s69 Length", "{ m: 1.0 }", Some(ISO), None, None, true),
            ("s69 Mass", "{ g: 1 }", Some(ISO), None, None, true),
            (
                "s70 Time",
                "{ ns: 0.000000001, us: 0.000001, ms: 0.001, s: 1, m: 60, h: 3600 }",
                None,
                None,
                Some("float"),
                true,
            ),
            (
                "s70 Size",
                "{ B: 1 }",
                Some("{ \"\": 1, k: 1000, Ki: 1024 }"),
                None,
                Some("integer"),
                true,
            ),
            (
                "canonical prefix multiplier not one",
                "{ bits/s: 1.0 }",
                Some(prefixes_with_one),
                Some("Kbits/s"),
                None,
                false,
            ),
            (
                "canonical with prefix found",
                "{ bits/s: 1.0 }",
                Some(prefixes_with_one),
                Some("bits/s"),
                None,
                true,
            ),
            (
                "canonical prefix not found",
                "{ bits/s: 1.0 }",
                Some(prefixes_with_one),
                Some("b/s"),
                None,
                false,
            ),
            (
                "canonical unit multiplier not one",
                bitrate2,
                None,
                Some("Kbits/s"),
                None,
                false,
            ),
            (
                "no canonical with two ones",
                bitrate2,
                None,
                None,
                None,
                false,
            ),
            (
                "negative prefix multiplier",
                "{ bits/s: 1 }",
                Some("{ \"\": 1, k: 1000, Ki: -1024 }"),
                None,
                Some("integer"),
                false,
            ),
            (
                "no prefix with multiplier one",
                "{ bits/s: 1 }",
                Some("{ m: 0.001, k: 1000 }"),
                None,
                None,
                false,
            ),
            (
                "prefixes with several units",
                "{ bits/s: 1, bytes/s: 8 }",
                Some(ISO),
                None,
                None,
                false,
            ),
            (
                "prefixes on a unit not one",
                "{ bits/s: 8 }",
                Some(ISO),
                None,
                None,
                false,
            ),
            (
                "no unit with multiplier one",
                "{ bits/s: 0.1, bps: 1.1 }",
                None,
                None,
                None,
                false,
            ),
            (
                "float multiplier with integer data_type",
                "{ s: 1, ms: 0.001 }",
                None,
                None,
                Some("integer"),
                false,
            ),
            (
                "float prefix with integer data_type",
                "{ g: 1 }",
                Some(ISO),
                None,
                Some("integer"),
                false,
            ),
            (
                "unknown data_type",
                "{ s: 1 }",
                None,
                None,
                Some("UnknownType"),
                false,
            ),
            ("units not a map", "[ s ]", None, None, None, false),
            ("empty units", "{}", None, None, None, false),
            ("string multiplier", "{ s: one }", None, None, None, false),
            ("zero multiplier", "{ s: 1, x: 0 }", None, None, None, false),
        ];
        for (name, units, prefixes, canonical, data_type, valid) in cases {
            let result = define(units, *prefixes, *canonical, *data_type);
            assert_eq!(result.is_ok(), *valid, "{name}: {result:?}");
        }
    }

    #[test]
    fn canonical_unit_defaults_to_the_unit_of_multiplier_one() {
        assert_eq!(
            define("{ ms: 0.001, s: 1 }", None, None, None)
                .unwrap()
                .canonical_unit(),
            "s"
        );
        assert_eq!(
            define("{ g: 1 }", Some(ISO), None, None)
                .unwrap()
                .canonical_unit(),
            "g"
        );
    }

    #[test]
    fn parses_values_like_the_conformance_suite() {
        let mass = define("{ g: 1 }", Some(ISO), None, None).unwrap();
        let bitrate = define(BITRATE, None, None, Some("integer")).unwrap();
        let cases: &[(&ScalarUnits, &str, Option<Number>)] = &[
            (&mass, "10 kg", Some(Number::Float(10_000.0))),
            (&mass, "10 g", Some(Number::Float(10.0))),
            (&mass, "0x10 g", Some(Number::Float(16.0))),
            (&mass, "1e3   mg", Some(Number::Float(1.0))),
            (&mass, "10", None),
            (&mass, "g", None),
            (&mass, "10kg", None),
            (&mass, "10 kg extra", None),
            (&mass, "ten kg", None),
            (&mass, "10 lb", None),
            (&mass, " 10 kg", None),
            (&bitrate, "10 Kibits/s", Some(Number::Integer(10_240))),
            (&bitrate, "-1 Mbits/s", Some(Number::Integer(-1_000_000))),
            (&bitrate, "1.5 Mbits/s", None),
            (&bitrate, "1,000bp/s", None),
            (&bitrate, "1 bp/s", None),
            (&bitrate, "99999999999999 Mbits/s", None),
        ];
        for (units, text, expected) in cases {
            let result = parse(units, text);
            match expected {
                Some(amount) => {
                    let scalar = result.unwrap_or_else(|e| panic!("{text}: {e}"));
                    assert_eq!(scalar.amount, *amount, "{text}");
                }
                None => assert!(result.is_err(), "{text:?} should be refused: {result:?}"),
            }
        }
        let number = Value::new(ValueKind::Integer(10));
        assert!(
            mass.parse(&number)
                .unwrap_err()
                .message
                .contains("found the integer 10")
        );
    }

    #[test]
    fn compares_by_canonical_amount() {
        let length = define("{ m: 1.0 }", Some(ISO), None, None).unwrap();
        let s = |t| parse(&length, t).unwrap();
        assert!(s("125.3 mm") < s("15 cm"));
        assert_eq!(s("0.1 m"), s("10 cm"));
        assert!(s("1 km") > s("999 m"));
        assert_eq!(s("125.3 mm").to_string(), "125.3 mm");
        assert_eq!(
            length.canonical_value(Number::Float(2.5)).as_str(),
            Some("2.5 m")
        );
    }

    #[test]
    fn refinement_freezes_data_type_and_canonical_unit_and_only_grows() {
        let mass = define("{ g: 1 }", Some(ISO), None, None).unwrap();
        // scalar-derive.yaml: a derived type with nothing new.
        assert_eq!(mass.refine(None, None, None, None).unwrap(), mass);
        // scalar-derive-incompat-inv.yaml: data_type changes from float to integer.
        assert!(mass.refine(None, None, None, Some("integer")).is_err());
        assert!(mass.refine(None, None, None, Some("float")).is_ok());
        assert!(
            mass.refine(None, None, Some(&Value::string("kg")), None)
                .is_err()
        );
        assert!(
            mass.refine(None, None, Some(&Value::string("g")), None)
                .is_ok()
        );
        let grown = mass
            .refine(None, Some(&yaml("{ G: 1000000000 }")), None, None)
            .unwrap();
        assert_eq!(parse(&grown, "2 Gg").unwrap().amount, Number::Float(2e9));
        assert!(
            mass.refine(None, Some(&yaml("{ k: 1024 }")), None, None)
                .is_err()
        );
        assert!(
            mass.refine(Some(&yaml("{ lb: 453.6 }")), None, None, None)
                .is_err()
        );

        let time = define("{ s: 1, ms: 0.001 }", None, None, None).unwrap();
        let longer = time
            .refine(Some(&yaml("{ min: 60, s: 1 }")), None, None, None)
            .unwrap();
        assert_eq!(
            parse(&longer, "2 min").unwrap().amount,
            Number::Float(120.0)
        );
        assert!(
            time.refine(Some(&yaml("{ s: 2 }")), None, None, None)
                .is_err()
        );
    }

    proptest::proptest! {
        #[test]
        fn integer_scalars_convert_exactly(
            n in -1_000_000_000i64..1_000_000_000,
            prefix in proptest::sample::select(vec![("", 1i64), ("k", 1000), ("Ki", 1024), ("M", 1_000_000)]),
            other in -1_000_000i64..1_000_000,
        ) {
            let size = define("{ B: 1 }", Some("{ \"\": 1, k: 1000, Ki: 1024, M: 1000000 }"), None, Some("integer"))
                .expect("valid units");
            let (name, multiplier) = prefix;
            let scalar = parse(&size, &format!("{n} {name}B")).expect("parses");
            proptest::prop_assert_eq!(scalar.amount, Number::Integer(n * multiplier));
            let bytes = parse(&size, &format!("{other} B")).expect("parses");
            proptest::prop_assert_eq!(
                scalar.compare(&bytes),
                Some((n * multiplier).cmp(&other))
            );
        }
    }
}
