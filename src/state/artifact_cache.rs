//! Artifacts at a URL, downloaded once into the store's `cache/artifacts/` and used from there
//! by every instance on every host that shares the store: a kernel, a disk image or a script
//! is fetched the first time an instance needs it, never again.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ring::digest;

use super::Layout;
use crate::tosca::loader::fetch::{FetchError, FetchLimits, Fetcher};

/// The bounds on one artifact's download: an image may take minutes, but never forever, and
/// a server cannot fill the store's disk.
pub fn download_limits() -> FetchLimits {
    FetchLimits {
        timeout: Duration::from_secs(600),
        max_bytes: 8 * 1024 * 1024 * 1024,
    }
}

/// The store's cache of downloaded artifacts.
#[derive(Clone, Debug)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// The cache of the store laid out as `layout`.
    pub fn of(layout: &Layout) -> Self {
        ArtifactCache {
            dir: layout.root().join("cache").join("artifacts"),
        }
    }

    /// Where the copy of `url` is kept: named by a digest of the URL (any URL makes a safe,
    /// distinct name) followed by the URL's own file name (a reader sees what it is).
    pub fn path_of(&self, url: &str) -> PathBuf {
        let digest = digest::digest(&digest::SHA256, url.as_bytes());
        let hex: String = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.dir.join(format!("{hex}-{}", file_name(url)))
    }

    /// The copy of `url`, when it was downloaded already.
    pub fn cached(&self, url: &str) -> Option<PathBuf> {
        let path = self.path_of(url);
        path.is_file().then_some(path)
    }

    /// The copy of `url`, downloaded now within `limits` when there is none yet: into a
    /// temporary file renamed into place once complete, so nobody sees half a file. Blocks.
    pub fn fetch(&self, url: &str, limits: FetchLimits) -> Result<PathBuf, FetchError> {
        if let Some(path) = self.cached(url) {
            return Ok(path);
        }
        let failed = |reason: String| FetchError::Failed {
            url: url.to_owned(),
            reason,
        };
        // Private like the rest of the store: an artifact may be as secret as an input.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| failed(format!("cannot make {}: {e}", self.dir.display())))?;
        let path = self.path_of(url);
        let partial = partial_path(&path);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)
            .map_err(|e| failed(format!("cannot write {}: {e}", partial.display())))
            .and_then(|mut file| {
                Fetcher::new(limits).download(url, &mut file)?;
                file.sync_all()
                    .map_err(|e| failed(format!("cannot write {}: {e}", partial.display())))
            })
            .and_then(|()| {
                std::fs::rename(&partial, &path)
                    .map_err(|e| failed(format!("cannot put {} in place: {e}", path.display())))
            });
        if written.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        tracing::info!(url, path = %path.display(), ok = written.is_ok(), "downloaded an artifact");
        written.map(|()| path)
    }
}

/// A name beside `path` that no other download uses.
fn partial_path(path: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{}-{nanos}.part", std::process::id()))
}

/// The last segment of `url`'s path, in characters safe in a file name; `artifact` when it
/// has none.
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or_default();
    let safe: String = last
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.trim_matches('.').is_empty() {
        "artifact".into()
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::loader::test_server::TestServer;

    #[test]
    fn a_url_is_kept_under_a_name_of_its_own() {
        let cache = ArtifactCache::of(&Layout::new("/store"));
        let a = cache.path_of("http://h/images/disk.qcow2?v=1");
        let b = cache.path_of("http://other/images/disk.qcow2");
        assert!(a.starts_with("/store/cache/artifacts"), "{a:?}");
        assert!(a.to_string_lossy().ends_with("-disk.qcow2"), "{a:?}");
        assert_ne!(a, b);
        assert!(
            cache
                .path_of("http://h/")
                .ends_with(cache.path_of("http://h/").file_name().unwrap())
        );
        assert!(
            cache
                .path_of("http://h/")
                .to_string_lossy()
                .ends_with("-artifact")
        );
        assert!(
            cache
                .path_of("http://h/a b/..")
                .to_string_lossy()
                .ends_with("-artifact")
        );
    }

    #[test]
    fn an_artifact_is_downloaded_once_and_a_failure_leaves_nothing() {
        let server = TestServer::start();
        server.put("run.sh", "echo downloaded\n");
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::of(&Layout::new(dir.path()));
        let url = server.url("/run.sh");
        assert_eq!(cache.cached(&url), None);
        let path = cache.fetch(&url, download_limits()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"echo downloaded\n");
        let mode = |p: &Path| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777
        };
        assert_eq!((mode(&path), mode(path.parent().unwrap())), (0o600, 0o700));
        assert_eq!(cache.cached(&url), Some(path.clone()));
        assert_eq!(server.requests("/run.sh"), 1);
        assert_eq!(cache.fetch(&url, download_limits()).unwrap(), path);
        assert_eq!(server.requests("/run.sh"), 1, "fetched again");

        let missing = server.url("/none.sh");
        let error = cache.fetch(&missing, download_limits()).unwrap_err();
        assert!(error.to_string().contains("HTTP 404"), "{error}");
        let small = FetchLimits {
            max_bytes: 4,
            ..download_limits()
        };
        let other = server.url("/run.sh?again");
        let error = cache.fetch(&other, small).unwrap_err();
        assert!(error.to_string().contains("larger than 4 bytes"), "{error}");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("cache/artifacts"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, [path.file_name().unwrap().to_owned()], "{left:?}");
    }
}
