//! Opening what the user asked to load: a YAML file, a CSAR, or a `file:`, `http:` or
//! `https:` URL to either.
//!
//! A CSAR is recognised by content, not name; one given by URL is downloaded into memory and
//! opened like a local one, its files named `URL!/inner/path`. Its entry file is named by `TOSCA.meta` (at the
//! archive root or in `TOSCA-Metadata/`); without one, the archive must hold exactly one YAML
//! file at its root, which is then the entry.

use std::path::{Path, PathBuf};

use super::csar;
use super::location::{Location, Reference};
use super::meta;
use super::store::{ReadError, Store};
use crate::tosca::problem::Problems;
use crate::tosca::source::{Sources, Span};

/// The entry file, read.
pub(super) struct Opened {
    /// Where it is.
    pub location: Location,
    /// The root a leading `/` refers to: the CSAR root, the entry file's directory, or for an
    /// entry fetched by URL the root of its server.
    pub root: Location,
    /// Its text.
    pub text: String,
    /// A CSAR's `Other-Definitions`, relative to its root, with where each is written.
    pub other_definitions: Vec<(String, Span)>,
}

/// The places `TOSCA.meta` may be, in the order they are looked for.
const META_PATHS: &[&str] = &["/TOSCA.meta", "/TOSCA-Metadata/TOSCA.meta"];

/// Reads the entry; `None` after reporting why it cannot be read.
pub(super) fn open(
    entry: &str,
    store: &mut Store,
    sources: &Sources,
    problems: &mut Problems,
) -> Option<Opened> {
    let path = match Reference::parse(entry) {
        Ok(Reference::FileUrl(path)) => path,
        Ok(Reference::WebUrl(location)) => {
            return open_web(entry, location, store, sources, problems);
        }
        Ok(Reference::OtherUrl { scheme }) => {
            problems.report(
                "unsupported-url",
                Span::NONE,
                "",
                format!(
                    "cannot read \"{entry}\": the {scheme}: scheme is not supported; give a path, or a file:, http: or https: URL"
                ),
            );
            return None;
        }
        Ok(_) => PathBuf::from(entry),
        Err(message) => {
            problems.report("entry-unreadable", Span::NONE, "", message);
            return None;
        }
    };
    let location = Location::file(&path).resolved();
    let bytes = match Store::read_bytes(Path::new(&location.path)) {
        Ok(bytes) => bytes,
        Err(e) => {
            let (code, hint) = match e {
                ReadError::NotFound(_) => ("entry-not-found", ""),
                ReadError::Directory(_) => (
                    "entry-unreadable",
                    "; give a TOSCA YAML file or a CSAR archive",
                ),
                _ => ("entry-unreadable", ""),
            };
            problems.report(
                code,
                Span::NONE,
                "",
                format!("cannot load {entry}: {e}{hint}"),
            );
            return None;
        }
    };
    if let Some(format) = csar::detect(&bytes, &path) {
        return open_csar(
            Path::new(&location.path),
            &bytes,
            format,
            store,
            sources,
            problems,
        );
    }
    let text = text_of(entry, bytes, problems)?;
    Some(Opened {
        root: location.parent(),
        location,
        text,
        other_definitions: Vec::new(),
    })
}

/// Fetches an entry given by `http:`/`https:` URL: a TOSCA file, whose leading `/` is the
/// server's root, or a CSAR.
fn open_web(
    entry: &str,
    location: Location,
    store: &mut Store,
    sources: &Sources,
    problems: &mut Problems,
) -> Option<Opened> {
    let bytes = match store.fetch(&location) {
        Ok(bytes) => bytes,
        Err(e) => {
            let code = if e.is_not_found() {
                "entry-not-found"
            } else {
                "entry-unreachable"
            };
            problems.report(code, Span::NONE, "", format!("cannot load {entry}: {e}"));
            return None;
        }
    };
    if let Some(format) = csar::detect(&bytes, Path::new(location.file_name())) {
        let name = location.canonical();
        return open_csar(Path::new(&name), &bytes, format, store, sources, problems);
    }
    let text = text_of(entry, bytes, problems)?;
    Some(Opened {
        root: location.container_root(),
        location,
        text,
        other_definitions: Vec::new(),
    })
}

/// The entry's bytes as text; `None` after reporting that they are not.
fn text_of(entry: &str, bytes: Vec<u8>, problems: &mut Problems) -> Option<String> {
    let text = String::from_utf8(bytes).ok();
    if text.is_none() {
        problems.report(
            "entry-unreadable",
            Span::NONE,
            "",
            format!("cannot load {entry}: it is neither UTF-8 text nor a CSAR archive (zip, tar, tar.gz)"),
        );
    }
    text
}

/// Opens a CSAR held in `bytes`; `name` is its path on disk, or the URL it came from.
fn open_csar(
    name: &Path,
    bytes: &[u8],
    format: csar::Format,
    store: &mut Store,
    sources: &Sources,
    problems: &mut Problems,
) -> Option<Opened> {
    let archive = match store.add_archive(name, bytes, format) {
        Ok(archive) => archive,
        Err(e) => {
            problems.report("invalid-csar", Span::NONE, "", e.to_string());
            return None;
        }
    };
    let root = Location::archive_root(archive);
    let metas: Vec<Location> = META_PATHS
        .iter()
        .filter_map(|path| root.join(path).ok())
        .filter(|meta| store.read(meta).is_ok())
        .collect();
    let (entry, other_definitions) = match metas.as_slice() {
        [] => (single_root_yaml(&root, store, problems)?, Vec::new()),
        [meta_location] => {
            let text = match store.read(meta_location) {
                Ok(text) => text,
                Err(e) => {
                    problems.report("invalid-csar", Span::NONE, "", e.to_string());
                    return None;
                }
            };
            let id = sources.add(meta_location.canonical(), text.clone());
            let meta = meta::parse(&text, id, problems)?;
            let (path, span) = meta.entry_definitions;
            let entry = match root.join(&path) {
                Ok(entry) => entry,
                Err(e) => {
                    problems.report("invalid-csar", span, "Entry-Definitions", e.to_string());
                    return None;
                }
            };
            if let Err(e) = store.read(&entry) {
                problems.report(
                    "invalid-csar",
                    span,
                    "Entry-Definitions",
                    format!("Entry-Definitions names \"{path}\", but {e}"),
                );
                return None;
            }
            (entry, meta.other_definitions)
        }
        _ => {
            problems.report(
                "invalid-csar",
                Span::NONE,
                "",
                format!(
                    "{} has both TOSCA.meta and TOSCA-Metadata/TOSCA.meta; a CSAR must have only one",
                    name.display()
                ),
            );
            return None;
        }
    };
    let text = match store.read(&entry) {
        Ok(text) => text,
        Err(e) => {
            problems.report("invalid-csar", Span::NONE, "", e.to_string());
            return None;
        }
    };
    Some(Opened {
        location: entry,
        root,
        text,
        other_definitions,
    })
}

/// The one YAML file at the root of a CSAR without `TOSCA.meta`.
fn single_root_yaml(root: &Location, store: &Store, problems: &mut Problems) -> Option<Location> {
    let mut found = store.yaml_files(root, false);
    if found.len() == 1 {
        return found.pop();
    }
    let message = if found.is_empty() {
        format!(
            "{root} has no TOSCA.meta and no YAML file at its root; add TOSCA.meta naming Entry-Definitions, or put the service template at the root"
        )
    } else {
        let names: Vec<&str> = found.iter().map(Location::file_name).collect();
        format!(
            "{root} has no TOSCA.meta and {} YAML files at its root ({}); add TOSCA.meta naming Entry-Definitions, or keep only one at the root",
            found.len(),
            names.join(", ")
        )
    };
    problems.report("invalid-csar", Span::NONE, "", message);
    None
}
