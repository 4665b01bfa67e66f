//! `template register|list|delist` and `profile register|list`: a template or profile is checked
//! by the TOSCA processor, then stored in the registry as given.

use std::path::Path;

use crate::state::RegistryKind;
use crate::state::records::RegistryEntry;
use crate::tosca::{self, Options};

use super::super::RuntimeError;

/// Files of a registry entry: path relative to the entry's folder → content.
pub type EntryFiles = Vec<(String, Vec<u8>)>;

/// Reads the file at `path` (a YAML file or a CSAR) and checks it; returns the entry record and
/// the file to store.
pub fn prepare(
    kind: RegistryKind,
    path: &Path,
    namespace: &str,
    name: &str,
    now: String,
) -> Result<(RegistryEntry, EntryFiles), RuntimeError> {
    if kind == RegistryKind::Delegates {
        return Err(RuntimeError::Invalid(
            "registering delegate plugins is not supported yet".into(),
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| RuntimeError::Invalid(format!("cannot read {}: {e}", path.display())))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| RuntimeError::Invalid(format!("{} is not a file", path.display())))?;
    if kind == RegistryKind::Templates {
        let report = tosca::validate(&path.to_string_lossy(), &Options::default());
        if !report.is_valid() {
            return Err(RuntimeError::Template(report.render_text()));
        }
    } else if crate::tosca::loader::catalog::declared_profile(&String::from_utf8_lossy(&bytes))
        .is_none()
    {
        return Err(RuntimeError::Invalid(format!(
            "{} declares no `profile:` name, so templates could not import it",
            path.display()
        )));
    }
    let entry = RegistryEntry {
        kind,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        source: path.display().to_string(),
        entry: file_name.clone(),
        registered: now,
    };
    Ok((entry, vec![(file_name, bytes)]))
}
