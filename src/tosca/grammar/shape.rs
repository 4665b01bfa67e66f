//! A small declarative grammar: the YAML shape each TOSCA construct must have.
//!
//! TOSCA has dozens of constructs, each a map of known keynames with values of known shapes.
//! Writing one hand-made reader per construct would repeat the same three checks everywhere
//! (wrong YAML kind, unknown keyname, missing required keyname), so the constructs are
//! described as static tables ([`Keys`]) and one walker ([`check`]) reports every mismatch
//! with its span and dotted path. Semantic rules (names, derivation, refinement) live in
//! [`crate::tosca::types`], which reads the same values knowing they have the right shape.

use crate::tosca::problem::Problems;
use crate::tosca::value::{Value, ValueKind};

/// The shape a YAML value must have.
#[derive(Debug)]
pub enum Shape {
    /// Anything at all (expressions, values, raw content owned by another stage).
    Any,
    /// Anything but `null`.
    NotNull,
    /// A map or a list (a block of YAML meant for aliasing).
    Collection,
    /// A string.
    String,
    /// A boolean.
    Bool,
    /// A non-negative integer.
    Count,
    /// A string in TOSCA's version grammar (`major.minor[.fix[.qualifier[-build]]]`).
    Version,
    /// A `metadata` map: string keys, any values.
    Metadata,
    /// A map with known keynames.
    Map(&'static Keys),
    /// A map from names (non-empty strings) to entries of one shape.
    MapOf(&'static Shape),
    /// A list of entries of one shape.
    ListOf(&'static Shape),
    /// A list of single-key maps from names to entries (requirement definitions).
    SequencedMapOf(&'static Shape),
    /// A short form (any non-map value of the inner shape) or the long form map.
    ShortOr(&'static Shape, &'static Keys),
    /// A `count_range`: `[min, max]` with `max` an integer or `UNBOUNDED`.
    Range,
}

/// A construct written as a map of keynames.
#[derive(Debug)]
pub struct Keys {
    /// What the construct is called in messages ("a node type").
    pub what: &'static str,
    /// Its keynames.
    pub fields: &'static [Field],
}

/// One keyname of a construct.
#[derive(Debug)]
pub struct Field {
    /// The keyname.
    pub name: &'static str,
    /// The shape of its value.
    pub shape: Shape,
    /// Whether the construct must have it.
    pub required: bool,
}

impl Keys {
    /// The field with this keyname, if the construct has one.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Joins a dotted path and a key.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Joins a dotted path and a list index.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Checks `value` against `shape`, reporting every mismatch below `path`.
pub fn check(value: &Value, shape: &Shape, path: &str, problems: &mut Problems) {
    match shape {
        Shape::Any => {}
        Shape::NotNull => {
            if value.is_null() {
                problems.report(
                    "missing-value",
                    value.span,
                    path,
                    "expected a value here, found nothing (null)",
                );
            }
        }
        Shape::Collection => {
            if value.as_map().is_none() && value.as_list().is_none() {
                wrong_kind(value, "a map or a list", path, problems);
            }
        }
        Shape::String => {
            if value.as_str().is_none() {
                wrong_kind(value, "a string", path, problems);
            }
        }
        Shape::Bool => {
            if value.as_bool().is_none() {
                wrong_kind(value, "a boolean (true or false)", path, problems);
            }
        }
        Shape::Count => {
            if !matches!(value.kind, ValueKind::Integer(i) if i >= 0) {
                wrong_kind(value, "a non-negative integer", path, problems);
            }
        }
        Shape::Version => check_version(value, path, problems),
        Shape::Metadata => check_metadata(value, path, problems),
        Shape::Map(keys) => check_keys(value, keys, path, problems),
        Shape::MapOf(entry) => {
            let Some(entries) = expect_map(value, path, problems) else {
                return;
            };
            for (key, entry_value) in entries {
                if let Some(name) = check_name(key, path, problems) {
                    check(entry_value, entry, &join(path, name), problems);
                }
            }
        }
        Shape::ListOf(entry) => match value.as_list() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(item, entry, &index(path, i), problems);
                }
            }
            None => wrong_kind(value, "a list", path, problems),
        },
        Shape::SequencedMapOf(entry) => match value.as_list() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_map() {
                        Some([(key, entry_value)]) => {
                            if let Some(name) = check_name(key, &index(path, i), problems) {
                                check(entry_value, entry, &join(path, name), problems);
                            }
                        }
                        _ => wrong_kind(
                            item,
                            "a map with a single key (the name)",
                            &index(path, i),
                            problems,
                        ),
                    }
                }
            }
            None => wrong_kind(
                value,
                "a list of single-key maps (`- name: definition`)",
                path,
                problems,
            ),
        },
        Shape::ShortOr(short, keys) => {
            if value.as_map().is_some() {
                check_keys(value, keys, path, problems);
            } else {
                check(value, short, path, problems);
            }
        }
        Shape::Range => check_range(value, path, problems),
    }
}

/// Reports a value of the wrong YAML kind.
pub fn wrong_kind(value: &Value, expected: &str, path: &str, problems: &mut Problems) {
    let found = match value.kind {
        ValueKind::Null => "nothing (null)".to_string(),
        ValueKind::List(_) | ValueKind::Map(_) => format!("a {}", value.kind_name()),
        _ => format!("the {} {value}", value.kind_name()),
    };
    problems.report(
        "wrong-shape",
        value.span,
        path,
        format!("expected {expected}, found {found}"),
    );
}

fn expect_map<'a>(
    value: &'a Value,
    path: &str,
    problems: &mut Problems,
) -> Option<&'a [(Value, Value)]> {
    match value.as_map() {
        Some(entries) => Some(entries),
        None => {
            wrong_kind(value, "a map", path, problems);
            None
        }
    }
}

/// Checks that a map key is a usable name: a non-empty string.
pub fn check_name<'a>(key: &'a Value, path: &str, problems: &mut Problems) -> Option<&'a str> {
    match key.as_str() {
        Some("") => {
            problems.report("invalid-name", key.span, path, "a name must not be empty");
            None
        }
        Some(name) => Some(name),
        None => {
            problems.report(
                "invalid-name",
                key.span,
                path,
                format!(
                    "a name must be a string, found the {} {key}",
                    key.kind_name()
                ),
            );
            None
        }
    }
}

fn check_keys(value: &Value, keys: &Keys, path: &str, problems: &mut Problems) {
    let Some(entries) = value.as_map() else {
        wrong_kind(value, &format!("{} (a map)", keys.what), path, problems);
        return;
    };
    for (key, entry_value) in entries {
        let Some(name) = key.as_str() else {
            problems.report(
                "unknown-keyname",
                key.span,
                path,
                format!("{key} is not a keyname of {}", keys.what),
            );
            continue;
        };
        match keys.field(name) {
            Some(field) => check(entry_value, &field.shape, &join(path, name), problems),
            None => problems.report(
                "unknown-keyname",
                key.span,
                join(path, name),
                format!("`{name}` is not a keyname of {}", keys.what),
            ),
        }
    }
    for field in keys.fields.iter().filter(|f| f.required) {
        if value.get(field.name).is_none() {
            problems.report(
                "missing-keyname",
                value.span,
                path,
                format!("{} must have the keyname `{}`", keys.what, field.name),
            );
        }
    }
}

fn check_metadata(value: &Value, path: &str, problems: &mut Problems) {
    let Some(entries) = expect_map(value, path, problems) else {
        return;
    };
    for (key, _) in entries {
        if key.as_str().is_none() {
            problems.report(
                "invalid-name",
                key.span,
                path,
                format!(
                    "a metadata key must be a string, found the {} {key}",
                    key.kind_name()
                ),
            );
        }
    }
}

fn check_version(value: &Value, path: &str, problems: &mut Problems) {
    if let Err(e) = crate::tosca::data::Version::from_value(value) {
        problems.report("invalid-version", e.span, path, e.message);
    }
}

fn check_range(value: &Value, path: &str, problems: &mut Problems) {
    let bound = |v: &Value| match v.kind {
        ValueKind::Integer(i) if i >= 0 => Some(Some(i as u64)),
        ValueKind::String(ref s) if s == "UNBOUNDED" => Some(None),
        _ => None,
    };
    let ok = match value.as_list() {
        Some([min, max]) => match (bound(min), bound(max)) {
            (Some(Some(lo)), Some(Some(hi))) => lo <= hi,
            (Some(Some(_)), Some(None)) => true,
            _ => false,
        },
        _ => false,
    };
    if !ok {
        problems.report(
            "invalid-range",
            value.span,
            path,
            format!(
                "expected a range [min, max] of non-negative integers with min <= max (max may be UNBOUNDED), found {value}"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    static INNER: Keys = Keys {
        what: "an inner thing",
        fields: &[
            Field {
                name: "type",
                shape: Shape::String,
                required: true,
            },
            Field {
                name: "flag",
                shape: Shape::Bool,
                required: false,
            },
        ],
    };
    static OUTER: Shape = Shape::MapOf(&Shape::Map(&INNER));

    fn problems_of(text: &str, shape: &Shape) -> Vec<(String, String, u32)> {
        let v = yaml::parse(text, FileId(0)).unwrap();
        let mut problems = Problems::new();
        check(&v, shape, "top", &mut problems);
        problems
            .iter()
            .map(|p| (p.code.to_string(), p.path.clone(), p.span.line))
            .collect()
    }

    #[test]
    fn accepts_the_right_shape() {
        assert!(problems_of("a: {type: x, flag: true}\nb: {type: y}\n", &OUTER).is_empty());
    }

    #[test]
    fn reports_unknown_missing_and_wrong_kinds_with_paths() {
        let found = problems_of("a:\n  flag: 3\n  extra: 1\nb: [1]\n", &OUTER);
        assert!(found.contains(&("wrong-shape".into(), "top.a.flag".into(), 2)));
        assert!(found.contains(&("unknown-keyname".into(), "top.a.extra".into(), 3)));
        assert!(found.contains(&("missing-keyname".into(), "top.a".into(), 2)));
        assert!(found.contains(&("wrong-shape".into(), "top.b".into(), 4)));
    }

    #[test]
    fn names_must_be_non_empty_strings() {
        let found = problems_of("'': {type: x}\n1.0: {type: y}\n", &OUTER);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|(code, _, _)| code == "invalid-name"));
    }

    #[test]
    fn checks_ranges() {
        assert!(problems_of("[0, UNBOUNDED]", &Shape::Range).is_empty());
        assert!(problems_of("[1, 3]", &Shape::Range).is_empty());
        assert_eq!(problems_of("[3, 1]", &Shape::Range).len(), 1);
        assert_eq!(problems_of("[UNBOUNDED, 1]", &Shape::Range).len(), 1);
        assert_eq!(problems_of("5", &Shape::Range).len(), 1);
    }

    #[test]
    fn sequenced_maps_need_single_keys() {
        static SEQUENCE: Shape = Shape::SequencedMapOf(&Shape::Map(&INNER));
        assert!(problems_of("- a: {type: x}\n- b: {type: y}\n", &SEQUENCE).is_empty());
        assert_eq!(problems_of("a: {type: x}\n", &SEQUENCE).len(), 1);
        assert_eq!(
            problems_of("- {a: {type: x}, b: {type: y}}\n", &SEQUENCE).len(),
            1
        );
    }
}
