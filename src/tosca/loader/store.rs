//! Reading files from the four containers: the file system, opened archives, the built-in
//! profiles, and web servers.
//!
//! Archives are opened once per load and kept in memory, so every import inside a CSAR is a
//! map lookup. Files on web servers are fetched over http(s) by the [`Fetcher`], once per
//! load and within its limits; a web server cannot be listed, so it offers no profiles.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::built_in;
use super::csar::{self, Archive, ArchiveError};
use super::fetch::{FetchError, FetchLimits, Fetcher};
use super::location::{Container, Location};

/// The largest file read from the file system (a template, or a whole CSAR).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024 * 1024;

/// Why a file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing is there.
    #[error("{0} does not exist")]
    NotFound(String),
    /// A directory is there.
    #[error("{0} is a directory, not a file")]
    Directory(String),
    /// Something other than a regular file is there (a device, a pipe, a socket).
    #[error("{0} is not a regular file")]
    NotRegular(String),
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{0} is larger than {limit} MiB", limit = MAX_FILE_BYTES / (1024 * 1024))]
    TooLarge(String),
    /// The bytes are not UTF-8.
    #[error("{0} is not UTF-8 text")]
    NotText(String),
    /// An archive is there, where a YAML file was expected.
    #[error("{0} is an archive; only the file given to load may be a CSAR")]
    Archive(String),
    /// The operating system refused.
    #[error("cannot read {0}: {1}")]
    Io(String, std::io::Error),
    /// A web server could not be reached or did not hand the file over.
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

impl ReadError {
    /// Whether the file is certainly not there (as opposed to unreadable or unreachable): a
    /// missing local file, or a web server answering 404 Not Found or 410 Gone.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ReadError::NotFound(_)
                | ReadError::Fetch(FetchError::Status {
                    status: 404 | 410,
                    ..
                })
        )
    }
}

/// Why an archive cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// It cannot be read at all.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// It is not a well-formed archive.
    #[error("{path} is not a valid CSAR: {source}")]
    Archive {
        /// The archive.
        path: String,
        /// What is wrong with it.
        source: ArchiveError,
    },
}

/// The containers of one load.
#[derive(Debug, Default)]
pub struct Store {
    archives: HashMap<Arc<Path>, Archive>,
    fetcher: Fetcher,
}

impl Store {
    /// A store whose network fetches are bounded by `limits`.
    pub fn new(limits: FetchLimits) -> Store {
        Store {
            archives: HashMap::new(),
            fetcher: Fetcher::new(limits),
        }
    }

    /// The raw bytes of a file on a web server (fetched once per load).
    pub fn fetch(&self, location: &Location) -> Result<Vec<u8>, ReadError> {
        Ok(self.fetcher.fetch(&location.canonical())?)
    }

    /// The raw bytes of a file on the local file system.
    /// Only regular files are read (an import of `/dev/zero` must not read forever), and at
    /// most [`MAX_FILE_BYTES`].
    pub fn read_bytes(path: &Path) -> Result<Vec<u8>, ReadError> {
        let name = path.display().to_string();
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => return Err(ReadError::Directory(name)),
            Ok(meta) if !meta.is_file() => return Err(ReadError::NotRegular(name)),
            Ok(meta) if meta.len() > MAX_FILE_BYTES => return Err(ReadError::TooLarge(name)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReadError::NotFound(name));
            }
            _ => {}
        }
        std::fs::read(path).map_err(|e| ReadError::Io(name, e))
    }

    /// Adds an archive read from `bytes` (already recognised as `format`) and returns the
    /// key its locations use. `path` names it: its path on disk, or the URL it came from.
    pub fn add_archive(
        &mut self,
        path: &Path,
        bytes: &[u8],
        format: csar::Format,
    ) -> Result<Arc<Path>, OpenError> {
        let archive = Archive::read(bytes, format).map_err(|source| OpenError::Archive {
            path: path.display().to_string(),
            source,
        })?;
        let key: Arc<Path> = Arc::from(path);
        self.archives.insert(key.clone(), archive);
        Ok(key)
    }

    /// The text of a YAML file.
    pub fn read(&self, location: &Location) -> Result<String, ReadError> {
        let name = location.canonical();
        let bytes = match &location.container {
            Container::FileSystem => {
                let path = Path::new(&location.path);
                let bytes = Self::read_bytes(path)?;
                if csar::detect(&bytes, path).is_some() {
                    return Err(ReadError::Archive(name));
                }
                bytes
            }
            Container::Archive(archive) => {
                let archive = self
                    .archives
                    .get(archive)
                    .ok_or_else(|| ReadError::NotFound(archive.display().to_string()))?;
                match archive.get(&location.path) {
                    Some(bytes) => bytes.to_vec(),
                    None if archive.paths().any(|p| is_under(p, &location.path)) => {
                        return Err(ReadError::Directory(name));
                    }
                    None => return Err(ReadError::NotFound(name)),
                }
            }
            Container::BuiltIn => {
                return built_in::get(&location.path)
                    .map(str::to_string)
                    .ok_or(ReadError::NotFound(name));
            }
            Container::Web(_) => {
                let bytes = self.fetch(location)?;
                if csar::detect(&bytes, Path::new(location.file_name())).is_some() {
                    return Err(ReadError::Archive(name));
                }
                bytes
            }
        };
        String::from_utf8(bytes).map_err(|_| ReadError::NotText(name))
    }

    /// Opens every archive (`.csar`, `.zip`, `.tar`, `.tgz`, `.tar.gz`, recognised by content)
    /// under a file-system directory, recursively, and returns their roots, sorted. Files that
    /// are not readable archives are skipped: they are not what the caller looks for.
    pub fn open_archives_under(&mut self, directory: &Path) -> Vec<Location> {
        let mut paths = Vec::new();
        walk(directory, true, &is_archive_name, &mut paths);
        paths.sort();
        paths
            .iter()
            .filter_map(|path| {
                let location = Location::file(path).resolved();
                let path = Path::new(&location.path);
                let bytes = Self::read_bytes(path).ok()?;
                let format = csar::detect(&bytes, path)?;
                let key = self.add_archive(path, &bytes, format).ok()?;
                Some(Location::archive_root(key))
            })
            .collect()
    }

    /// The YAML files (`.yaml`, `.yml`) in a directory, sorted; with `recursive`, also those
    /// in every directory below it (symbolic links to directories are not followed, so a
    /// link loop cannot trap the scan). Hidden entries (`.git`…) and unreadable directories
    /// are skipped.
    pub fn yaml_files(&self, directory: &Location, recursive: bool) -> Vec<Location> {
        let mut found = match &directory.container {
            Container::FileSystem => {
                let mut found = Vec::new();
                walk(Path::new(&directory.path), recursive, &is_yaml, &mut found);
                found.iter().map(|path| Location::file(path)).collect()
            }
            Container::Archive(key) => self.archives.get(key).map_or_else(Vec::new, |archive| {
                archive
                    .paths()
                    .filter(|p| in_directory(p, &directory.path, recursive) && is_yaml(p))
                    .map(|p| Location {
                        container: directory.container.clone(),
                        path: p.to_string(),
                    })
                    .collect()
            }),
            Container::BuiltIn => built_in::paths()
                .filter(|p| in_directory(p, &directory.path, recursive) && is_yaml(p))
                .map(|p| Location {
                    container: Container::BuiltIn,
                    path: p.to_string(),
                })
                .collect(),
            Container::Web(_) => Vec::new(),
        };
        found.sort_by(|a, b| a.path.cmp(&b.path));
        found
    }
}

fn walk(
    directory: &Path,
    recursive: bool,
    wanted: &dyn Fn(&str) -> bool,
    found: &mut Vec<PathBuf>,
) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if file_type.is_dir() {
            if recursive {
                walk(&path, recursive, wanted, found);
            }
        } else if wanted(&path.to_string_lossy()) && path.is_file() {
            found.push(path);
        }
    }
}

/// Whether a name ends like an archive a profile may be packed in.
fn is_archive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".csar", ".zip", ".tar", ".tgz", ".tar.gz"]
        .iter()
        .any(|extension| lower.ends_with(extension))
}

/// Whether a name ends in `.yaml` or `.yml`.
pub fn is_yaml(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml")
}

/// Whether `path` is a file directly in `directory` (or anywhere below, with `recursive`).
fn in_directory(path: &str, directory: &str, recursive: bool) -> bool {
    let prefix = directory.trim_end_matches('/');
    match path.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) {
        Some(rest) => recursive || !rest.contains('/'),
        None => false,
    }
}

fn is_under(path: &str, directory: &str) -> bool {
    in_directory(path, directory, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_directory_membership() {
        assert!(in_directory("/a.yaml", "/", false));
        assert!(!in_directory("/d/a.yaml", "/", false));
        assert!(in_directory("/d/a.yaml", "/", true));
        assert!(in_directory("/d/a.yaml", "/d", false));
        assert!(!in_directory("/dd/a.yaml", "/d", true));
    }

    #[test]
    fn lists_yaml_files_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        for name in [
            "a.yaml",
            "b.YML",
            "c.txt",
            "sub/d.yaml",
            ".git/e.yaml",
            ".f.yaml",
        ] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let store = Store::default();
        let root = Location::file(dir.path());
        let names = |found: Vec<Location>| -> Vec<String> {
            found
                .iter()
                .map(|l| l.path[root.path.len()..].to_string())
                .collect()
        };
        assert_eq!(names(store.yaml_files(&root, false)), ["/a.yaml", "/b.YML"]);
        assert_eq!(
            names(store.yaml_files(&root, true)),
            ["/a.yaml", "/b.YML", "/sub/d.yaml"]
        );
    }

    #[test]
    fn reads_only_regular_files() {
        let store = Store::default();
        let device = Location::file(Path::new("/dev/zero"));
        assert!(matches!(store.read(&device), Err(ReadError::NotRegular(_))));
    }

    #[test]
    fn reports_missing_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::default();
        let missing = Location::file(&dir.path().join("nope.yaml"));
        assert!(matches!(store.read(&missing), Err(ReadError::NotFound(_))));
        let directory = Location::file(dir.path());
        assert!(matches!(
            store.read(&directory),
            Err(ReadError::Directory(_))
        ));
    }
}
