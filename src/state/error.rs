//! What can go wrong with the store, each said in one sentence with the file it concerns.

use std::path::PathBuf;

/// An error of the shared store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The operating system refused an operation on a store path.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// What was being done, e.g. "read".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A store file does not parse; it is left untouched for a person to look at.
    #[error("store file {path} is corrupt ({reason}); it was left untouched, repair or remove it")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A store file was written by a newer Khutulun; this one refuses to read or replace it.
    #[error(
        "store file {path} has format_version {found}, newer than the {supported} this Khutulun understands; upgrade Khutulun"
    )]
    FutureVersion {
        /// The file.
        path: PathBuf,
        /// Its format version.
        found: u64,
        /// The newest this build understands.
        supported: u32,
    },
    /// Another writer changed the store since this write was prepared (its lock lapsed).
    #[error(
        "the store moved on to epoch {current} while this write was based on epoch {based_on}; the write was refused"
    )]
    StaleEpoch {
        /// The epoch the write was based on.
        based_on: u64,
        /// The store's epoch now.
        current: u64,
    },
    /// A service's plan changed since a change to it was prepared (another host replanned it
    /// first); the change was not made.
    #[error(
        "the plan of service {service} is at version {current}, not {based_on}; the change was not made"
    )]
    StalePlan {
        /// The service, `namespace/name`.
        service: String,
        /// The version the change was based on.
        based_on: u64,
        /// The plan's version now.
        current: u64,
    },
    /// A name (service, namespace, host, template…) that cannot be a store path component.
    #[error(
        "{kind} name {name:?} is not allowed (use letters, digits, '.', '_' and '-', starting with a letter or digit)"
    )]
    InvalidName {
        /// What the name names.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// Something that must not exist yet already does.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The change asked for conflicts with what is recorded; the message says how.
    #[error("{0}")]
    Conflict(String),
    /// Something that must exist does not.
    #[error("{0} does not exist")]
    NotFound(String),
    /// Locking on this store does not exclude other writers; running on it would lose updates.
    #[error("locking does not work on the store at {path}: {reason}")]
    LockingUnsafe {
        /// The store root.
        path: PathBuf,
        /// What the check found.
        reason: String,
    },
}

impl StoreError {
    /// An [`StoreError::Io`] for `action` on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Whether the store's disk is full: a write that may succeed once room returns.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::Io { source, .. }
            if source.kind() == std::io::ErrorKind::StorageFull
                || source.raw_os_error() == Some(libc::ENOSPC))
    }
}
