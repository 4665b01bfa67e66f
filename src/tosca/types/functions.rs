//! Function definitions (`functions:`): each function has signatures, tried in order, with
//! argument, optional argument and result schemas (short form: a type name), `variadic`, and
//! an implementation. They are recorded under every name a file sees them by (`fn` in the
//! defining file, `ns:fn` where imported with a namespace), so that calls to `$ns:fn` in
//! templates can be checked against them.

use std::collections::HashMap;

use super::FileInput;
use super::builder::Builder;
use super::model::{FunctionDef, FunctionSignature, Schema};
use super::names::{Named, Visibility};
use crate::tosca::grammar::shape::{index, join};
use crate::tosca::source::FileId;
use crate::tosca::value::Value;

/// Reads every file's function definitions and records them under every visible name.
pub fn read(b: &mut Builder<'_, '_>, files: &[FileInput<'_>], visibility: &Visibility) {
    let mut defined: HashMap<(FileId, String), FunctionDef> = HashMap::new();
    for file in files {
        let Some(entries) = file.root.get("functions").and_then(Value::as_map) else {
            continue;
        };
        for (key, value) in entries {
            let Some(name) = key.as_str().filter(|n| !n.is_empty()) else {
                continue;
            };
            if value.as_map().is_none() {
                continue;
            }
            let path = join("functions", name);
            let signatures = value
                .get("signatures")
                .and_then(Value::as_list)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(|(i, s)| read_signature(b, file.id, s, &index(&join(&path, "signatures"), i)))
                .collect();
            defined.insert(
                (file.id, name.to_string()),
                FunctionDef {
                    name: name.to_string(),
                    span: key.span,
                    signatures,
                },
            );
        }
    }
    for file in files {
        let Some(names) = visibility.get(&file.id) else {
            continue;
        };
        for v in names.iter() {
            if let Named::Function(defining, name) = &v.named
                && let Some(def) = defined.get(&(*defining, name.clone()))
            {
                b.reg
                    .functions
                    .entry((file.id, v.name.clone()))
                    .or_insert_with(|| def.clone());
            }
        }
    }
}

fn read_signature(
    b: &mut Builder<'_, '_>,
    file: FileId,
    value: &Value,
    path: &str,
) -> FunctionSignature {
    let schemas = |b: &mut Builder<'_, '_>, key: &str| -> Vec<Schema> {
        value
            .get(key)
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(i, s)| b.read_schema(file, s, None, &index(&join(path, key), i), false))
            .collect()
    };
    let arguments = schemas(b, "arguments");
    let optional_arguments = schemas(b, "optional_arguments");
    if let Some(implementation) = value.get("implementation") {
        b.check_implementation(file, implementation, &join(path, "implementation"));
    }
    let result = value
        .get("result")
        .and_then(|r| b.read_schema(file, r, None, &join(path, "result"), false));
    FunctionSignature {
        arguments,
        optional_arguments,
        variadic: value
            .get("variadic")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        result,
        implementation: value.get("implementation").cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::tosca::source::FileId;

    const SQRT: &str = "functions:\n  sqrt:\n    description: square root\n    signatures:\n      - arguments: [integer]\n        result: float\n        implementation: sqrt.py\n      - arguments:\n          - type: float\n            validation: {$greater_or_equal: [$value, 0.0]}\n        result: {type: float}\n";

    #[test]
    fn signatures_are_read_in_order() {
        let registry = assert_valid(SQRT);
        let f = registry
            .lookup_function(FileId(0), "sqrt")
            .expect("declared");
        assert_eq!(f.signatures.len(), 2);
        assert_eq!(
            f.signatures[0].arguments[0].data_type,
            registry.builtin("integer").unwrap()
        );
        assert_eq!(f.signatures[1].arguments[0].validation.len(), 1);
    }

    #[test]
    fn imported_functions_are_seen_through_their_namespace() {
        let (registry, problems) =
            build_files(&[("node_types: {}\n", None), (SQRT, Some("maths"))]);
        assert!(problems.is_empty());
        assert!(registry.lookup_function(FileId(0), "maths:sqrt").is_some());
        assert!(registry.lookup_function(FileId(0), "sqrt").is_none());
    }

    #[test]
    fn implementation_artifact_types_must_exist() {
        assert_problem(
            "functions:\n  f:\n    signatures:\n      - result: float\n        implementation:\n          primary: {type: Python, file: f.py}\n",
            "unknown-type",
        );
        assert_valid(
            "artifact_types:\n  Python: {}\nfunctions:\n  f:\n    signatures:\n      - result: float\n        implementation:\n          primary: {type: Python, file: f.py}\n",
        );
    }

    #[test]
    fn malformed_function_definitions() {
        assert_problem("functions:\n  - sqrt: {signatures: []}\n", "wrong-shape");
        assert_problem("functions:\n", "wrong-shape");
        assert_problem("functions:\n  '':\n    signatures: []\n", "invalid-name");
        assert_problem(
            "functions:\n  f:\n    signatures:\n      - arguments: [Nope]\n",
            "unknown-type",
        );
    }
}
