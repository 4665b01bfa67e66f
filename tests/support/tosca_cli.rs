//! What the tests of `khutulun tosca` share: running the real binary and naming fixtures.

#![allow(dead_code)] // Each test file uses its own part of this.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The path of a fixture under `tests/fixtures/tosca/`, as the CLI takes it.
pub fn fixture(relative: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tosca")
        .join(relative)
        .display()
        .to_string()
}

/// Runs the `khutulun` binary built for these tests with `args`.
pub fn khutulun(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_khutulun"))
        .args(args)
        .output()
        .expect("the khutulun binary runs")
}

/// Command output as text, for assertions and failure messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `khutulun tosca compile --instantiate --format json` of `entry` with `extra` arguments
/// before it: the instantiation, once the command has exited 0.
pub fn instantiate(entry: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["tosca", "compile", "--instantiate", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(entry);
    let out = khutulun(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The node instance `id` of an instantiation.
pub fn node<'a>(instantiation: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    instantiation["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("no node {id} in {instantiation:#}"))
}
