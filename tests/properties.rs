//! Property tests: whatever text the TOSCA processor is given, it answers with a value or a
//! problem, never a panic; and well-formed YAML documents parse to exactly what they say.
//! The YAML parser is probed on its own, and the whole processor (`validate_text`) on arbitrary
//! text and on TOSCA-shaped documents.
//!
//! Documents are generated as JSON-like trees and rendered to YAML (block and flow style), so the
//! expected parse is known; arbitrary and mutated texts probe the error paths.

use proptest::prelude::*;
use serde_json::{Map, Value as Json};

use khutulun::tosca::Options;
use khutulun::tosca::source::FileId;
use khutulun::tosca::value::{Value, ValueKind};
use khutulun::tosca::{validate_text, yaml};

const FILE: FileId = FileId(7);

/// Scalars whose YAML rendering is unambiguous: null, booleans, integers, strings.
fn scalar() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        // Strings that look like other scalars are the interesting ones: they must stay strings.
        prop_oneof![
            "[a-zA-Z0-9 _.:/-]{0,12}",
            Just("true".to_string()),
            Just("yes".to_string()),
            Just("~".to_string()),
            Just("0x1F".to_string()),
            Just("1.5e3".to_string()),
            Just("- not a list".to_string()),
            Just("{ $get_input: x }".to_string()),
            "\\PC{0,8}",
        ]
        .prop_map(Json::String),
    ]
}

/// Trees of lists and maps (unique keys) a few levels deep.
fn document() -> impl Strategy<Value = Json> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::btree_map("[a-z_$][a-z0-9_-]{0,8}", inner, 0..6)
                .prop_map(|map| Json::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Renders a tree as block-style YAML; strings are double-quoted (JSON escapes are YAML escapes).
fn render_block(value: &Json, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Json::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                render_nested(item, indent + 2, out);
            }
        }
        Json::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                out.push_str(&pad);
                out.push_str(&Json::String(key.clone()).to_string());
                out.push(':');
                render_nested(item, indent + 2, out);
            }
        }
        scalar => {
            out.push_str(&pad);
            out.push_str(&scalar.to_string());
            out.push('\n');
        }
    }
}

/// Renders the value after a `-` or `key:`: inline when it is a scalar or empty, else below.
fn render_nested(value: &Json, indent: usize, out: &mut String) {
    let is_block = match value {
        Json::Array(items) => !items.is_empty(),
        Json::Object(map) => !map.is_empty(),
        _ => false,
    };
    if is_block {
        out.push('\n');
        render_block(value, indent, out);
    } else {
        out.push(' ');
        out.push_str(&value.to_string());
        out.push('\n');
    }
}

fn block_yaml(value: &Json) -> String {
    let mut out = String::new();
    render_block(value, 0, &mut out);
    out
}

/// Every span in a parsed value points into the parsed text.
fn assert_spans_inside(value: &Value, text: &str) {
    let lines = u32::try_from(text.lines().count()).unwrap_or(u32::MAX);
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        assert_eq!(value.span.file, FILE, "a span names another file: {value}");
        assert!(
            value.span.line >= 1 && value.span.line <= lines + 1 && value.span.column >= 1,
            "span {:?} is outside a text of {lines} lines",
            value.span
        );
        match &value.kind {
            ValueKind::List(items) => stack.extend(items),
            ValueKind::Map(entries) => {
                for (key, item) in entries {
                    stack.push(key);
                    stack.push(item);
                }
            }
            _ => {}
        }
    }
}

/// Characters YAML gives meaning to, so that random text reaches deep into the parser.
const YAML_ISH: &str = "[a-z0-9 :\\-\\[\\]{},#&*!|>'\"%@`?\\n\\t.$~]{0,200}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in any::<String>()) {
        let _ = yaml::parse(&text, FILE);
    }

    #[test]
    fn yaml_like_text_never_panics_the_parser(text in YAML_ISH) {
        if let Ok(value) = yaml::parse(&text, FILE) {
            assert_spans_inside(&value, &text);
        }
    }

    #[test]
    fn block_documents_parse_to_what_they_say(tree in document()) {
        let text = block_yaml(&tree);
        let value = yaml::parse(&text, FILE)
            .map_err(|e| TestCaseError::fail(format!("{e} at {:?} in:\n{text}", e.span)))?;
        prop_assert_eq!(value.to_json(), tree, "in:\n{}", text);
        assert_spans_inside(&value, &text);
    }

    #[test]
    fn flow_documents_parse_to_what_they_say(tree in document()) {
        let text = tree.to_string();
        let value = yaml::parse(&text, FILE)
            .map_err(|e| TestCaseError::fail(format!("{e} at {:?} in:\n{text}", e.span)))?;
        prop_assert_eq!(value.to_json(), tree, "in:\n{}", text);
    }

    #[test]
    fn damaged_documents_never_panic_the_parser(
        tree in document(),
        cut in any::<prop::sample::Index>(),
        length in 0usize..16,
        insert in prop::sample::select(vec!["", ":", "- ", "\n  ", "&a ", "*a", "!!binary ", "{", "]", "'", "\"", "? ", "|\n", "\t", "---\n", "..."]),
    ) {
        let text = block_yaml(&tree);
        let chars: Vec<char> = text.chars().collect();
        let at = cut.index(chars.len() + 1);
        let end = (at + length).min(chars.len());
        let damaged: String = chars[..at].iter().copied()
            .chain(insert.chars())
            .chain(chars[end..].iter().copied())
            .collect();
        if let Ok(value) = yaml::parse(&damaged, FILE) {
            assert_spans_inside(&value, &damaged);
        }
    }

    #[test]
    fn arbitrary_text_never_panics_the_processor(text in YAML_ISH) {
        let report = validate_text("arbitrary.yaml", &text, &Options::default());
        let _ = report.render_text();
    }

    #[test]
    fn tosca_shaped_documents_never_panic_the_processor(body in document(), key in prop::sample::select(TOSCA_KEYS)) {
        let mut root = Map::new();
        root.insert("tosca_definitions_version".into(), Json::String("tosca_2_0".into()));
        root.insert(key.to_string(), body);
        let text = block_yaml(&Json::Object(root));
        let report = validate_text("shaped.yaml", &text, &Options::default());
        let _ = report.render_text();
        let _ = report.render_json();
    }
}

/// Top-level keynames of a TOSCA file, so that generated bodies reach every grammar.
const TOSCA_KEYS: &[&str] = &[
    "service_template",
    "node_types",
    "data_types",
    "capability_types",
    "relationship_types",
    "interface_types",
    "artifact_types",
    "group_types",
    "policy_types",
    "functions",
    "imports",
    "repositories",
    "metadata",
    "dsl_definitions",
];
