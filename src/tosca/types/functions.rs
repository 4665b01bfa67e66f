//! Function definitions (`functions:`): each function has signatures, tried in order, with
//! argument, optional argument and result schemas (short form: a type name), `variadic`, and
//! an implementation. They are recorded under every name a file sees them by (`fn` in the
//! defining file, `ns:fn` where imported with a namespace), so that calls to `$ns:fn` in
//! templates can be checked against them. A file's own definition of a name it also imports
//! without a namespace refines the imported one (§10.4).

use std::collections::HashMap;

use super::FileInput;
use super::builder::Builder;
use super::model::{FunctionDef, FunctionSignature, Schema, TypeId, TypeRegistry};
use super::names::{Named, Visibility};
use crate::tosca::functions::{Call, Expr};
use crate::tosca::grammar::shape::{index, join};
use crate::tosca::problem::Problems;
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
            // §10.1: a `$` in a function name would clash with the `$name$suffix` form.
            if name.contains('$') {
                b.report(
                    "invalid-name",
                    key.span,
                    &path,
                    format!("a function name must not contain `$`, and `{name}` does"),
                );
            }
            // §10.4: `signatures` must provide at least one signature definition.
            if let Some(list) = value.get("signatures")
                && list.as_list().is_some_and(<[Value]>::is_empty)
            {
                b.report(
                    "empty-section",
                    list.span,
                    &join(&path, "signatures"),
                    "`signatures` must hold at least one signature definition",
                );
            }
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
            let Named::Function(defining, name) = &v.named else {
                continue;
            };
            let Some(def) = defined.get(&(*defining, name.clone())) else {
                continue;
            };
            // The file's own definition of a name it also imports (which it shadows) refines
            // the imported one (§10.4).
            let def = match (*defining == file.id)
                .then(|| imported(file, visibility, &defined, &v.name))
                .flatten()
            {
                Some(inherited) => refine(b, file, inherited.clone(), def),
                None => def.clone(),
            };
            b.reg
                .functions
                .entry((file.id, v.name.clone()))
                .or_insert(def);
        }
    }
}

/// The definition of function `name` that `file` imports without a namespace, if any: the one
/// the first such import sees by that name.
fn imported<'d>(
    file: &FileInput<'_>,
    visibility: &Visibility,
    defined: &'d HashMap<(FileId, String), FunctionDef>,
    name: &str,
) -> Option<&'d FunctionDef> {
    file.imports
        .iter()
        .filter(|import| import.namespace.is_none())
        .find_map(|import| {
            visibility
                .get(&import.file)?
                .iter()
                .find_map(|v| match &v.named {
                    Named::Function(defining, defined_as) if v.name == name => {
                        defined.get(&(*defining, defined_as.clone()))
                    }
                    _ => None,
                })
        })
}

/// `own`, a definition in `file` of a function it also imports (`inherited`), as §10.4's
/// refinement rules make it: each of the inherited signatures in order, its implementation
/// replaced where `own`'s signature at that place gives one (an empty `{}` keeps it as it
/// is; any other keyname there is refused), then `own`'s further signatures.
fn refine(
    b: &mut Builder<'_, '_>,
    file: &FileInput<'_>,
    inherited: FunctionDef,
    own: &FunctionDef,
) -> FunctionDef {
    let written = file
        .root
        .get("functions")
        .and_then(|functions| functions.get(&own.name))
        .and_then(|def| def.get("signatures"))
        .and_then(Value::as_list)
        .unwrap_or_default();
    let path = join(&join("functions", &own.name), "signatures");
    let mut signatures = inherited.signatures;
    for (i, refinement) in own.signatures.iter().enumerate() {
        let Some(existing) = signatures.get_mut(i) else {
            signatures.push(refinement.clone());
            continue;
        };
        let changed: Vec<&str> = written
            .get(i)
            .and_then(Value::as_map)
            .map(|map| {
                map.iter()
                    .filter_map(|(key, _)| key.as_str())
                    .filter(|key| *key != "implementation")
                    .collect()
            })
            .unwrap_or_default();
        if !changed.is_empty() {
            let span = written.get(i).map_or(own.span, |v| v.span);
            b.report(
                "invalid-refinement",
                span,
                &index(&path, i),
                format!(
                    "signature {i} refines the imported ${}'s: only its implementation may change, not {}",
                    own.name,
                    changed.join(", ")
                ),
            );
        }
        if let Some(implementation) = &refinement.implementation {
            existing.implementation = Some(implementation.clone());
        }
    }
    FunctionDef {
        signatures,
        ..own.clone()
    }
}

/// Why no signature of `def` accepts `call`, or `None` when one does (§10.4: every
/// `arguments` entry in order, then the first of the `optional_arguments`, the last one
/// repeated when `variadic`; no arguments and `variadic` accept anything). A literal argument
/// must be a value of its schema; one computed by another call is known only when evaluated,
/// so it is taken on trust.
pub fn signature_mismatch(
    registry: &TypeRegistry,
    def: &FunctionDef,
    call: &Call,
) -> Option<String> {
    if def.signatures.is_empty()
        || def
            .signatures
            .iter()
            .any(|s| accepts(registry, s, &call.args))
    {
        return None;
    }
    let n = call.args.len();
    Some(format!(
        "no signature of {call} accepts {n} argument{} of these types",
        if n == 1 { "" } else { "s" }
    ))
}

/// Why `call`'s result cannot be a value of type `expected` (§10.4: a signature's `result` is
/// the type of what the function returns), if it cannot: every signature that accepts the
/// call's arguments declares a result, and none of those derives from `expected`. A
/// signature with no `result` may return anything.
pub fn result_mismatch(
    registry: &TypeRegistry,
    def: &FunctionDef,
    call: &Call,
    expected: TypeId,
) -> Option<String> {
    let mut results = Vec::new();
    for signature in def
        .signatures
        .iter()
        .filter(|s| accepts(registry, s, &call.args))
    {
        match &signature.result {
            None => return None,
            Some(result) if registry.derives_from(result.data_type, expected) => return None,
            Some(result) => results.push(registry.display_name(result.data_type)),
        }
    }
    (!results.is_empty()).then(|| {
        format!(
            "{call} returns {}, which is not a value of type `{}`",
            results.join(" or "),
            registry.display_name(expected)
        )
    })
}

fn accepts(registry: &TypeRegistry, signature: &FunctionSignature, args: &[Expr]) -> bool {
    let schemas: Vec<&Schema> = signature
        .arguments
        .iter()
        .chain(&signature.optional_arguments)
        .collect();
    let Some(last) = schemas.last() else {
        return signature.variadic || args.is_empty();
    };
    if args.len() < signature.arguments.len() || (args.len() > schemas.len() && !signature.variadic)
    {
        return false;
    }
    args.iter().enumerate().all(|(i, arg)| {
        let schema = schemas.get(i).unwrap_or(last);
        arg.as_literal().is_none_or(|v| {
            let mut problems = Problems::new();
            super::check_value(registry, schema, v, &mut problems, "");
            problems.is_empty()
        })
    })
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
