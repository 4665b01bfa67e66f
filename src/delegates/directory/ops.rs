//! What the directory delegate does to the filesystem, as plain functions.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Group, Uid, User, chown};

use crate::delegates::profile::{LocalDirectoryProperties, PropertySet};
use crate::delegates::protocol::{
    Attributes, DelegateError, InstanceHealth, InstanceSpec, Observation,
};

/// The directory an instance stands for, with who owns it and how it may be used.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectoryPlan {
    /// Where it is.
    pub path: PathBuf,
    /// Whether Delete removes it.
    pub temporary: bool,
    /// Owner to set, if any.
    pub owner: Option<Uid>,
    /// Group to set, if any.
    pub group: Option<Gid>,
    /// Permission bits.
    pub mode: u32,
    /// Whether Khutulun made the directory: only then are its mode and owner Khutulun's to
    /// set, and only then does Delete of a temporary one remove it. Records from before this
    /// was kept say nothing and read as made.
    pub made_here: bool,
}

/// The attribute that records [`DirectoryPlan::made_here`].
const MADE_HERE: &str = "made_here";

impl DirectoryPlan {
    /// Reads the plan from the instance's properties (and, once created, its `path` attribute).
    pub fn of(spec: &InstanceSpec, attributes: &Attributes) -> Result<Self, DelegateError> {
        let name = spec.qualified_name();
        let properties = LocalDirectoryProperties::from_properties(&spec.properties, &name)?;
        let invalid = |message: String| DelegateError::InvalidProperties {
            instance: name.clone(),
            message,
        };
        let path = match (
            attributes.get("path").and_then(|p| p.as_str()),
            &properties.path,
        ) {
            (Some(created), _) => PathBuf::from(created),
            (None, Some(path)) => PathBuf::from(path),
            (None, None) => spec.state_dir.join("directory"),
        };
        if !path.is_absolute() || path.parent().is_none() {
            return Err(invalid(format!(
                "the directory path {} must be absolute and not the root",
                path.display()
            )));
        }
        let owner = match &properties.owner {
            Some(owner) => Some(
                User::from_name(owner)
                    .ok()
                    .flatten()
                    .ok_or_else(|| invalid(format!("there is no user {owner:?} on this host")))?,
            ),
            None => None,
        };
        let group = match &properties.group {
            Some(group) => Some(
                Group::from_name(group)
                    .ok()
                    .flatten()
                    .ok_or_else(|| invalid(format!("there is no group {group:?} on this host")))?
                    .gid,
            ),
            None => owner.as_ref().map(|user| user.gid),
        };
        Ok(DirectoryPlan {
            path,
            temporary: properties.temporary,
            owner: owner.map(|user| user.uid),
            group,
            mode: properties.mode.0,
            made_here: attributes
                .get(MADE_HERE)
                .and_then(|made| made.as_bool())
                .unwrap_or(true),
        })
    }

    /// The attributes of the directory.
    pub fn attributes(&self) -> Attributes {
        let mut attributes = Attributes::new();
        attributes.insert(
            "path".into(),
            self.path.to_string_lossy().into_owned().into(),
        );
        attributes.insert(MADE_HERE.into(), self.made_here.into());
        attributes
    }
}

/// Makes the directory (and its parents), with its owner, group and mode. A directory that
/// is there already is used as it is: its mode and owner are the administrator's.
pub fn create(plan: &DirectoryPlan) -> Result<Attributes, DelegateError> {
    let mut plan = plan.clone();
    let path = &plan.path;
    match fs::metadata(path) {
        Ok(meta) if !meta.is_dir() => {
            return Err(DelegateError::Failed(format!(
                "{} exists and is not a directory",
                path.display()
            )));
        }
        Ok(_) if plan.temporary && !is_empty(path)? => {
            return Err(DelegateError::Failed(format!(
                "{} already exists with content; a temporary directory must be new or empty, because deleting it removes everything in it",
                path.display()
            )));
        }
        Ok(_) => {
            plan.made_here = false;
            return Ok(plan.attributes());
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {
            fs::create_dir_all(path).map_err(|e| {
                DelegateError::io(format!("create directory {}", path.display()), e)
            })?;
            plan.made_here = true;
        }
        Err(error) => {
            return Err(DelegateError::io(
                format!("look at {}", path.display()),
                error,
            ));
        }
    }
    fs::set_permissions(path, fs::Permissions::from_mode(plan.mode))
        .map_err(|e| DelegateError::io(format!("set the mode of {}", path.display()), e))?;
    if plan.owner.is_some() || plan.group.is_some() {
        chown(path, plan.owner, plan.group).map_err(|e| {
            DelegateError::io(format!("set the owner of {}", path.display()), e.into())
        })?;
    }
    Ok(plan.attributes())
}

/// Whether the directory is there.
pub fn observe(plan: &DirectoryPlan) -> Observation {
    let health = match fs::metadata(&plan.path) {
        Ok(meta) if meta.is_dir() => InstanceHealth::Running,
        Ok(_) => InstanceHealth::Failed {
            reason: format!("{} is no longer a directory", plan.path.display()),
        },
        Err(_) => InstanceHealth::Missing,
    };
    Observation {
        health,
        attributes: plan.attributes(),
    }
}

/// Removes a temporary directory that Khutulun made, with its content; keeps a persistent one
/// and one that was there before. Gone already is fine.
pub fn delete(plan: &DirectoryPlan) -> Result<(), DelegateError> {
    if !plan.temporary || !plan.made_here {
        return Ok(());
    }
    match fs::remove_dir_all(&plan.path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
        Err(error) => Err(DelegateError::io(
            format!("remove directory {}", plan.path.display()),
            error,
        )),
    }
}

fn is_empty(path: &Path) -> Result<bool, DelegateError> {
    let mut entries =
        fs::read_dir(path).map_err(|e| DelegateError::io(format!("list {}", path.display()), e))?;
    Ok(entries.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::profile::types;
    use crate::delegates::protocol::TypeRef;
    use std::os::unix::fs::MetadataExt;

    fn spec(state: &Path, properties: serde_json::Value) -> InstanceSpec {
        InstanceSpec {
            namespace: "default".into(),
            service: "test".into(),
            instance: "data-0".into(),
            node: "data".into(),
            types: vec![
                TypeRef::khutulun(types::LOCAL_DIRECTORY),
                TypeRef::khutulun(types::DIRECTORY),
            ],
            properties: properties.as_object().unwrap().clone(),
            requirements: Vec::new(),
            state_dir: state.to_owned(),
            artifacts: Default::default(),
        }
    }

    #[test]
    fn a_temporary_directory_is_made_with_its_mode_and_removed_with_its_content() {
        let root = tempfile::tempdir().unwrap();
        let wanted = root.path().join("a/b/site");
        let spec = spec(
            root.path(),
            serde_json::json!({"path": wanted, "temporary": true, "mode": "0701", "owner": "nobody"}),
        );
        let plan = DirectoryPlan::of(&spec, &Attributes::new()).unwrap();
        let attributes = create(&plan).unwrap();
        assert_eq!(attributes["path"], wanted.to_string_lossy().as_ref());
        let meta = fs::metadata(&wanted).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o701);
        let nobody = User::from_name("nobody").unwrap().unwrap();
        assert_eq!(meta.uid(), nobody.uid.as_raw());
        assert_eq!(observe(&plan).health, InstanceHealth::Running);

        fs::write(wanted.join("index.html"), "hi").unwrap();
        let plan = DirectoryPlan::of(&spec, &attributes).unwrap();
        delete(&plan).unwrap();
        assert!(!wanted.exists());
        assert_eq!(observe(&plan).health, InstanceHealth::Missing);
        delete(&plan).unwrap();
    }

    #[test]
    fn a_persistent_directory_outlives_delete() {
        let root = tempfile::tempdir().unwrap();
        let spec = spec(root.path(), serde_json::json!({}));
        let plan = DirectoryPlan::of(&spec, &Attributes::new()).unwrap();
        assert_eq!(plan.path, root.path().join("directory"));
        create(&plan).unwrap();
        delete(&plan).unwrap();
        assert!(plan.path.is_dir());
    }

    #[test]
    fn a_temporary_directory_never_takes_over_existing_files() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("precious"), "keep").unwrap();
        let spec = spec(
            root.path(),
            serde_json::json!({"path": root.path(), "temporary": true}),
        );
        let plan = DirectoryPlan::of(&spec, &Attributes::new()).unwrap();
        let error = create(&plan).unwrap_err().to_string();
        assert!(error.contains("already exists"), "{error}");
        assert!(root.path().join("precious").exists());
    }

    #[test]
    fn a_directory_that_was_there_keeps_its_mode_and_outlives_delete() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        let spec = spec(
            root.path(),
            serde_json::json!({"path": shared, "temporary": true, "mode": "0700"}),
        );
        let attributes = create(&DirectoryPlan::of(&spec, &Attributes::new()).unwrap()).unwrap();
        assert_eq!(attributes["made_here"], false);
        let mode = || fs::metadata(&shared).unwrap().mode() & 0o7777;
        assert_eq!(mode(), 0o1777, "the administrator's mode is kept");
        delete(&DirectoryPlan::of(&spec, &attributes).unwrap()).unwrap();
        assert!(
            shared.is_dir(),
            "a directory Khutulun did not make is never removed"
        );
        assert_eq!(mode(), 0o1777);
    }

    #[test]
    fn bad_properties_are_refused_with_the_instance_named() {
        let root = tempfile::tempdir().unwrap();
        for properties in [
            serde_json::json!({"path": "relative/dir"}),
            serde_json::json!({"owner": "no-such-user-here"}),
            serde_json::json!({"mode": "rwx"}),
        ] {
            let error = DirectoryPlan::of(&spec(root.path(), properties), &Attributes::new())
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("default/test/data-0: "), "{error}");
        }
    }
}
