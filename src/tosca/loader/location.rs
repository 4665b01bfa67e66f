//! Where a TOSCA file lives, and how a reference written in one file names another.
//!
//! A file is in one of four containers: the local file system, an archive (a CSAR), the
//! profiles compiled into the binary, or a web server reached over http(s). Inside a container
//! a location is a normalized, `/`-separated absolute path, so the same file always gets the
//! same canonical name, which is what the loader dedupes on; a web location's canonical name
//! is its URL. Joining `../` never leaves an archive or the built-in profiles (that would let
//! a template read arbitrary files through a CSAR); on a web server it stops at the server's
//! root, as RFC 3986 says; on the file system it behaves as the operating system does.
//! Imports resolve inside a repository with [`Location::join_within`], where `../` stops at
//! the repository root as in URL resolution.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::web_url::{self, WebUrl};

/// The store a file is read from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Container {
    /// The local file system.
    FileSystem,
    /// An archive (CSAR), named by its absolute path on the local file system, or by its URL
    /// when it was downloaded.
    Archive(Arc<Path>),
    /// The profiles compiled into the binary from the repository's `profiles/` folder.
    BuiltIn,
    /// A web server, named by its origin (`https://host:port`); paths on it may end with a
    /// `?query`, which is part of the file's name.
    Web(Arc<str>),
}

/// A file or directory inside a [`Container`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// The store.
    pub container: Container,
    /// The normalized absolute path inside the store; always starts with `/`.
    pub path: String,
}

/// Why a relative reference cannot be joined onto a location.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// `../` went above the root of an archive or of the built-in profiles.
    #[error("\"{reference}\" goes above the root of {container}")]
    Escapes {
        /// The reference as written.
        reference: String,
        /// What it tried to leave, for the message.
        container: String,
    },
}

impl Location {
    /// The location of a path on the local file system (made absolute against the current
    /// directory and normalized lexically; symbolic links are left to [`Location::resolved`]).
    pub fn file(path: &Path) -> Location {
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .unwrap_or_else(|_| PathBuf::from("/"))
                .join(path)
        };
        let mut parts: Vec<String> = Vec::new();
        for component in absolute.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::ParentDir => {
                    parts.pop();
                }
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        Location {
            container: Container::FileSystem,
            path: format!("/{}", parts.join("/")),
        }
    }

    /// The root directory of an archive.
    pub fn archive_root(archive: Arc<Path>) -> Location {
        Location {
            container: Container::Archive(archive),
            path: "/".into(),
        }
    }

    /// The location an `http:`/`https:` URL names.
    pub fn web(url: &str) -> Result<Location, String> {
        let WebUrl { origin, path } = web_url::parse(url)?;
        Ok(Location {
            container: Container::Web(Arc::from(origin)),
            path,
        })
    }

    /// The root of this location's container: `/` on the same server, in the same archive,
    /// or on the file system. A leading `/` in a file fetched by URL refers to it.
    pub fn container_root(&self) -> Location {
        Location {
            container: self.container.clone(),
            path: "/".into(),
        }
    }

    /// In a file fetched by URL, a reference starting with `//` (an RFC 3986 network-path
    /// reference) names a file on another server, reached with the same scheme; `None` when
    /// the reference is not one (elsewhere `//` starts an ordinary path).
    pub fn network_path(&self, reference: &str) -> Option<Result<Location, String>> {
        let Container::Web(origin) = &self.container else {
            return None;
        };
        if !reference.starts_with("//") {
            return None;
        }
        let scheme = origin
            .split_once("://")
            .map_or("http", |(scheme, _)| scheme);
        Some(Location::web(&format!("{scheme}:{reference}")))
    }

    /// The root directory of the built-in profiles.
    pub fn built_in_root() -> Location {
        Location {
            container: Container::BuiltIn,
            path: "/".into(),
        }
    }

    /// For a file-system location, the same file with symbolic links resolved (so one file
    /// reached two ways is loaded once); other locations, and paths that do not exist, are
    /// returned unchanged.
    pub fn resolved(&self) -> Location {
        match self.container {
            Container::FileSystem => match std::fs::canonicalize(&self.path) {
                Ok(real) => Location::file(&real),
                Err(_) => self.clone(),
            },
            _ => self.clone(),
        }
    }

    /// The directory holding this file.
    pub fn parent(&self) -> Location {
        let path = self.path_without_query();
        let parent = match path.rfind('/') {
            Some(0) | None => "/".to_string(),
            Some(i) => path[..i].to_string(),
        };
        Location {
            container: self.container.clone(),
            path: parent,
        }
    }

    /// The last path segment (the file name).
    pub fn file_name(&self) -> &str {
        self.path_without_query().rsplit('/').next().unwrap_or("")
    }

    /// The path, without the `?query` a web location may carry.
    fn path_without_query(&self) -> &str {
        match self.container {
            Container::Web(_) => web_url::split_query(&self.path).0,
            _ => &self.path,
        }
    }

    /// Splits a reference into the path to join and what to append after it: on a web server
    /// the query (the fragment is dropped), elsewhere nothing, since `?` and `#` are ordinary
    /// characters in file names.
    fn split_reference<'r>(&self, reference: &'r str) -> (&'r str, &'r str) {
        match self.container {
            Container::Web(_) => web_url::split_query(reference),
            _ => (reference, ""),
        }
    }

    /// Treats `self` as a directory and resolves `reference` (a `/`-separated path; a leading
    /// `/` is ignored, callers decide what the root is) against it. On a web server a `../`
    /// at the root stays there, as in URL resolution.
    pub fn join(&self, reference: &str) -> Result<Location, JoinError> {
        let (reference_path, query) = self.split_reference(reference);
        let mut parts: Vec<&str> = self.path.split('/').filter(|p| !p.is_empty()).collect();
        for segment in reference_path.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    let confined =
                        matches!(self.container, Container::Archive(_) | Container::BuiltIn);
                    if parts.pop().is_none() && confined {
                        return Err(JoinError::Escapes {
                            reference: reference.to_string(),
                            container: self.container.describe(),
                        });
                    }
                }
                other => parts.push(other),
            }
        }
        Ok(Location {
            container: self.container.clone(),
            path: format!("/{}{query}", parts.join("/")),
        })
    }

    /// Resolves `reference` against `self` (a directory inside `root`) the way a relative URL
    /// resolves inside a repository (RFC 3986, section 5.2.4): a `../` at the root stays at
    /// the root. This makes a directory of TOSCA files mean the same thing whether it is read
    /// from disk or packed into a CSAR. The flag says whether a `../` was stopped, so a
    /// missing file can be explained.
    pub fn join_within(&self, reference: &str, root: &Location) -> (Location, bool) {
        let (reference_path, query) = self.split_reference(reference);
        let floor = root.path.split('/').filter(|p| !p.is_empty()).count();
        let mut parts: Vec<&str> = self.path.split('/').filter(|p| !p.is_empty()).collect();
        let mut stopped = false;
        for segment in reference_path.split('/') {
            match segment {
                "" | "." => {}
                ".." if parts.len() > floor => {
                    parts.pop();
                }
                ".." => stopped = true,
                other => parts.push(other),
            }
        }
        let location = Location {
            container: self.container.clone(),
            path: format!("/{}{query}", parts.join("/")),
        };
        (location, stopped)
    }

    /// Whether this location is `directory` or lies under it (lexically, in the same
    /// container).
    pub fn is_within(&self, directory: &Location) -> bool {
        let inside = directory.path.trim_end_matches('/');
        self.container == directory.container
            && (self.path == directory.path
                || self
                    .path
                    .strip_prefix(inside)
                    .is_some_and(|rest| rest.starts_with('/')))
    }

    /// The name used for this file in [`crate::tosca::source::Sources`] and for deduping:
    /// a path, `archive.csar!/inner/path`, `builtin:/profile/file.yaml`, or a URL.
    pub fn canonical(&self) -> String {
        self.to_string()
    }
}

impl Container {
    fn describe(&self) -> String {
        match self {
            Container::FileSystem => "the file system".into(),
            Container::Archive(path) => format!("the archive {}", path.display()),
            Container::BuiltIn => "the built-in profiles".into(),
            Container::Web(origin) => format!("the web server {origin}"),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.container {
            Container::FileSystem => write!(f, "{}", self.path),
            Container::Archive(archive) => write!(f, "{}!{}", archive.display(), self.path),
            Container::BuiltIn => write!(f, "builtin:{}", self.path),
            Container::Web(origin) => write!(f, "{origin}{}", self.path),
        }
    }
}

/// How an import's `url` (or a repository's `url`) is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference<'a> {
    /// `file:` URL, already turned into a local path.
    FileUrl(PathBuf),
    /// An `http:` or `https:` URL, as the location it names.
    WebUrl(Location),
    /// A URL with any other scheme (`ftp:`, `git:`…), which cannot be read.
    OtherUrl {
        /// The scheme, lowercased.
        scheme: String,
    },
    /// A path starting with `/`: from the root of the importing file's repository.
    FromRoot(&'a str),
    /// A path relative to the importing file's directory.
    Relative(&'a str),
}

impl<'a> Reference<'a> {
    /// Classifies a reference as written.
    pub fn parse(text: &'a str) -> Result<Reference<'a>, String> {
        if let Some(scheme) = scheme_of(text) {
            let scheme = scheme.to_ascii_lowercase();
            if scheme == "file" {
                return file_url_path(text).map(Reference::FileUrl);
            }
            if web_url::is_web_scheme(&scheme) {
                return Location::web(text).map(Reference::WebUrl);
            }
            return Ok(Reference::OtherUrl { scheme });
        }
        if text.starts_with('/') {
            Ok(Reference::FromRoot(text))
        } else {
            Ok(Reference::Relative(text))
        }
    }
}

/// The scheme of a URL (`https` in `https://…`), if the text starts with one. Single letters
/// are not schemes, so a Windows drive letter reads as a path.
fn scheme_of(text: &str) -> Option<&str> {
    let colon = text.find(':')?;
    let scheme = &text[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    if scheme.len() < 2
        || !first.is_ascii_alphabetic()
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    Some(scheme)
}

/// The local path named by a `file:` URL (`file:///a/b`, `file:/a/b`, `file://localhost/a/b`),
/// with `%XX` escapes decoded.
pub fn file_url_path(url: &str) -> Result<PathBuf, String> {
    let rest = &url[url.find(':').map_or(0, |i| i + 1)..];
    let path = match rest.strip_prefix("//") {
        Some(authority_and_path) => {
            let slash = authority_and_path
                .find('/')
                .unwrap_or(authority_and_path.len());
            let host = &authority_and_path[..slash];
            if !host.is_empty() && !host.eq_ignore_ascii_case("localhost") {
                return Err(format!(
                    "the file: URL \"{url}\" names the host \"{host}\"; only local files can be read"
                ));
            }
            &authority_and_path[slash..]
        }
        None => rest,
    };
    if !path.starts_with('/') {
        return Err(format!(
            "the file: URL \"{url}\" has a relative path; a file: URL must name an absolute path"
        ));
    }
    percent_decode(path)
        .map(PathBuf::from)
        .ok_or_else(|| format!("the file: URL \"{url}\" has a malformed %-escape"))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive_dir(path: &str) -> Location {
        Location {
            container: Container::Archive(Arc::from(Path::new("/x/a.csar"))),
            path: path.into(),
        }
    }

    #[test]
    fn normalizes_file_paths_lexically() {
        let l = Location::file(Path::new("/a/./b/../c/d.yaml"));
        assert_eq!(l.path, "/a/c/d.yaml");
        assert_eq!(l.parent().path, "/a/c");
        assert_eq!(l.file_name(), "d.yaml");
        assert_eq!(Location::file(Path::new("/top.yaml")).parent().path, "/");
    }

    #[test]
    fn joins_relative_references_and_dot_dot() {
        let dir = Location::file(Path::new("/a/b"));
        assert_eq!(dir.join("c/../d.yaml").unwrap().path, "/a/b/d.yaml");
        assert_eq!(dir.join("../../../x.yaml").unwrap().path, "/x.yaml");
    }

    #[test]
    fn never_escapes_an_archive() {
        let dir = archive_dir("/types");
        assert_eq!(dir.join("../main.yaml").unwrap().path, "/main.yaml");
        let err = dir.join("../../etc/passwd").unwrap_err();
        assert!(err.to_string().contains("above the root"), "{err}");
        assert!(Location::built_in_root().join("../x").is_err());
    }

    #[test]
    fn dot_dot_stops_at_the_repository_root() {
        let root = Location::file(Path::new("/repo"));
        let dir = Location::file(Path::new("/repo/examples"));
        let (up, stopped) = dir.join_within("../types/t.yaml", &root);
        assert_eq!((up.path.as_str(), stopped), ("/repo/types/t.yaml", false));
        let (clamped, stopped) = dir.join_within("../../types/t.yaml", &root);
        assert_eq!(
            (clamped.path.as_str(), stopped),
            ("/repo/types/t.yaml", true)
        );
        let archive = archive_dir("/");
        let (inside, stopped) = archive.join_within("../../etc/passwd", &archive);
        assert_eq!((inside.path.as_str(), stopped), ("/etc/passwd", true));
        assert_eq!(inside.container, archive.container);
    }

    #[test]
    fn web_locations_resolve_like_urls() {
        let file = Location::web("http://h:8/a/b/main.yaml?v=1").unwrap();
        assert_eq!(file.canonical(), "http://h:8/a/b/main.yaml?v=1");
        assert_eq!(file.file_name(), "main.yaml");
        let dir = file.parent();
        assert_eq!(dir.canonical(), "http://h:8/a/b");
        let root = file.container_root();
        let (up, stopped) = dir.join_within("../c.yaml?x=/..#frag", &root);
        assert_eq!(
            (up.canonical().as_str(), stopped),
            ("http://h:8/a/c.yaml?x=/..", false)
        );
        let (clamped, stopped) = dir.join_within("../../../c.yaml", &root);
        assert_eq!(
            (clamped.canonical().as_str(), stopped),
            ("http://h:8/c.yaml", true)
        );
        assert_eq!(
            dir.join("../../../d.yaml").unwrap().canonical(),
            "http://h:8/d.yaml",
            "../ at a server's root stays at the root"
        );
    }

    #[test]
    fn a_network_path_keeps_the_scheme() {
        let file = Location::web("https://a.example/x/main.yaml").unwrap();
        let other = file.network_path("//b.example/t.yaml").unwrap().unwrap();
        assert_eq!(other.canonical(), "https://b.example/t.yaml");
        assert!(file.network_path("/t.yaml").is_none());
        assert!(file.network_path("//").unwrap().is_err());
        let local = Location::file(Path::new("/x/main.yaml"));
        assert!(local.network_path("//b/t.yaml").is_none());
    }

    #[test]
    fn renders_canonical_names() {
        assert_eq!(archive_dir("/a/b.yaml").canonical(), "/x/a.csar!/a/b.yaml");
        let built_in = Location::built_in_root().join("khutulun/p.yaml").unwrap();
        assert_eq!(built_in.canonical(), "builtin:/khutulun/p.yaml");
    }

    #[test]
    fn classifies_references() {
        assert_eq!(
            Reference::parse("https://example.com/a.yaml").unwrap(),
            Reference::WebUrl(Location {
                container: Container::Web(Arc::from("https://example.com")),
                path: "/a.yaml".into(),
            })
        );
        assert_eq!(
            Reference::parse("git://example.com/a.yaml").unwrap(),
            Reference::OtherUrl {
                scheme: "git".into()
            }
        );
        assert!(Reference::parse("https:a.yaml").is_err());
        assert_eq!(
            Reference::parse("file:///tmp/a%20b.yaml").unwrap(),
            Reference::FileUrl(PathBuf::from("/tmp/a b.yaml"))
        );
        assert_eq!(
            Reference::parse("file://localhost/tmp/a.yaml").unwrap(),
            Reference::FileUrl(PathBuf::from("/tmp/a.yaml"))
        );
        assert!(Reference::parse("file://elsewhere/tmp/a.yaml").is_err());
        assert!(Reference::parse("file:relative.yaml").is_err());
        assert_eq!(
            Reference::parse("/types/a.yaml").unwrap(),
            Reference::FromRoot("/types/a.yaml")
        );
        assert_eq!(
            Reference::parse("types/a.yaml").unwrap(),
            Reference::Relative("types/a.yaml")
        );
        assert_eq!(
            Reference::parse("C:/types/a.yaml").unwrap(),
            Reference::Relative("C:/types/a.yaml")
        );
    }

    #[test]
    fn within_is_lexical_and_respects_segment_boundaries() {
        let root = Location::file(Path::new("/srv/app"));
        assert!(Location::file(Path::new("/srv/app")).is_within(&root));
        assert!(Location::file(Path::new("/srv/app/conf/a.ini")).is_within(&root));
        assert!(!Location::file(Path::new("/srv/application/a.ini")).is_within(&root));
        assert!(!Location::file(Path::new("/etc/passwd")).is_within(&root));
        assert!(
            Location::file(Path::new("/etc/passwd")).is_within(&Location::file(Path::new("/")))
        );
        assert!(!archive_dir("/srv/app/a").is_within(&root));
    }
}
