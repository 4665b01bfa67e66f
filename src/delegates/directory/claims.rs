//! One owner per directory path on a host, so that deleting one instance's temporary
//! directory can never remove another's.
//!
//! Every `LocalDirectory` instance claims the canonical path of its directory before it makes
//! or uses it, in its host's [`ClaimTable`] (kept in the shared store, like port
//! reservations). A claim is refused when another instance holds the same path, when the new
//! path lies inside another's temporary directory, or when a new temporary directory would
//! contain another's directory: in each case deleting the outer temporary one would remove
//! the other's files. Nested persistent directories are allowed, since nothing removes them.

use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::delegates::protocol::DelegateError;
use crate::delegates::tables::{MemoryTables, TableChange, TableFuture};

/// A directory path held by one instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryClaim {
    /// The canonical absolute path.
    pub path: PathBuf,
    /// Who holds it: `namespace/service/instance`.
    pub owner: String,
    /// Whether deleting the owner removes the directory (it then may not contain another's).
    #[serde(default)]
    pub temporary: bool,
}

/// The directory claims of one host (`directories/<host>.yaml` in the shared store).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimTable {
    /// Every path held, in the order they were claimed.
    #[serde(default)]
    pub claims: Vec<DirectoryClaim>,
}

/// Why a path cannot be claimed; each names the instance that holds the conflicting path.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ClaimError {
    /// Another instance holds this very path.
    #[error("the directory {path} on host {host} is already claimed by {owner}")]
    Taken {
        /// The path asked for.
        path: PathBuf,
        /// The host.
        host: String,
        /// Who holds it.
        owner: String,
    },
    /// The path lies inside another instance's temporary directory.
    #[error(
        "the directory {path} on host {host} lies inside the temporary directory {outer} claimed by {owner}, which deleting {owner} would remove"
    )]
    InsideTemporary {
        /// The path asked for.
        path: PathBuf,
        /// The host.
        host: String,
        /// The temporary directory around it.
        outer: PathBuf,
        /// Who holds that.
        owner: String,
    },
    /// The path is temporary and would contain another instance's directory.
    #[error(
        "the temporary directory {path} on host {host} would contain the directory {inner} claimed by {owner}, and deleting it would remove that"
    )]
    ContainsOther {
        /// The path asked for.
        path: PathBuf,
        /// The host.
        host: String,
        /// The directory inside it.
        inner: PathBuf,
        /// Who holds that.
        owner: String,
    },
}

impl From<ClaimError> for DelegateError {
    fn from(error: ClaimError) -> Self {
        DelegateError::Failed(error.to_string())
    }
}

impl ClaimTable {
    /// The claim of exactly `path`, if any.
    pub fn holder(&self, path: &Path) -> Option<&DirectoryClaim> {
        self.claims.iter().find(|claim| claim.path == path)
    }

    /// Claims `path` (canonical) for `owner`, or says which other claim stands in the way.
    /// Claiming a path one already holds changes nothing.
    pub fn claim(
        &mut self,
        owner: &str,
        path: &Path,
        temporary: bool,
        host: &str,
    ) -> Result<(), ClaimError> {
        for other in self.claims.iter().filter(|claim| claim.owner != owner) {
            conflict(other, path, temporary, host)?;
        }
        if !self
            .claims
            .iter()
            .any(|claim| claim.owner == owner && claim.path == path)
        {
            self.claims.push(DirectoryClaim {
                path: path.to_owned(),
                owner: owner.to_owned(),
                temporary,
            });
        }
        Ok(())
    }

    /// Releases every path `owner` holds; returns how many (0 when released already).
    pub fn release(&mut self, owner: &str) -> usize {
        let before = self.claims.len();
        self.claims.retain(|claim| claim.owner != owner);
        before - self.claims.len()
    }
}

fn conflict(
    other: &DirectoryClaim,
    path: &Path,
    temporary: bool,
    host: &str,
) -> Result<(), ClaimError> {
    let (owner, host, asked) = (other.owner.clone(), host.to_owned(), path.to_owned());
    if other.path == path {
        Err(ClaimError::Taken {
            path: asked,
            host,
            owner,
        })
    } else if other.temporary && path.starts_with(&other.path) {
        Err(ClaimError::InsideTemporary {
            path: asked,
            host,
            outer: other.path.clone(),
            owner,
        })
    } else if temporary && other.path.starts_with(path) {
        Err(ClaimError::ContainsOther {
            path: asked,
            host,
            inner: other.path.clone(),
            owner,
        })
    } else {
        Ok(())
    }
}

/// `path` as claimed: its longest existing part with symbolic links resolved, then the rest
/// with `.` and `..` applied, so that two spellings of one directory are one claim.
pub fn canonical(path: &Path) -> PathBuf {
    let components: Vec<Component<'_>> = path.components().collect();
    for split in (1..=components.len()).rev() {
        let head: PathBuf = components[..split].iter().collect();
        if let Ok(mut resolved) = fs::canonicalize(&head) {
            for component in &components[split..] {
                match component {
                    Component::ParentDir => {
                        resolved.pop();
                    }
                    Component::Normal(name) => resolved.push(name),
                    _ => {}
                }
            }
            return resolved;
        }
    }
    path.to_owned()
}

/// Keeps every host's [`ClaimTable`]. The runtime implements it over the shared store
/// (`directories/<host>.yaml`, changed by the LockManager in one fenced write under the
/// store's exclusive lock), so two agents or two deploys never hand one path to two
/// instances; tests use [`MemoryDirectoryClaims`].
pub trait DirectoryClaims: Send + Sync + 'static {
    /// Loads `host`'s table (empty if it has none), runs `change` on it, and saves it if
    /// `change` returned `Ok`; nothing is written when it fails. The change is made at most
    /// once, also when the caller stops waiting for it.
    fn update<'a>(&'a self, host: &'a str, change: TableChange<ClaimTable>) -> TableFuture<'a, ()>;

    /// Reads `host`'s table as it is now (empty if it has none).
    fn read<'a>(&'a self, host: &'a str) -> TableFuture<'a, ClaimTable>;
}

/// Claim tables in memory, for the simulator and tests (claims do not survive the process).
pub type MemoryDirectoryClaims = MemoryTables<ClaimTable>;

impl DirectoryClaims for MemoryDirectoryClaims {
    fn update<'a>(&'a self, host: &'a str, change: TableChange<ClaimTable>) -> TableFuture<'a, ()> {
        Box::pin(std::future::ready(self.change(host, change)))
    }

    fn read<'a>(&'a self, host: &'a str) -> TableFuture<'a, ClaimTable> {
        Box::pin(std::future::ready(Ok(self.table(host))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_has_one_owner_until_it_is_released() {
        let mut table = ClaimTable::default();
        let path = Path::new("/srv/site");
        table.claim("default/a/data-0", path, true, "h").unwrap();
        table.claim("default/a/data-0", path, true, "h").unwrap();
        assert_eq!(table.claims.len(), 1, "claiming again changes nothing");
        let error = table
            .claim("default/b/data-0", path, false, "h")
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("already claimed by default/a/data-0"),
            "{error}"
        );
        assert_eq!(table.holder(path).unwrap().owner, "default/a/data-0");
        assert_eq!(table.release("default/a/data-0"), 1);
        assert_eq!(
            table.release("default/a/data-0"),
            0,
            "releasing is idempotent"
        );
        table.claim("default/b/data-0", path, false, "h").unwrap();
    }

    #[test]
    fn temporary_directories_never_nest_with_another_owner() {
        let mut table = ClaimTable::default();
        table
            .claim("default/a/tmp-0", Path::new("/srv/tmp"), true, "h")
            .unwrap();
        table
            .claim("default/a/keep-0", Path::new("/srv/keep"), false, "h")
            .unwrap();
        let inside = table
            .claim("default/b/x-0", Path::new("/srv/tmp/x"), false, "h")
            .unwrap_err();
        assert!(
            matches!(inside, ClaimError::InsideTemporary { .. }),
            "{inside}"
        );
        let around = table
            .claim("default/b/x-0", Path::new("/srv"), true, "h")
            .unwrap_err();
        assert!(
            matches!(around, ClaimError::ContainsOther { .. }),
            "{around}"
        );
        // Persistent ones may nest, and a temporary one may lie inside a persistent one.
        table
            .claim("default/b/x-0", Path::new("/srv/keep/inner"), true, "h")
            .unwrap();
        table
            .claim("default/c/x-0", Path::new("/srv"), false, "h")
            .unwrap();
        // `/srv/tmpfoo` is not inside `/srv/tmp`.
        table
            .claim("default/d/x-0", Path::new("/srv/tmpfoo"), true, "h")
            .unwrap();
    }

    #[test]
    fn two_spellings_of_one_path_are_one_claim() {
        let root = tempfile::tempdir().unwrap();
        let real = canonical(root.path());
        std::os::unix::fs::symlink(&real, real.join("link")).unwrap();
        assert_eq!(canonical(&real.join("link/new/../dir/.")), real.join("dir"));
    }
}
