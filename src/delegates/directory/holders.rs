//! Who uses a networked directory's mount on this host: one small file per directory and host
//! (`mount.yaml` in the directory instance's private directory on the host), so that the mount
//! is shared by every instance here that attaches it and unmounted when the last one goes.
//!
//! It is host-private on purpose: a mount belongs to one host, and the file lives in the
//! agent's runtime directory, so it outlives an agent restart (which then adopts the mount)
//! and goes, like the mount, when the machine reboots. Only the directory delegate writes
//! it, one change at a time per directory, by rename.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::delegates::protocol::DelegateError;

/// The account of one mount on this host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountRecord {
    /// The source mounted, as the template wrote it.
    pub source: String,
    /// Where.
    pub mount_point: PathBuf,
    /// Whether Khutulun made the mount point (then the last detach removes it).
    #[serde(default)]
    pub made_mount_point: bool,
    /// The instances that use it, `namespace/service/instance`, in the order they came.
    #[serde(default)]
    pub holders: Vec<String>,
}

impl MountRecord {
    /// Adds `holder`; whether it was new.
    pub fn add(&mut self, holder: &str) -> bool {
        let new = !self.holders.iter().any(|h| h == holder);
        if new {
            self.holders.push(holder.to_owned());
        }
        new
    }

    /// Removes `holder`; whether it was there.
    pub fn remove(&mut self, holder: &str) -> bool {
        let before = self.holders.len();
        self.holders.retain(|h| h != holder);
        before != self.holders.len()
    }
}

/// Reads the record at `path`; `None` when there is none.
pub fn load(path: &Path) -> Result<Option<MountRecord>, DelegateError> {
    match fs::read_to_string(path) {
        Ok(text) => serde_yaml_ng::from_str(&text).map(Some).map_err(|e| {
            DelegateError::Failed(format!(
                "{} cannot be read ({e}); it says who uses a mount on this host, and is not overwritten",
                path.display()
            ))
        }),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(DelegateError::io(format!("read {}", path.display()), error)),
    }
}

/// Writes the record at `path` whole (a temporary file renamed over it), making its directory.
pub fn save(path: &Path, record: &MountRecord) -> Result<(), DelegateError> {
    let io = |action: &str, error| DelegateError::io(format!("{action} {}", path.display()), error);
    let text = serde_yaml_ng::to_string(record)
        .map_err(|e| DelegateError::Failed(format!("write {}: {e}", path.display())))?;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| io("make the directory of", e))?;
    }
    let temporary = temporary_path(path);
    let mut file = fs::File::create(&temporary).map_err(|e| io("write", e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io("write", e))?;
    fs::rename(&temporary, path).map_err(|e| io("write", e))
}

/// Removes the record (gone already is fine).
pub fn remove(path: &Path) -> Result<(), DelegateError> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != ErrorKind::NotFound => Err(DelegateError::io(
            format!("remove {}", path.display()),
            error,
        )),
        _ => Ok(()),
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".new");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_counts_each_holder_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("share-0/mount.yaml");
        assert_eq!(load(&path).unwrap(), None);
        let mut record = MountRecord {
            source: "sshfs://h/srv".into(),
            mount_point: "/m".into(),
            made_mount_point: true,
            holders: Vec::new(),
        };
        assert!(record.add("default/s/a-0"));
        assert!(!record.add("default/s/a-0"));
        assert!(record.add("default/s/b-0"));
        save(&path, &record).unwrap();
        assert_eq!(load(&path).unwrap(), Some(record.clone()));
        assert!(record.remove("default/s/a-0"));
        assert!(!record.remove("default/s/a-0"));
        assert_eq!(record.holders, ["default/s/b-0"]);
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert_eq!(load(&path).unwrap(), None);
    }

    #[test]
    fn a_record_that_cannot_be_read_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mount.yaml");
        fs::write(&path, "holders: {").unwrap();
        let error = load(&path).unwrap_err().to_string();
        assert!(error.contains("is not overwritten"), "{error}");
    }
}
