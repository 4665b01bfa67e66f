//! The filesystem seam: everything the store does to disk goes through [`Filesystem`], so the
//! simulator can substitute a filesystem whose locks and renames behave like NFS's.
//!
//! [`RealFs`] is the production implementation: atomic writes are a temporary file in the same
//! directory, `fsync`, `rename` over the target, and `fsync` of the directory (once per
//! directory for a commit of many files); locks are `flock` through `fd-lock`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A held exclusive lock; dropping it releases the lock.
pub trait HeldLock: Send {}

/// The operations the store needs from a filesystem.
pub trait Filesystem: Send + Sync + std::fmt::Debug {
    /// The whole content of `path`, or `None` when it does not exist.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// Writes `bytes` durably to a new file in `dir` (created when missing) and returns its
    /// path. The first half of [`Filesystem::write_atomic`]: a transaction writes every file
    /// before it puts any in place.
    fn write_new(&self, dir: &Path, bytes: &[u8]) -> io::Result<PathBuf>;
    /// Puts a file [`Filesystem::write_new`] wrote (on the same filesystem) in place of
    /// `path`, atomically and durably, creating `path`'s parent directories.
    fn put_in_place(&self, written: &Path, path: &Path) -> io::Result<()>;
    /// Like [`Filesystem::put_in_place`], durable only once [`Filesystem::sync_dir`] of
    /// `path`'s parent returns: a commit of many files in one directory syncs it once.
    fn put_in_place_unsynced(&self, written: &Path, path: &Path) -> io::Result<()> {
        self.put_in_place(written, path)
    }
    /// Makes what was put in place in `dir` durable.
    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }
    /// Replaces `path` with `bytes` so that a reader sees the old or the new content, never a
    /// mix, and the new content survives a crash once this returns. Creates parent directories.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let dir = path
            .parent()
            .ok_or_else(|| io::Error::other("a store file needs a parent directory"))?;
        let written = self.write_new(dir, bytes)?;
        self.put_in_place(&written, path).inspect_err(|_| {
            let _ = self.remove_file(&written);
        })
    }
    /// Removes a file; one that is already gone is fine.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Removes a directory and everything below it; one that is already gone is fine.
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// The names of the entries of `dir`, sorted; a missing directory has none.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Creates `dir` and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Takes an exclusive lock on the file `path` (created when missing), waiting for it.
    fn lock_exclusive(&self, path: &Path) -> io::Result<Box<dyn HeldLock>>;
    /// Takes an exclusive lock on `path` if nobody holds it, else `None`. Every call opens the
    /// file anew, so two calls in one process compete like two processes do.
    fn try_lock_exclusive(&self, path: &Path) -> io::Result<Option<Box<dyn HeldLock>>>;
    /// Whether an operation may block its thread (a real disk, an NFS server in its grace
    /// period): then the store's work runs on tokio's blocking pool. A simulated filesystem
    /// answers at once, and its work runs on the caller's runtime, in the order that runtime
    /// decides, so that a simulation replays exactly.
    fn blocks(&self) -> bool {
        true
    }
}

/// The machine's real filesystem.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

/// An `flock` held on an open file: the lock lives as long as the file stays open (closing the
/// last descriptor of an open file description releases an `flock`), so the guard that fd-lock
/// returns is forgotten and the file itself is kept.
struct FlockHeld {
    _file: fd_lock::RwLock<File>,
}

impl HeldLock for FlockHeld {}

/// The mode of every file the store creates: services' inputs may hold secrets, so only the
/// agent's user reads them.
const FILE_MODE: u32 = 0o600;

/// The mode of every directory the store creates, for the same reason.
const DIR_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents with [`DIR_MODE`]; existing ones keep their mode.
fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

fn open_lock_file(path: &Path) -> io::Result<fd_lock::RwLock<File>> {
    if let Some(parent) = path.parent() {
        create_private_dir_all(parent)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(path)?;
    Ok(fd_lock::RwLock::new(file))
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The directory a store file is in.
fn parent_of(path: &Path) -> io::Result<&Path> {
    path.parent()
        .ok_or_else(|| io::Error::other("a store file needs a parent directory"))
}

impl Filesystem for RealFs {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn write_new(&self, dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
        create_private_dir_all(dir)?;
        let temp = dir.join(format!(
            ".tmp.{}.{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(FILE_MODE)
                .open(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()
        })();
        match written {
            Ok(()) => Ok(temp),
            Err(error) => {
                let _ = fs::remove_file(&temp);
                Err(error)
            }
        }
    }

    fn put_in_place(&self, written: &Path, path: &Path) -> io::Result<()> {
        self.put_in_place_unsynced(written, path)?;
        self.sync_dir(parent_of(path)?)
    }

    fn put_in_place_unsynced(&self, written: &Path, path: &Path) -> io::Result<()> {
        create_private_dir_all(parent_of(path)?)?;
        fs::rename(written, path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        match fs::remove_dir_all(path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let mut names = Vec::new();
        for entry in entries {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        create_private_dir_all(dir)
    }

    fn lock_exclusive(&self, path: &Path) -> io::Result<Box<dyn HeldLock>> {
        let mut lock = open_lock_file(path)?;
        loop {
            match lock.write() {
                Ok(guard) => {
                    std::mem::forget(guard);
                    break;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        }
        Ok(Box::new(FlockHeld { _file: lock }))
    }

    fn try_lock_exclusive(&self, path: &Path) -> io::Result<Option<Box<dyn HeldLock>>> {
        let mut lock = open_lock_file(path)?;
        match lock.try_write() {
            Ok(guard) => std::mem::forget(guard),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(error) => return Err(error),
        }
        Ok(Some(Box::new(FlockHeld { _file: lock })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/file.yaml");
        RealFs.write_atomic(&path, b"one").unwrap();
        RealFs.write_atomic(&path, b"two").unwrap();
        assert_eq!(RealFs.read(&path).unwrap().unwrap(), b"two");
        assert_eq!(
            RealFs.list(&dir.path().join("sub")).unwrap(),
            vec!["file.yaml"]
        );
    }

    #[test]
    fn a_held_lock_excludes_a_second_open_file_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks/store.lock");
        let held = RealFs.lock_exclusive(&path).unwrap();
        assert!(RealFs.try_lock_exclusive(&path).unwrap().is_none());
        drop(held);
        assert!(RealFs.try_lock_exclusive(&path).unwrap().is_some());
    }

    #[test]
    fn store_files_and_directories_are_the_agent_users_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("services/default/web/service.yaml");
        RealFs.write_atomic(&file, b"x").unwrap();
        let lock = dir.path().join("locks/store.lock");
        drop(RealFs.lock_exclusive(&lock).unwrap());
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&lock), 0o600);
        assert_eq!(mode(&dir.path().join("services")), 0o700);
        assert_eq!(mode(&dir.path().join("services/default/web")), 0o700);
    }

    #[test]
    fn missing_things_are_not_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(RealFs.read(&dir.path().join("nope")).unwrap().is_none());
        assert!(RealFs.list(&dir.path().join("nope")).unwrap().is_empty());
        RealFs.remove_file(&dir.path().join("nope")).unwrap();
        RealFs.remove_dir_all(&dir.path().join("nope")).unwrap();
    }
}
