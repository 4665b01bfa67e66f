//! The services the placement tests deploy: one process, `app`, under given policies.

use std::path::{Path, PathBuf};

/// Writes, in `dir`, a template `NAME.yaml` of one `sleep` process with `policies` (YAML lines
/// under `policies:`); returns its path.
pub fn sleep_service(dir: &Path, name: &str, policies: &str) -> PathBuf {
    process_service(dir, name, "sleep", "'600'", policies)
}

/// Writes, in `dir`, a template `NAME.yaml` of one process `command` with `arguments` (a YAML
/// flow list's items) and `policies`; returns its path.
pub fn process_service(
    dir: &Path,
    name: &str,
    command: &str,
    arguments: &str,
    policies: &str,
) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    let text = format!(
        "tosca_definitions_version: tosca_2_0\n\
         imports:\n  - profile: khutulun\n\
         service_template:\n\
         \x20 node_templates:\n\
         \x20   app:\n\
         \x20     type: Process\n\
         \x20     properties:\n\
         \x20       command: {command}\n\
         \x20       arguments: [ {arguments} ]\n\
         \x20 policies:\n{policies}"
    );
    std::fs::write(&path, text).unwrap();
    path
}
