//! The start-up check that locking on the store really excludes writers.
//!
//! Everything Khutulun records relies on the store's `flock`: on a filesystem where it does not
//! exclude (an NFS mount with `nolock` or `local_lock=`, some FUSE filesystems) two writers
//! would silently lose each other's updates. The agent runs [`check_locking`] before anything
//! else and refuses to start when it fails.

use std::path::Path;

use super::{Store, StoreError};

/// Checks that a second, independent open of the store's probe lock file cannot take the lock
/// while a first one holds it, and can once it is released; then that the mount under the store
/// does not turn network locking off.
pub fn check_locking(store: &Store) -> Result<(), StoreError> {
    let root = store.layout().root().to_owned();
    let unsafe_because = |reason: String| StoreError::LockingUnsafe {
        path: root.clone(),
        reason,
    };
    let probe = store.layout().probe_lock();
    let fs = store.filesystem();
    let io = |e| StoreError::io("lock", &probe, e);
    let Some(first) = fs.try_lock_exclusive(&probe).map_err(io)? else {
        return Err(unsafe_because(
            "its probe lock is held by someone else (another agent starting?); try again".into(),
        ));
    };
    if fs.try_lock_exclusive(&probe).map_err(io)?.is_some() {
        return Err(unsafe_because(
            "a second open of the lock file took the lock while the first held it".into(),
        ));
    }
    drop(first);
    if fs.try_lock_exclusive(&probe).map_err(io)?.is_none() {
        return Err(unsafe_because(
            "a released lock could not be taken again".into(),
        ));
    }
    if let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo")
        && let Some(reason) = mount_disables_locking(&mountinfo, &root)
    {
        return Err(unsafe_because(reason));
    }
    Ok(())
}

/// Why the mount that holds `path` (per `/proc/self/mountinfo`) would make `flock` local to
/// this host, if it does: NFS with `nolock` or `local_lock=flock|all`.
pub fn mount_disables_locking(mountinfo: &str, path: &Path) -> Option<String> {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let mut best: Option<(usize, String, String)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(separator) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(mount_point), Some(mount_options)) = (fields.get(4), fields.get(5)) else {
            continue;
        };
        let mount_point = mount_point.replace("\\040", " ");
        if !path.starts_with(&mount_point) {
            continue;
        }
        let fstype = fields.get(separator + 1).copied().unwrap_or_default();
        let super_options = fields.get(separator + 3).copied().unwrap_or_default();
        let options = format!("{mount_options},{super_options}");
        if best
            .as_ref()
            .is_none_or(|(len, _, _)| mount_point.len() >= *len)
        {
            best = Some((mount_point.len(), fstype.to_owned(), options));
        }
    }
    let (_, fstype, options) = best?;
    if !fstype.starts_with("nfs") {
        return None;
    }
    options.split(',').find_map(|option| match option {
        "nolock" | "local_lock=flock" | "local_lock=all" => Some(format!(
            "its {fstype} mount has `{option}`, so locks do not reach other hosts; remount without it"
        )),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_store_passes_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        check_locking(&store).unwrap();
    }

    #[test]
    fn the_check_fails_while_another_holder_keeps_the_probe_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let held = store
            .filesystem()
            .lock_exclusive(&store.layout().probe_lock())
            .unwrap();
        assert!(check_locking(&store).is_err());
        drop(held);
        check_locking(&store).unwrap();
    }

    #[test]
    fn nfs_mounts_without_network_locks_are_recognised() {
        let mountinfo = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:50 / /srv/store rw,relatime shared:2 - nfs4 server:/export rw,vers=4.2,local_lock=flock
41 22 0:51 / /srv/good rw,relatime shared:3 - nfs4 server:/other rw,vers=4.2,local_lock=none
";
        assert!(mount_disables_locking(mountinfo, Path::new("/srv/store/khutulun")).is_some());
        assert!(mount_disables_locking(mountinfo, Path::new("/srv/good/khutulun")).is_none());
        assert!(mount_disables_locking(mountinfo, Path::new("/var/lib/khutulun")).is_none());
    }
}
