//! What the tests of `khutulun tosca` share: running the real binary and naming fixtures.

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
