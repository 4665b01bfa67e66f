//! Following `<nested_name_or_index>` arguments into a value.
//!
//! `$get_input`, `$get_property`, `$get_attribute` and `$value` all end with names and indexes
//! that step into complex values: a string selects a map entry (or a property of a complex
//! data type), a non-negative integer selects a list entry.

use super::error::FunctionError;
use crate::tosca::data::describe;
use crate::tosca::source::Span;
use crate::tosca::value::{Value, ValueKind};

/// Steps into `value` along `path`; `span` is where the call is, for errors.
pub fn nested_value<'v>(
    value: &'v Value,
    path: &[Value],
    span: Span,
) -> Result<&'v Value, FunctionError> {
    let mut current = value;
    for (depth, step) in path.iter().enumerate() {
        let walked = || {
            if depth == 0 {
                "the value".to_string()
            } else {
                format!(
                    "the value at {}",
                    path[..depth]
                        .iter()
                        .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join(".")
                )
            }
        };
        current = match (&step.kind, &current.kind) {
            (ValueKind::String(name), ValueKind::Map(_)) => current.get(name).ok_or_else(|| {
                FunctionError::new(span, format!("{} has no entry named {name:?}", walked()))
            })?,
            (ValueKind::Integer(i), ValueKind::List(items)) => usize::try_from(*i)
                .ok()
                .and_then(|i| items.get(i))
                .ok_or_else(|| {
                    FunctionError::new(
                        span,
                        format!(
                            "{} has {} entries, so the index {i} is out of range",
                            walked(),
                            items.len()
                        ),
                    )
                })?,
            (ValueKind::String(_) | ValueKind::Integer(_), _) => {
                return Err(FunctionError::new(
                    span,
                    format!(
                        "cannot select {step} in {}, which is {}; a name selects in a map and an index in a list",
                        walked(),
                        describe(current)
                    ),
                ));
            }
            _ => {
                return Err(FunctionError::new(
                    span,
                    format!(
                        "a nested selector must be a name or an index, found {}",
                        describe(step)
                    ),
                ));
            }
        };
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    #[test]
    fn steps_through_maps_and_lists() {
        let value = yaml::parse("net: { name: a, ips: [ 10.0.0.1, 10.0.0.2 ] }\n", FileId(0))
            .expect("test YAML parses");
        let path = |text: &str| {
            yaml::parse(text, FileId(0))
                .expect("test YAML parses")
                .as_list()
                .expect("a list")
                .to_vec()
        };
        let found = |p: &str| nested_value(&value, &path(p), Span::NONE).map(|v| v.to_string());
        assert_eq!(found("[]").unwrap(), value.to_string());
        assert_eq!(found("[net, name]").unwrap(), "\"a\"");
        assert_eq!(found("[net, ips, 1]").unwrap(), "\"10.0.0.2\"");
        let errors = [
            (
                "[net, mask]",
                "the value at net has no entry named \"mask\"",
            ),
            (
                "[net, ips, 2]",
                "the value at net.ips has 2 entries, so the index 2 is out of range",
            ),
            ("[net, ips, -1]", "out of range"),
            (
                "[net, name, 0]",
                "cannot select 0 in the value at net.name, which is the string \"a\"",
            ),
            (
                "[[x]]",
                "a nested selector must be a name or an index, found a list",
            ),
        ];
        for (p, message) in errors {
            let err = found(p).unwrap_err();
            assert!(err.message.contains(message), "{p}: {}", err.message);
        }
    }
}
