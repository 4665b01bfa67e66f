//! The shared store's filesystem in memory, as the hosts of a simulation see it: one disk,
//! one [`SimFs`] handle per host. Renames are atomic, an exclusive lock excludes every other
//! handle until dropped, and the faults that matter to the agent are there to inject: a host
//! cut off from the store (its every operation fails, as an NFS mount whose server is gone
//! fails once its retries run out), and a full disk.
//!
//! Operations answer at once ([`Filesystem::blocks`] is false): the store's work then runs on
//! the simulation's one thread, so that a run replays exactly. A stalled server (an NFS grace
//! period) cannot be modelled that way and is not; the LockManager's wait for a slow store is
//! tested against a real slow filesystem instead.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::state::{Filesystem, HeldLock};

/// The disk every handle shares.
#[derive(Debug, Default)]
struct Disk {
    files: BTreeMap<PathBuf, Vec<u8>>,
    dirs: BTreeSet<PathBuf>,
    locks: BTreeSet<PathBuf>,
    /// Hosts whose operations fail.
    cut_off: BTreeSet<String>,
    /// How many bytes the disk holds; `None`: as many as are written.
    capacity: Option<usize>,
    /// Temporary files made so far (their names must differ).
    temporaries: u64,
    /// Files put in place since [`SimFs::take_written`] last looked.
    written: BTreeSet<PathBuf>,
}

impl Disk {
    fn used(&self) -> usize {
        self.files.values().map(Vec::len).sum()
    }

    fn add_dirs(&mut self, dir: &Path) {
        for ancestor in dir.ancestors() {
            if ancestor.as_os_str().is_empty() || !self.dirs.insert(ancestor.to_owned()) {
                break;
            }
        }
    }
}

/// One host's view of the simulated shared disk.
#[derive(Clone, Debug)]
pub struct SimFs {
    disk: Arc<Mutex<Disk>>,
    host: String,
}

/// A lock held on the simulated disk; dropping it releases it.
struct SimLock {
    disk: Arc<Mutex<Disk>>,
    path: PathBuf,
}

impl HeldLock for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        lock(&self.disk).locks.remove(&self.path);
    }
}

fn lock(disk: &Mutex<Disk>) -> MutexGuard<'_, Disk> {
    disk.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SimFs {
    /// A new, empty disk, seen by nobody yet.
    pub fn disk() -> Self {
        SimFs {
            disk: Arc::default(),
            host: String::new(),
        }
    }

    /// The same disk, as `host` sees it.
    pub fn for_host(&self, host: &str) -> Self {
        SimFs {
            disk: self.disk.clone(),
            host: host.to_owned(),
        }
    }

    /// Cuts `host` off the store (`true`) or joins it again (`false`).
    pub fn cut_off(&self, host: &str, cut: bool) {
        let mut disk = lock(&self.disk);
        match cut {
            true => disk.cut_off.insert(host.to_owned()),
            false => disk.cut_off.remove(host),
        };
    }

    /// Limits the disk to `bytes` (a full disk when they are used), or lifts the limit.
    pub fn set_capacity(&self, bytes: Option<usize>) {
        lock(&self.disk).capacity = bytes;
    }

    /// Fills the disk: from now on it holds no more bytes than it holds now (until
    /// [`SimFs::set_capacity`] lifts the limit).
    pub fn fill(&self) {
        let mut disk = lock(&self.disk);
        disk.capacity = Some(disk.used());
    }

    /// The files put in place since the last call that are still there, with their content,
    /// in path order: the invariants look at each write once.
    pub fn take_written(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut disk = lock(&self.disk);
        let written = std::mem::take(&mut disk.written);
        written
            .into_iter()
            .filter_map(|path| Some((path.clone(), disk.files.get(&path)?.clone())))
            .collect()
    }

    /// The disk, for an operation of this handle's host; fails when the host is cut off.
    fn reach(&self) -> io::Result<MutexGuard<'_, Disk>> {
        let disk = lock(&self.disk);
        if disk.cut_off.contains(&self.host) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the store cannot be reached from {}", self.host),
            ));
        }
        Ok(disk)
    }
}

impl Filesystem for SimFs {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        Ok(self.reach()?.files.get(path).cloned())
    }

    fn write_new(&self, dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
        let mut disk = self.reach()?;
        if disk
            .capacity
            .is_some_and(|capacity| disk.used() + bytes.len() > capacity)
        {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "the simulated disk is full",
            ));
        }
        disk.temporaries += 1;
        let temp = dir.join(format!(".tmp.{}.{}", self.host, disk.temporaries));
        disk.add_dirs(dir);
        disk.files.insert(temp.clone(), bytes.to_vec());
        Ok(temp)
    }

    fn put_in_place(&self, written: &Path, path: &Path) -> io::Result<()> {
        let mut disk = self.reach()?;
        let bytes = disk
            .files
            .remove(written)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such temporary file"))?;
        if let Some(parent) = path.parent() {
            disk.add_dirs(parent);
        }
        disk.files.insert(path.to_owned(), bytes);
        disk.written.insert(path.to_owned());
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.reach()?.files.remove(path);
        Ok(())
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.reach()?;
        disk.files.retain(|file, _| !file.starts_with(path));
        disk.dirs.retain(|dir| !dir.starts_with(path));
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let disk = self.reach()?;
        let child_name = |path: &PathBuf| {
            (path.parent() == Some(dir))
                .then(|| path.file_name())
                .flatten()
                .map(|name| name.to_string_lossy().into_owned())
        };
        // Paths sort by component, so everything below `dir` follows it without a gap.
        let below = |path: &&PathBuf| path.starts_with(dir);
        let files = disk.files.range(dir.to_owned()..).map(|(path, _)| path);
        let mut names: BTreeSet<String> = files.take_while(below).filter_map(child_name).collect();
        let dirs = disk.dirs.range(dir.to_owned()..);
        names.extend(dirs.take_while(below).filter_map(child_name));
        Ok(names.into_iter().collect())
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.reach()?.add_dirs(dir);
        Ok(())
    }

    fn lock_exclusive(&self, path: &Path) -> io::Result<Box<dyn HeldLock>> {
        // Work on the simulated disk runs on the simulation's one thread and holds no lock
        // across a wait, so a held lock here could never be released: say so, not hang.
        self.try_lock_exclusive(path)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Deadlock,
                format!("{} is locked by work that cannot finish", path.display()),
            )
        })
    }

    fn try_lock_exclusive(&self, path: &Path) -> io::Result<Option<Box<dyn HeldLock>>> {
        let mut disk = self.reach()?;
        if !disk.locks.insert(path.to_owned()) {
            return Ok(None);
        }
        Ok(Some(Box::new(SimLock {
            disk: self.disk.clone(),
            path: path.to_owned(),
        })))
    }

    fn blocks(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_replaced_atomically_and_listed_like_a_directory() {
        let disk = SimFs::disk();
        let fs = disk.for_host("host-1");
        let path = Path::new("/store/services/default/web/service.yaml");
        fs.write_atomic(path, b"one").unwrap();
        fs.write_atomic(path, b"two").unwrap();
        assert_eq!(fs.read(path).unwrap().unwrap(), b"two");
        assert_eq!(fs.list(Path::new("/store/services")).unwrap(), ["default"]);
        assert_eq!(
            fs.list(Path::new("/store/services/default/web")).unwrap(),
            ["service.yaml"]
        );
        assert_eq!(disk.take_written(), [(path.to_owned(), b"two".to_vec())]);
        assert!(disk.take_written().is_empty());
        fs.remove_dir_all(Path::new("/store/services/default"))
            .unwrap();
        assert!(fs.read(path).unwrap().is_none());
        assert!(fs.list(Path::new("/store/services")).unwrap().is_empty());
    }

    #[test]
    fn a_lock_excludes_every_other_handle_until_dropped() {
        let disk = SimFs::disk();
        let (one, two) = (disk.for_host("host-1"), disk.for_host("host-2"));
        let path = Path::new("/store/locks/store.lock");
        let held = one.lock_exclusive(path).unwrap();
        assert!(two.try_lock_exclusive(path).unwrap().is_none());
        assert_eq!(
            two.lock_exclusive(path).err().map(|e| e.kind()),
            Some(io::ErrorKind::Deadlock)
        );
        drop(held);
        assert!(two.try_lock_exclusive(path).unwrap().is_some());
    }

    #[test]
    fn a_host_cut_off_fails_and_a_full_disk_refuses_writes() {
        let disk = SimFs::disk();
        let fs = disk.for_host("host-1");
        let path = Path::new("/store/hosts/host-1.yaml");
        fs.write_atomic(path, b"name: host-1").unwrap();
        disk.cut_off("host-1", true);
        assert!(fs.read(path).is_err());
        assert!(disk.for_host("host-2").read(path).unwrap().is_some());
        disk.cut_off("host-1", false);
        disk.set_capacity(Some(20));
        let full = fs.write_atomic(path, &[b'x'; 30]).unwrap_err();
        assert_eq!(full.kind(), io::ErrorKind::StorageFull);
        assert_eq!(fs.read(path).unwrap().unwrap(), b"name: host-1");
    }
}
