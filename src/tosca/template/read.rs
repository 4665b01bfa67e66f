//! Small readers for the YAML shapes of the service template grammar.
//!
//! Each reader checks one shape (a map, a sequence of single-key maps, a string…), records a
//! problem when the author wrote something else, and hands back what it could read so the
//! caller can carry on and find every other mistake in the same run.

use crate::tosca::problem::Problems;
use crate::tosca::value::{Value, ValueKind};

/// The entries of a map, or a `wrong-kind` problem (a `null` is an empty section, which TOSCA
/// does not allow where a map of definitions is expected).
pub fn map<'a>(
    value: &'a Value,
    path: &str,
    what: &str,
    problems: &mut Problems,
) -> Option<&'a [(Value, Value)]> {
    match &value.kind {
        ValueKind::Map(entries) => Some(entries),
        ValueKind::Null => {
            problems.report(
                "empty-section",
                value.span,
                path,
                format!("{what} must be a map, but it is empty"),
            );
            None
        }
        _ => {
            problems.report(
                "wrong-kind",
                value.span,
                path,
                format!("{what} must be a map, but it is a {}", value.kind_name()),
            );
            None
        }
    }
}

/// The entries of a sequence, or a `wrong-kind` problem.
pub fn list<'a>(
    value: &'a Value,
    path: &str,
    what: &str,
    problems: &mut Problems,
) -> Option<&'a [Value]> {
    match &value.kind {
        ValueKind::List(entries) => Some(entries),
        ValueKind::Null => {
            problems.report(
                "empty-section",
                value.span,
                path,
                format!("{what} must be a list, but it is empty"),
            );
            None
        }
        _ => {
            problems.report(
                "wrong-kind",
                value.span,
                path,
                format!("{what} must be a list, but it is a {}", value.kind_name()),
            );
            None
        }
    }
}

/// The text of a string value, or a `wrong-kind` problem.
pub fn string(value: &Value, path: &str, what: &str, problems: &mut Problems) -> Option<String> {
    match &value.kind {
        ValueKind::String(s) => Some(s.clone()),
        _ => {
            problems.report(
                "wrong-kind",
                value.span,
                path,
                format!("{what} must be a string, but it is a {}", value.kind_name()),
            );
            None
        }
    }
}

/// A boolean, or a `wrong-kind` problem.
pub fn boolean(value: &Value, path: &str, what: &str, problems: &mut Problems) -> Option<bool> {
    match value.kind {
        ValueKind::Bool(b) => Some(b),
        _ => {
            problems.report(
                "wrong-kind",
                value.span,
                path,
                format!(
                    "{what} must be true or false, but it is a {}",
                    value.kind_name()
                ),
            );
            None
        }
    }
}

/// A list of strings, or problems for what is not one.
pub fn strings(value: &Value, path: &str, what: &str, problems: &mut Problems) -> Vec<String> {
    let Some(entries) = list(value, path, what, problems) else {
        return Vec::new();
    };
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, v)| string(v, &format!("{path}[{i}]"), what, problems))
        .collect()
}

/// A `metadata` map: any values under string keys.
pub fn metadata(value: &Value, path: &str, problems: &mut Problems) {
    if let Some(entries) = map(value, path, "metadata", problems) {
        for (key, _) in entries {
            string(key, path, "a metadata key", problems);
        }
    }
}

/// Reports every key of `entries` that is not in `allowed`, and returns the key→value pairs
/// whose keys are strings, for the caller to match on.
pub fn keyed<'a>(
    entries: &'a [(Value, Value)],
    allowed: &[&'a str],
    path: &str,
    what: &str,
    problems: &mut Problems,
) -> Vec<(&'a str, &'a Value, &'a Value)> {
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        if let Some(k) = allowed_key(key, allowed, path, what, problems) {
            out.push((allowed[k], key, value));
        }
    }
    out
}

/// [`keyed`] for entries the caller owns: the values are handed over, not borrowed, so a
/// reader can keep them without copying.
pub fn keyed_owned(
    entries: Vec<(Value, Value)>,
    allowed: &[&'static str],
    path: &str,
    what: &str,
    problems: &mut Problems,
) -> Vec<(&'static str, Value)> {
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        if let Some(k) = allowed_key(&key, allowed, path, what, problems) {
            out.push((allowed[k], value));
        }
    }
    out
}

/// Where `key` is in `allowed`; a key that is not there, or not a string, is reported.
fn allowed_key(
    key: &Value,
    allowed: &[&str],
    path: &str,
    what: &str,
    problems: &mut Problems,
) -> Option<usize> {
    let Some(k) = key.as_str() else {
        problems.report(
            "wrong-kind",
            key.span,
            path,
            format!(
                "the keys of {what} must be strings, but this one is a {}",
                key.kind_name()
            ),
        );
        return None;
    };
    let found = allowed.iter().position(|a| *a == k);
    if found.is_none() {
        problems.report(
            "unknown-keyname",
            key.span,
            format!("{path}.{k}"),
            format!(
                "`{k}` is not a keyname of {what}; expected one of {}",
                allowed.join(", ")
            ),
        );
    }
    found
}

/// [`map`] for a value the caller owns: its entries, handed over.
pub fn into_map(
    value: Value,
    path: &str,
    what: &str,
    problems: &mut Problems,
) -> Option<Vec<(Value, Value)>> {
    map(&value, path, what, problems)?;
    match value.kind {
        ValueKind::Map(entries) => Some(entries),
        _ => None,
    }
}

/// The string-named entries of a map the caller owns, names and values handed over; a name
/// that is not a string is reported.
pub fn named_owned(
    entries: Vec<(Value, Value)>,
    path: &str,
    problems: &mut Problems,
) -> Vec<(String, Value)> {
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        match key.kind {
            ValueKind::String(name) => out.push((name, value)),
            _ => {
                string(&key, path, "a name", problems);
            }
        }
    }
    out
}

/// Reports a mandatory keyname that is absent.
pub fn require(value: &Value, key: &str, path: &str, what: &str, problems: &mut Problems) {
    if value.as_map().is_some() && value.get(key).is_none() {
        problems.report(
            "missing-keyname",
            value.span,
            path,
            format!("{what} must have `{key}`"),
        );
    }
}

/// Reads a sequence of single-key maps (`requirements`, `policies`, substitution
/// `requirements`), giving each entry's name, its key and its value.
pub fn single_key_maps<'a>(
    value: &'a Value,
    path: &str,
    what: &str,
    problems: &mut Problems,
) -> Vec<(String, &'a Value, &'a Value)> {
    let Some(entries) = list(value, path, what, problems) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        match entry.as_map() {
            Some([(key, v)]) => {
                if let Some(name) = string(key, &format!("{path}[{i}]"), "a name", problems) {
                    out.push((name, key, v));
                }
            }
            _ => problems.report(
                "wrong-kind",
                entry.span,
                format!("{path}[{i}]"),
                format!("each entry of {what} must be a map with a single key (its name)"),
            ),
        }
    }
    out
}

/// The path of an entry below `path`.
pub fn child(path: &str, key: &str) -> String {
    let mut s = String::with_capacity(path.len() + key.len() + 1);
    s.push_str(path);
    s.push('.');
    s.push_str(key);
    s
}
