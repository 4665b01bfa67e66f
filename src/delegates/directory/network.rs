//! A `NetworkDirectory` as the delegate sees it on one host: what to mount, where, and where
//! this host keeps the account of who uses the mount.
//!
//! The node instance itself mounts nothing: it checks its source and options when it is
//! created, so a bad one fails the deploy before any workload starts. Each workload that
//! attaches it has it mounted on the workload's own host (see `attach`), and the
//! directory's `path` that the workload is given is the mount point on that host.

use std::path::{Path, PathBuf};

use super::mount::{self, CommandLine, MountError, MountSource};
use crate::delegates::profile::{NetworkDirectoryProperties, PropertySet};
use crate::delegates::protocol::{
    Attributes, DelegateError, InstanceHealth, InstanceSpec, Observation,
};

/// One networked directory as mounted on this host.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkPlan {
    /// The directory instance, `namespace/service/instance`.
    pub name: String,
    /// The source as the template wrote it.
    pub source_text: String,
    /// The source, read.
    pub source: MountSource,
    /// Where it is mounted on this host.
    pub mount_point: PathBuf,
    /// The command that mounts it.
    pub mount: CommandLine,
    /// The command that unmounts it.
    pub unmount: CommandLine,
    /// The directory instance's private directory on this host, where its account is kept.
    pub state_dir: PathBuf,
}

impl NetworkPlan {
    /// Reads the plan from a `NetworkDirectory` instance's properties, with `spec.state_dir` as
    /// its private directory on this host; a bad source or option is refused here.
    pub fn of(spec: &InstanceSpec) -> Result<Self, DelegateError> {
        let name = spec.qualified_name();
        let properties = NetworkDirectoryProperties::from_properties(&spec.properties, &name)?;
        let invalid = |error: MountError| DelegateError::InvalidProperties {
            instance: name.clone(),
            message: error.to_string(),
        };
        let source = MountSource::parse(&properties.source).map_err(invalid)?;
        let mount_point = match &properties.path {
            Some(path) => PathBuf::from(path),
            None => mount::default_mount_point(&spec.state_dir),
        };
        if !mount_point.is_absolute() || mount_point.parent().is_none() {
            return Err(DelegateError::InvalidProperties {
                instance: name.clone(),
                message: format!(
                    "the mount point {} must be absolute and not the root",
                    mount_point.display()
                ),
            });
        }
        // An empty one (a template's input left at "") means ssh's own keys.
        let identity = properties
            .identity_file
            .as_deref()
            .filter(|file| !file.is_empty())
            .map(Path::new);
        let mount = mount::mount_command(&source, &mount_point, &properties.options, identity)
            .map_err(invalid)?;
        let unmount = mount::unmount_command(source.protocol, &mount_point);
        Ok(NetworkPlan {
            name,
            source_text: properties.source,
            source,
            mount_point,
            mount,
            unmount,
            state_dir: spec.state_dir.clone(),
        })
    }

    /// The file that says, on this host, who uses the mount (see `holders`).
    pub fn record_path(&self) -> PathBuf {
        self.state_dir.join("mount.yaml")
    }

    /// The directory instance's attributes: its mount point on this host and its source.
    pub fn attributes(&self) -> Attributes {
        let mut attributes = Attributes::new();
        attributes.insert(
            "path".into(),
            self.mount_point.to_string_lossy().into_owned().into(),
        );
        attributes.insert("source".into(), self.source_text.clone().into());
        attributes
    }

    /// The directory instance is a description of what to mount: it is there once its
    /// source reads well.
    pub fn observe(&self) -> Observation {
        Observation {
            health: InstanceHealth::Running,
            attributes: self.attributes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::profile::types;
    use crate::delegates::testing;

    fn spec(properties: serde_json::Value) -> InstanceSpec {
        testing::spec(
            "shared",
            "share-0",
            types::NETWORK_DIRECTORY,
            properties,
            Vec::new(),
        )
    }

    #[test]
    fn the_mount_point_defaults_to_the_private_directory() {
        let spec = spec(serde_json::json!({"source": "sshfs://u@h/srv", "options": ["ro"]}));
        let plan = NetworkPlan::of(&spec).unwrap();
        assert_eq!(plan.mount_point, spec.state_dir.join("mount"));
        assert_eq!(plan.record_path(), spec.state_dir.join("mount.yaml"));
        assert_eq!(plan.mount.program, "sshfs");
        assert_eq!(plan.attributes()["source"], "sshfs://u@h/srv");
        assert_eq!(plan.observe().health, InstanceHealth::Running);
    }

    #[test]
    fn bad_properties_are_refused_with_the_instance_named() {
        for properties in [
            serde_json::json!({"source": "ftp://h/x"}),
            serde_json::json!({"source": "sshfs://h/x", "path": "relative"}),
            serde_json::json!({"source": "sshfs://h/x", "options": ["a,b"]}),
            serde_json::json!({"source": "nfs://h/x", "identity_file": "/k"}),
            serde_json::json!({}),
        ] {
            let error = NetworkPlan::of(&spec(properties.clone()))
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with("default/shared/share-0: "),
                "{properties}: {error}"
            );
        }
    }
}
