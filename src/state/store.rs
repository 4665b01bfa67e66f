//! The store handle and its write transactions, fenced by the epoch.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;
use super::clock::{Clock, SystemClock};
use super::cluster_secret::{ClusterSecret, ClusterSecretRecord};
use super::document;
use super::fs::{Filesystem, RealFs};
use super::layout::Layout;
use super::parsed::ParsedCache;
use super::records::{ClusterRecord, EpochRecord, HostRecord, ServiceRecord};
use super::reserve;

/// The host-to-host protocol version written into a new `cluster.yaml`.
pub const PROTOCOL_VERSION: u32 = 1;

/// A handle to the shared store at one root. Cheap to clone; every clone writes through the same
/// lock file, so clones in one process exclude each other like processes do.
#[derive(Clone, Debug)]
pub struct Store {
    layout: Layout,
    fs: Arc<dyn Filesystem>,
    clock: Arc<dyn Clock>,
    /// The reserve kept for deletes on a full disk was spent (see [`reserve`]).
    reserve_spent: Arc<AtomicBool>,
    /// The host records as last parsed (every host reads them all every few seconds).
    host_records: ParsedCache<HostRecord>,
    /// The service records as last parsed or written, by path (each holds a whole
    /// instantiation, read again by every transaction that changes its service).
    service_records: ParsedCache<ServiceRecord>,
}

impl Store {
    /// Opens (and on first use sets up) the store at `root` on the real filesystem.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        Store::with_seams(root, Arc::new(RealFs), Arc::new(SystemClock))
    }

    /// Opens the store at `root` through the given filesystem and clock (the simulator's seams).
    pub fn with_seams(
        root: impl Into<PathBuf>,
        fs: Arc<dyn Filesystem>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let store = Store {
            layout: Layout::new(root),
            fs,
            clock,
            reserve_spent: Arc::new(AtomicBool::new(false)),
            host_records: ParsedCache::default(),
            service_records: ParsedCache::default(),
        };
        let locks = store.layout.locks();
        store
            .fs
            .create_dir_all(&locks)
            .map_err(|e| StoreError::io("create", &locks, e))?;
        store.set_up()?;
        if !reserve::keep(&*store.fs, &store.layout) {
            store.reserve_spent.store(true, Ordering::Relaxed);
        }
        Ok(store)
    }

    /// On first use (and for a store set up before the cluster had a secret), records the
    /// cluster's identity and a new secret, once: whoever takes the lock first writes them.
    fn set_up(&self) -> Result<(), StoreError> {
        let cluster = self.layout.cluster();
        let secret = self.layout.cluster_secret();
        let present = |path: &Path| Ok::<_, StoreError>(self.read_bytes(path)?.is_some());
        if present(&cluster)? && present(&secret)? {
            return Ok(());
        }
        self.transact(|tx| {
            if tx.read::<ClusterRecord>(&cluster)?.is_none() {
                let record = ClusterRecord {
                    name: "khutulun".into(),
                    protocol_version: PROTOCOL_VERSION,
                    created: tx.now(),
                };
                tx.put(&cluster, &record)?;
            }
            if tx.read::<ClusterSecretRecord>(&secret)?.is_none() {
                let key = ClusterSecret::generate()
                    .map_err(|e| StoreError::io("generate", &secret, e))?;
                tx.put(&secret, &ClusterSecretRecord { key: key.to_hex() })?;
            }
            Ok(())
        })
    }

    /// Where each record lives.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The filesystem seam (for the start-up lock check).
    pub fn filesystem(&self) -> &dyn Filesystem {
        &*self.fs
    }

    /// Now, as records store it.
    pub fn now(&self) -> String {
        self.clock.now_rfc3339()
    }

    /// Runs `work` (reads and writes of this store, or other work that may block) beside the
    /// caller: on tokio's blocking pool when the filesystem may block, else as a task of the
    /// caller's runtime (a simulation's, which must stay on one thread to replay exactly).
    pub fn spawn_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        if self.fs.blocks() {
            tokio::task::spawn_blocking(work)
        } else {
            tokio::spawn(async move { work() })
        }
    }

    /// The host records' parse cache (see [`ParsedCache`]).
    pub(super) fn host_records(&self) -> &ParsedCache<HostRecord> {
        &self.host_records
    }

    /// Where the store's time comes from (the simulator's virtual clock, or the system's).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The cluster's secret (see [`ClusterSecret`]), made when the store was set up.
    pub fn cluster_secret(&self) -> Result<ClusterSecret, StoreError> {
        let path = self.layout.cluster_secret();
        let record: ClusterSecretRecord = self.read(&path)?.ok_or_else(|| StoreError::Corrupt {
            path: path.clone(),
            reason: "the cluster's secret is missing".into(),
        })?;
        ClusterSecret::from_hex(&record.key).ok_or_else(|| StoreError::Corrupt {
            path,
            reason: "the cluster's secret is not 64 hexadecimal digits".into(),
        })
    }

    /// Reads one record; `None` when the file does not exist. A service record whose bytes
    /// were parsed or written before is not parsed again.
    pub fn read<T: DeserializeOwned + 'static>(
        &self,
        path: &Path,
    ) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.read_bytes(path)? else {
            return Ok(None);
        };
        if TypeId::of::<T>() != TypeId::of::<ServiceRecord>() {
            return document::parse(path, &bytes).map(Some);
        }
        let key = path.to_string_lossy();
        let record = self.service_records.parse(&key, path, bytes)?;
        let record: Box<dyn Any> = Box::new(record);
        Ok(record.downcast::<T>().ok().map(|record| *record))
    }

    /// Remembers that `bytes`, about to be written to `path`, are `record` (see
    /// [`Store::read`]).
    fn prime<T: 'static>(&self, path: &Path, bytes: &[u8], record: &T) {
        let any: &dyn Any = record;
        if let Some(service) = any.downcast_ref::<ServiceRecord>() {
            let key = path.to_string_lossy();
            (self.service_records).prime(&key, bytes.to_vec(), service.clone());
        }
    }

    /// Reads a file's raw bytes (registered templates are stored as they were given).
    pub fn read_bytes(&self, path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
        self.fs
            .read(path)
            .map_err(|e| StoreError::io("read", path, e))
    }

    /// The entries of a store folder, sorted (hidden temporary files left out).
    pub fn list(&self, dir: &Path) -> Result<Vec<String>, StoreError> {
        let names = self
            .fs
            .list(dir)
            .map_err(|e| StoreError::io("list", dir, e))?;
        Ok(names.into_iter().filter(|n| !n.starts_with('.')).collect())
    }

    /// The current fencing epoch (0 for a store nobody wrote yet).
    pub fn epoch(&self) -> Result<u64, StoreError> {
        Ok(self
            .read::<EpochRecord>(&self.layout.epoch())?
            .unwrap_or_default()
            .current)
    }

    /// Runs `work` under the store's exclusive lock and commits what it staged as one fenced
    /// write: the epoch is read when the lock is taken, checked again before every file is
    /// replaced, and bumped once at the end. Nothing is written when `work` fails.
    pub fn transact<R>(
        &self,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.run(None, work)
    }

    /// Like [`Store::transact`], for a write prepared from what was read at epoch `based_on`
    /// (without the lock): refused with [`StoreError::StaleEpoch`] if anyone wrote since.
    pub fn transact_based_on<R>(
        &self,
        based_on: u64,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.run(Some(based_on), work)
    }

    fn run<R>(
        &self,
        based_on: Option<u64>,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let lock_path = self.layout.store_lock();
        let _lock = self
            .fs
            .lock_exclusive(&lock_path)
            .map_err(|e| StoreError::io("lock", &lock_path, e))?;
        let current = self.epoch()?;
        if let Some(based_on) = based_on
            && based_on != current
        {
            return Err(StoreError::StaleEpoch { based_on, current });
        }
        let mut transaction = Transaction {
            store: self,
            based_on: current,
            staged: Vec::new(),
            frees_space: false,
            readable: RefCell::default(),
        };
        let result = work(&mut transaction)?;
        match transaction.commit() {
            Err(error) if error.is_disk_full() && transaction.may_use_reserve()? => {
                tracing::warn!(%error, "the store's disk is full; using the room kept for deletes");
                reserve::spend(&*self.fs, &self.layout)?;
                self.reserve_spent.store(true, Ordering::Relaxed);
                // Committing again rewrites what the first try wrote, to the same effect.
                transaction.commit()?;
            }
            committed => committed?,
        }
        if self.reserve_spent.load(Ordering::Relaxed) && reserve::keep(&*self.fs, &self.layout) {
            self.reserve_spent.store(false, Ordering::Relaxed);
        }
        Ok(result)
    }
}

enum Staged {
    Write(Vec<u8>),
    RemoveFile,
    RemoveDir,
}

/// The writes of one [`Store::transact`] call, staged until it commits.
pub struct Transaction<'a> {
    store: &'a Store,
    based_on: u64,
    staged: Vec<(PathBuf, Staged)>,
    frees_space: bool,
    /// Files on disk this transaction read whole: they are readable, so replacing them needs
    /// no second parse.
    readable: RefCell<HashSet<PathBuf>>,
}

impl Transaction<'_> {
    /// Says this transaction is part of freeing space (a delete): on a full disk it may use
    /// the room kept for that (the store's reserve file).
    pub fn frees_space(&mut self) {
        self.frees_space = true;
    }

    /// Whether this transaction may use the room kept for deletes: it says it frees space, or
    /// it leaves the store smaller (it removes files, or writes less than it replaces), as a
    /// port or directory released from a host's table does. A write of the same size (a
    /// lease renewed) may not: the room is kept for what frees it. Asked only once the disk
    /// is full, so the sizes are read then.
    fn may_use_reserve(&self) -> Result<bool, StoreError> {
        if self.frees_space {
            return Ok(true);
        }
        let size = |path: &Path| -> Result<i64, StoreError> {
            let bytes = self.store.read_bytes(path)?;
            Ok(bytes.map_or(0, |b| b.len() as i64))
        };
        let mut freed: i64 = 0;
        for (path, staged) in &self.staged {
            freed += match staged {
                Staged::Write(bytes) => size(path)? - bytes.len() as i64,
                Staged::RemoveFile => size(path)?.max(1),
                Staged::RemoveDir => 1,
            };
        }
        Ok(freed > 0)
    }

    /// The epoch this transaction's writes will carry.
    pub fn epoch(&self) -> u64 {
        self.based_on + 1
    }

    /// The store's layout.
    pub fn layout(&self) -> &Layout {
        &self.store.layout
    }

    /// Now, as records store it.
    pub fn now(&self) -> String {
        self.store.now()
    }

    fn staged(&self, path: &Path) -> Option<&Staged> {
        self.staged
            .iter()
            .rev()
            .find(|(p, s)| p == path || (matches!(s, Staged::RemoveDir) && path.starts_with(p)))
            .map(|(_, s)| s)
    }

    /// Reads a record as this transaction would leave it (its own staged writes included).
    pub fn read<T: DeserializeOwned + 'static>(
        &self,
        path: &Path,
    ) -> Result<Option<T>, StoreError> {
        match self.staged(path) {
            Some(Staged::Write(bytes)) => document::parse(path, bytes).map(Some),
            Some(Staged::RemoveFile | Staged::RemoveDir) => Ok(None),
            None => {
                let record = self.store.read(path)?;
                if record.is_some() {
                    self.readable.borrow_mut().insert(path.to_owned());
                }
                Ok(record)
            }
        }
    }

    /// The entries of a folder on disk (staged writes are not listed).
    pub fn list(&self, dir: &Path) -> Result<Vec<String>, StoreError> {
        self.store.list(dir)
    }

    /// A file that is there must be one this Khutulun can read before anything replaces it.
    fn check_replaceable(&self, path: &Path) -> Result<(), StoreError> {
        if self.staged(path).is_some() || self.readable.borrow().contains(path) {
            return Ok(());
        }
        match self.store.read_bytes(path)? {
            Some(bytes) => document::check(path, &bytes).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Stages `record` to be written at `path`. Refused when the file there is corrupt or
    /// from a newer version: it is never overwritten blindly.
    pub fn put<T: Serialize + 'static>(
        &mut self,
        path: &Path,
        record: &T,
    ) -> Result<(), StoreError> {
        self.check_replaceable(path)?;
        let bytes = document::render(record, self.epoch()).map_err(|e| StoreError::Corrupt {
            path: path.to_owned(),
            reason: format!("the record could not be rendered: {e}"),
        })?;
        self.store.prime(path, &bytes, record);
        self.staged.push((path.to_owned(), Staged::Write(bytes)));
        Ok(())
    }

    /// Stages a file to be written as these bytes (for registered templates and profiles, which
    /// are kept exactly as given; they carry no envelope and are described by a record beside).
    pub fn put_bytes(&mut self, path: &Path, bytes: Vec<u8>) {
        self.staged.push((path.to_owned(), Staged::Write(bytes)));
    }

    /// Stages the removal of a record (refused when it is corrupt, like an overwrite).
    pub fn remove(&mut self, path: &Path) -> Result<(), StoreError> {
        self.check_replaceable(path)?;
        self.staged.push((path.to_owned(), Staged::RemoveFile));
        Ok(())
    }

    /// Stages the removal of a folder. Every record (`*.yaml`) below it must be readable: a
    /// corrupt one stops the removal, so a person sees it first.
    pub fn remove_dir(&mut self, dir: &Path) -> Result<(), StoreError> {
        self.check_tree(dir)?;
        self.staged.push((dir.to_owned(), Staged::RemoveDir));
        Ok(())
    }

    /// Stages the removal of a folder whose files are not records (a registry entry's files,
    /// kept as given); the caller checks the records it knows of first.
    pub fn remove_files_dir(&mut self, dir: &Path) {
        self.staged.push((dir.to_owned(), Staged::RemoveDir));
    }

    fn check_tree(&self, dir: &Path) -> Result<(), StoreError> {
        for name in self.list(dir)? {
            let path = dir.join(&name);
            if name.ends_with(".yaml") {
                self.check_replaceable(&path)?;
            } else {
                self.check_tree(&path)?;
            }
        }
        Ok(())
    }

    fn ensure_fresh(&self) -> Result<(), StoreError> {
        let current = self.store.epoch()?;
        if current == self.based_on {
            Ok(())
        } else {
            Err(StoreError::StaleEpoch {
                based_on: self.based_on,
                current,
            })
        }
    }

    /// Writes every staged file (and the new epoch) to the staging directory first, so a
    /// write that fails (a full disk, an I/O error) leaves the store as it was; then, in the
    /// order staged, puts them in place and removes what is to be removed, syncs each
    /// directory written in once, and raises the epoch last. Whatever a crashed commit left in the staging directory goes first.
    fn commit(&self) -> Result<(), StoreError> {
        if self.staged.is_empty() {
            return Ok(());
        }
        let fs = &*self.store.fs;
        let epoch_path = self.store.layout.epoch();
        let record = EpochRecord {
            current: self.epoch(),
        };
        let epoch = document::render(&record, self.epoch()).map_err(|e| StoreError::Corrupt {
            path: epoch_path.clone(),
            reason: e.to_string(),
        })?;
        let writes = self
            .staged
            .iter()
            .filter_map(|(path, staged)| match staged {
                Staged::Write(bytes) => Some((path, bytes.as_slice())),
                _ => None,
            });
        let staging = self.store.layout.staging();
        // Under the store's lock: nobody else is committing.
        fs.remove_dir_all(&staging)
            .map_err(|e| StoreError::io("clear", &staging, e))?;
        let mut written = Written {
            fs,
            files: VecDeque::new(),
        };
        for (path, bytes) in writes.chain([(&epoch_path, epoch.as_slice())]) {
            let file = fs
                .write_new(&staging, bytes)
                .map_err(|e| StoreError::io("write", path, e))?;
            written.files.push_back(file);
        }
        let mut placed_in: Vec<&Path> = Vec::new();
        for (path, staged) in &self.staged {
            self.ensure_fresh()?;
            match staged {
                Staged::Write(_) => {
                    let dir = path.parent().unwrap_or(path);
                    if !placed_in.contains(&dir) {
                        placed_in.push(dir);
                    }
                    written
                        .place_unsynced(path)
                        .map_err(|e| StoreError::io("write", path, e))
                }
                Staged::RemoveFile => fs
                    .remove_file(path)
                    .map_err(|e| StoreError::io("remove", path, e)),
                Staged::RemoveDir => fs
                    .remove_dir_all(path)
                    .map_err(|e| StoreError::io("remove", path, e)),
            }?;
        }
        // Every file is durably in place before the epoch says the commit happened.
        for dir in placed_in {
            fs.sync_dir(dir)
                .map_err(|e| StoreError::io("sync", dir, e))?;
        }
        self.ensure_fresh()?;
        written
            .place(&epoch_path)
            .map_err(|e| StoreError::io("write", &epoch_path, e))
    }
}

/// The files a commit wrote beside their places, in the order they go in place; whatever is
/// left when the commit ends (it failed) is removed.
struct Written<'a> {
    fs: &'a dyn Filesystem,
    files: VecDeque<PathBuf>,
}

impl Written<'_> {
    /// Puts the next file in place of `path`, durably.
    fn place(&mut self, path: &Path) -> std::io::Result<()> {
        let file = self.files.pop_front().expect("one file written per write");
        self.fs.put_in_place(&file, path).inspect_err(|_| {
            let _ = self.fs.remove_file(&file);
        })
    }

    /// Puts the next file in place of `path`, durable once its directory is synced.
    fn place_unsynced(&mut self, path: &Path) -> std::io::Result<()> {
        let file = self.files.pop_front().expect("one file written per write");
        self.fs.put_in_place_unsynced(&file, path).inspect_err(|_| {
            let _ = self.fs.remove_file(&file);
        })
    }
}

impl Drop for Written<'_> {
    fn drop(&mut self) {
        for file in &self.files {
            let _ = self.fs.remove_file(file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::records::HostRecord;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn opening_sets_up_the_cluster_record_once() {
        let (dir, store) = store();
        let cluster: ClusterRecord = store.read(&store.layout().cluster()).unwrap().unwrap();
        let epoch = store.epoch().unwrap();
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(
            again
                .read::<ClusterRecord>(&again.layout().cluster())
                .unwrap()
                .unwrap(),
            cluster
        );
        assert_eq!(again.epoch().unwrap(), epoch);
    }

    #[test]
    fn the_cluster_secret_is_made_once_private_and_added_to_an_older_store() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, store) = store();
        let secret = store.cluster_secret().unwrap();
        let path = store.layout().cluster_secret();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            Store::open(dir.path()).unwrap().cluster_secret().unwrap(),
            secret
        );

        std::fs::remove_file(&path).unwrap();
        let again = Store::open(dir.path()).unwrap();
        let renewed = again.cluster_secret().unwrap();
        assert_ne!(renewed, secret, "a store without a secret gets a new one");

        std::fs::write(&path, "format_version: 1\nepoch: 1\nkey: nothex\n").unwrap();
        let error = again.cluster_secret().unwrap_err();
        assert!(error.to_string().contains("cluster-secret.yaml"), "{error}");
    }

    #[test]
    fn every_commit_raises_the_epoch_and_stamps_the_files() {
        let (_dir, store) = store();
        let before = store.epoch().unwrap();
        let path = store.layout().host("alpha");
        store
            .transact(|tx| tx.put(&path, &HostRecord::new("alpha", "t")))
            .unwrap();
        assert_eq!(store.epoch().unwrap(), before + 1);
        let bytes = store.read_bytes(&path).unwrap().unwrap();
        assert_eq!(document::check(&path, &bytes).unwrap(), before + 1);
    }

    #[test]
    fn a_failed_transaction_writes_nothing() {
        let (_dir, store) = store();
        let path = store.layout().host("alpha");
        let before = store.epoch().unwrap();
        let result: Result<(), _> = store.transact(|tx| {
            tx.put(&path, &HostRecord::new("alpha", "t"))?;
            Err(StoreError::NotFound("something".into()))
        });
        assert!(result.is_err());
        assert!(store.read::<HostRecord>(&path).unwrap().is_none());
        assert_eq!(store.epoch().unwrap(), before);
    }

    /// The real filesystem, whose disk fills up after `room` more files are written.
    #[derive(Debug)]
    struct FillingUp {
        room: std::sync::atomic::AtomicUsize,
    }

    impl Filesystem for FillingUp {
        fn read(&self, path: &Path) -> std::io::Result<Option<Vec<u8>>> {
            RealFs.read(path)
        }
        fn write_new(&self, dir: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
            let room = self.room.fetch_sub(1, Ordering::SeqCst);
            if room == 0 {
                self.room.store(0, Ordering::SeqCst);
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            RealFs.write_new(dir, bytes)
        }
        fn put_in_place(&self, written: &Path, path: &Path) -> std::io::Result<()> {
            RealFs.put_in_place(written, path)
        }
        fn remove_file(&self, path: &Path) -> std::io::Result<()> {
            // Removing the store's reserve gives room back: for a record and the epoch.
            if path.ends_with("locks/reserve") {
                self.room.fetch_add(2, Ordering::SeqCst);
            }
            RealFs.remove_file(path)
        }
        fn remove_dir_all(&self, path: &Path) -> std::io::Result<()> {
            RealFs.remove_dir_all(path)
        }
        fn list(&self, dir: &Path) -> std::io::Result<Vec<String>> {
            RealFs.list(dir)
        }
        fn create_dir_all(&self, dir: &Path) -> std::io::Result<()> {
            RealFs.create_dir_all(dir)
        }
        fn lock_exclusive(&self, path: &Path) -> std::io::Result<Box<dyn super::super::HeldLock>> {
            RealFs.lock_exclusive(path)
        }
        fn try_lock_exclusive(
            &self,
            path: &Path,
        ) -> std::io::Result<Option<Box<dyn super::super::HeldLock>>> {
            RealFs.try_lock_exclusive(path)
        }
    }

    #[test]
    fn on_a_full_disk_only_a_write_that_frees_space_may_use_the_room_kept_for_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let fs = Arc::new(FillingUp {
            room: std::sync::atomic::AtomicUsize::new(usize::MAX),
        });
        let store = Store::with_seams(dir.path(), fs.clone(), Arc::new(SystemClock)).unwrap();
        let path = store.layout().host("alpha");
        let record = |note: &str| HostRecord::new("alpha", note);
        store
            .transact(|tx| tx.put(&path, &record("a note of middling length")))
            .unwrap();
        let reserve = store.layout().locks().join("reserve");
        fs.room.store(0, Ordering::SeqCst);

        let grows =
            store.transact(|tx| tx.put(&path, &record("a note much longer than the one before")));
        assert!(grows.unwrap_err().is_disk_full());
        assert!(
            reserve.exists(),
            "a write that grows the store leaves the reserve alone"
        );
        let same = store.transact(|tx| tx.put(&path, &record("a note of middling size!!")));
        assert!(same.unwrap_err().is_disk_full());
        assert!(
            reserve.exists(),
            "a write of the same size leaves the reserve alone"
        );

        store
            .transact(|tx| tx.put(&path, &record("short")))
            .unwrap();
        assert_eq!(store.read(&path).unwrap(), Some(record("short")));
        assert!(
            !reserve.exists(),
            "a write no larger than the file it replaces used the reserve"
        );
    }

    #[test]
    fn a_commit_that_cannot_write_every_file_changes_none_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let fs = Arc::new(FillingUp {
            room: std::sync::atomic::AtomicUsize::new(usize::MAX),
        });
        let store = Store::with_seams(dir.path(), fs.clone(), Arc::new(SystemClock)).unwrap();
        let hosts = ["alpha", "beta", "gamma"].map(|h| store.layout().host(h));
        store
            .transact(|tx| tx.put(&hosts[0], &HostRecord::new("alpha", "before")))
            .unwrap();
        let before = store.epoch().unwrap();
        // Room for two of the three records (and not the epoch).
        fs.room.store(2, Ordering::SeqCst);
        let error = store
            .transact(|tx| {
                for (path, name) in hosts.iter().zip(["alpha", "beta", "gamma"]) {
                    tx.put(path, &HostRecord::new(name, "after"))?;
                }
                Ok(())
            })
            .unwrap_err();
        assert!(error.to_string().contains("gamma"), "{error}");
        let alpha: HostRecord = store.read(&hosts[0]).unwrap().unwrap();
        assert_eq!(alpha, HostRecord::new("alpha", "before"));
        assert!(store.read::<HostRecord>(&hosts[1]).unwrap().is_none());
        assert_eq!(store.epoch().unwrap(), before);
        let left = RealFs.list(&store.layout().staging()).unwrap();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_write_based_on_a_stale_epoch_is_refused() {
        let (_dir, store) = store();
        let seen = store.epoch().unwrap();
        let path = store.layout().host("alpha");
        store
            .transact(|tx| tx.put(&path, &HostRecord::new("alpha", "first")))
            .unwrap();
        let error = store
            .transact_based_on(seen, |tx| {
                tx.put(&path, &HostRecord::new("alpha", "second"))
            })
            .unwrap_err();
        assert!(matches!(error, StoreError::StaleEpoch { based_on, .. } if based_on == seen));
        let host: HostRecord = store.read(&path).unwrap().unwrap();
        assert_eq!(host.started, "first");
    }

    #[test]
    fn a_writer_whose_lock_lapsed_is_fenced_off() {
        // Another writer commits in the middle of this transaction, as a host that took the lock
        // after this one's lease expired would.
        let (_dir, store) = store();
        let other = store.clone();
        let path = store.layout().host("alpha");
        let error = store
            .transact(|tx| {
                tx.put(&path, &HostRecord::new("alpha", "late"))?;
                // Simulate the lapse: write the epoch as the other host would have.
                let epoch_path = other.layout().epoch();
                let record = EpochRecord {
                    current: tx.epoch() + 5,
                };
                other
                    .fs
                    .write_atomic(&epoch_path, &document::render(&record, 0).unwrap())
                    .unwrap();
                Ok(())
            })
            .unwrap_err();
        assert!(matches!(error, StoreError::StaleEpoch { .. }), "{error}");
        assert!(store.read::<HostRecord>(&path).unwrap().is_none());
    }

    #[test]
    fn a_corrupt_file_is_reported_with_its_path_and_never_overwritten() {
        let (_dir, store) = store();
        let path = store.layout().host("alpha");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "format_version: 1\nname: [oops\n").unwrap();
        let error = store.read::<HostRecord>(&path).unwrap_err();
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
        let error = store
            .transact(|tx| tx.put(&path, &HostRecord::new("alpha", "t")))
            .unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "format_version: 1\nname: [oops\n"
        );
    }

    #[test]
    fn a_future_version_file_is_refused_and_kept() {
        let (_dir, store) = store();
        let path = store.layout().host("alpha");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "format_version: 99\nname: alpha\n").unwrap();
        let error = store.transact(|tx| tx.remove(&path)).unwrap_err();
        assert!(
            matches!(error, StoreError::FutureVersion { found: 99, .. }),
            "{error}"
        );
        assert!(path.exists());
    }

    #[test]
    fn a_transaction_reads_its_own_staged_writes() {
        let (_dir, store) = store();
        let path = store.layout().host("alpha");
        store
            .transact(|tx| {
                tx.put(&path, &HostRecord::new("alpha", "t"))?;
                assert!(tx.read::<HostRecord>(&path)?.is_some());
                tx.remove(&path)?;
                assert!(tx.read::<HostRecord>(&path)?.is_none());
                Ok(())
            })
            .unwrap();
    }
}
