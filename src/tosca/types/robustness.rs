//! Property test: whatever type definitions a file holds, building the registry ends and
//! reports problems rather than panicking (derivation cycles, self-referencing schemas,
//! refinements of anything by anything).

use proptest::prelude::*;

use super::testing::build_files;

/// Words that make the generated definitions hit real rules: keynames, built-in and
/// generated type names, and values those keynames take.
const WORDS: &[&str] = &[
    "derived_from",
    "type",
    "properties",
    "attributes",
    "capabilities",
    "requirements",
    "interfaces",
    "artifacts",
    "entry_schema",
    "key_schema",
    "validation",
    "default",
    "value",
    "required",
    "units",
    "prefixes",
    "canonical_unit",
    "data_type",
    "operations",
    "inputs",
    "capability",
    "node",
    "relationship",
    "count_range",
    "members",
    "targets",
    "file",
    "valid_source_node_types",
    "implementation",
    "string",
    "integer",
    "float",
    "list",
    "map",
    "scalar",
    "A",
    "B",
    "C",
    "D",
    "ns:A",
    "$value",
    "UNBOUNDED",
];

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(WORDS).prop_map(str::to_string)
}

/// A YAML text for a random nested value over the vocabulary.
fn yaml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        word(),
        any::<i8>().prop_map(|i| i.to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("1 B".to_string()),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::btree_map(word(), inner, 0..4).prop_map(|entries| {
                let body: Vec<String> =
                    entries.iter().map(|(k, v)| format!("{k:?}: {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

/// A file defining types A–D in one to three sections from random bodies.
fn file() -> impl Strategy<Value = String> {
    const SECTIONS: &[&str] = &[
        "data_types",
        "node_types",
        "capability_types",
        "relationship_types",
        "interface_types",
        "artifact_types",
        "group_types",
        "policy_types",
    ];
    let sections = prop::sample::subsequence(SECTIONS, 1..=3);
    (sections, prop::collection::vec(yaml_value(), 4..12)).prop_map(|(sections, bodies)| {
        let mut text = String::new();
        let mut bodies = bodies.into_iter();
        for section in sections {
            text.push_str(&format!("{section}:\n"));
            for (name, body) in ["A", "B", "C", "D"].iter().zip(bodies.by_ref()) {
                text.push_str(&format!("  {name}: {body}\n"));
            }
            if text.ends_with(":\n") {
                text.push_str("  A: {}\n");
            }
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn building_never_panics(main in file(), imported in file()) {
        let _ = build_files(&[(main.as_str(), None), (imported.as_str(), Some("ns"))]);
        let _ = build_files(&[(main.as_str(), None), (imported.as_str(), None)]);
    }
}
