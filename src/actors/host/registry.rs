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
    } else {
        check_profile(path, &String::from_utf8_lossy(&bytes))?;
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

/// A profile must declare a name, and not one that Khutulun has built in (registering it would
/// shadow the built-in profile for every template on the cluster).
fn check_profile(path: &Path, text: &str) -> Result<(), RuntimeError> {
    use crate::tosca::loader::{built_in, catalog::declared_profile};
    let Some(name) = declared_profile(text) else {
        return Err(RuntimeError::Invalid(format!(
            "{} declares no `profile:` name, so templates could not import it",
            path.display()
        )));
    };
    let shadows_built_in = built_in::paths()
        .filter_map(built_in::get)
        .any(|built_in| declared_profile(built_in).as_deref() == Some(name.as_str()));
    if shadows_built_in {
        return Err(RuntimeError::Invalid(format!(
            "{} declares profile {name:?}, which is built into Khutulun; give it another name",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_may_not_shadow_a_built_in_one() {
        let path = Path::new("p.yaml");
        let own = "tosca_definitions_version: tosca_2_0\nprofile: example.com/mine\n";
        assert!(check_profile(path, own).is_ok());
        let shadow = "tosca_definitions_version: tosca_2_0\nprofile: khutulun\n";
        assert!(check_profile(path, shadow).is_err());
        assert!(check_profile(path, "tosca_definitions_version: tosca_2_0\n").is_err());
    }
}
