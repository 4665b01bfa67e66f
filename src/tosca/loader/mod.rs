//! The TOSCA 2.0 loader: reads an entry file (a YAML file or a CSAR) and every file it
//! imports, transitively, each once, and hands the import graph to the type system.
//!
//! What it checks is what must hold before names can be resolved: every file is TOSCA 2.0
//! (`tosca_definitions_version: tosca_2_0` as its first key), imports and repositories are well
//! formed and point at readable TOSCA files, profile names are known, CSARs are well formed.
//! Everything wrong is recorded in [`Problems`] and loading carries on with the rest, so one
//! run reports every mistake.
//!
//! Imports are resolved as TOSCA 2.0 says: a relative `url` against the importing file's
//! directory, a leading `/` against the root of its repository (the CSAR root; for plain
//! files the entry file's directory; for a profile, the declaring file's directory; for a
//! file fetched by URL, the server's root or the repository's URL), `../` up to that root and
//! no further (as in URL resolution, so a directory means the same read from disk or packed
//! as a CSAR), and `repository: name` against the repositories the importing file defines
//! or brought in with the imports it lists before (see [`repositories::visible`]).
//! `imports: - profile: NAME` is looked up in the [`catalog`]. Files are deduplicated by
//! canonical location, so diamonds and cycles load each file once.
//!
//! An `http:`/`https:` URL (as the entry, in an import, or as a repository's `url`) names a
//! file on a web server, fetched by [`fetch`] once per load within [`LoadOptions::fetch`]'s
//! deadline and size limit. A file fetched by URL is named by its URL, and its imports resolve
//! as RFC 3986 relative references against it: `../` stops at the server's root, and a leading
//! `/` is the server's root, or the repository's URL for a file imported through a repository
//! (whose imports are then confined to it, as for local repositories). A CSAR given by URL is
//! downloaded into memory and opened like a local one. A fetch that fails is reported at the
//! import (`import-not-found` for 404 and 410, `import-unreadable` when too large,
//! `import-unreachable` otherwise) with the status or the network error. Other schemes
//! (`ftp:`, `git:`…) are `unsupported-url`.

pub mod built_in;
pub mod catalog;
pub mod csar;
pub mod document;
mod entry;
pub mod fetch;
pub mod imports;
pub mod location;
pub mod meta;
pub mod repositories;
pub mod store;
pub mod web_url;

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
pub(crate) mod test_server;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod web_tests;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use self::catalog::Catalog;
use self::fetch::{FetchError, FetchLimits};
use self::imports::{ImportDefinition, Target};
use self::location::{Container, Location, Reference};
use self::repositories::Visible;
use self::store::{ReadError, Store};
use super::limits::Limits;
use super::problem::Problems;
use super::source::{FileId, Sources, Span};
use super::value::{Value, ValueKind};
use super::yaml;

/// Options for one load.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Directories searched (recursively, including CSAR archives found there) for files
    /// declaring `profile:` names, before the entry's siblings and the built-in profiles.
    pub profile_paths: Vec<PathBuf>,
    /// Further service templates that may substitute nodes (`--substitution FILE`), loaded
    /// with their imports after the entry, like a CSAR's `Other-Definitions`.
    pub substitutions: Vec<PathBuf>,
    /// The deadline and size limit of each file fetched over http(s).
    pub fetch: FetchLimits,
    /// The size, node and nesting budgets each file is parsed within.
    pub limits: Limits,
}

/// Everything one load read: the entry file and every file it imports, transitively, each
/// once.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The entry file.
    pub entry: FileId,
    /// Every loaded file, in load order (breadth first); the entry first.
    pub files: Vec<LoadedFile>,
    /// The CSAR's `Other-Definitions` and the [`LoadOptions::substitutions`] (further service
    /// templates, for substitution), loaded with their imports.
    pub other_definitions: Vec<FileId>,
}

impl Loaded {
    /// The loaded file with this id.
    pub fn file(&self, id: FileId) -> Option<&LoadedFile> {
        self.files.iter().find(|f| f.id == id)
    }

    /// The entry file's `service_template`, for the templates stage to read. It is moved out
    /// of the document (the stage keeps its values without copying them, and a large service
    /// is mostly this tree); a file that is also a substitution candidate keeps its tree and
    /// hands over a copy.
    pub fn take_service_template(&mut self) -> Option<Value> {
        let entry = self.entry;
        let keep = self.other_definitions.contains(&entry);
        let root = self.files.iter_mut().find(|f| f.id == entry)?;
        let ValueKind::Map(entries) = &mut root.root.kind else {
            return None;
        };
        let (_, tree) = entries
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some("service_template"))?;
        Some(if keep {
            tree.clone()
        } else {
            std::mem::replace(tree, Value::new(ValueKind::Null))
        })
    }

    /// The profile a file's names belong to: the name it declares, or else the profile of
    /// the file that first imported it (in load order), so a profile's helper files belong to
    /// it while a nested profile keeps its own name.
    pub fn profile_of(&self, id: FileId) -> Option<&str> {
        let mut effective: HashMap<FileId, Option<&str>> = HashMap::new();
        for file in &self.files {
            let inherited = effective.get(&file.id).copied().flatten();
            let own = file.profile.as_deref().or(inherited);
            effective.insert(file.id, own);
            for import in &file.imports {
                effective.entry(import.file).or_insert(own);
            }
        }
        effective.get(&id).copied().flatten()
    }
}

/// One loaded TOSCA file.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    /// Its id in [`Sources`].
    pub id: FileId,
    /// The parsed document (a map).
    pub root: Value,
    /// Its canonical location: a path, `archive.csar!/inner/path`, `builtin:/path`, or the
    /// URL it was fetched from.
    pub location: String,
    /// The same location, structured, so later stages can resolve what the file references
    /// (artifact files) as its imports were resolved.
    pub place: Location,
    /// The directory a reference starting with `/` starts from (the CSAR root; for plain
    /// files the entry's directory).
    pub root_directory: Location,
    /// The `profile:` name this file declares, if any. The files it imports belong to this
    /// profile too, unless they declare another name (a nested profile name overrides the
    /// importer's); the type system derives that by walking [`LoadedFile::imports`].
    pub profile: Option<String>,
    /// What this file imports, resolved, in the order written. A profile import that several
    /// files declare gives one entry per file, all with the same namespace and span.
    pub imports: Vec<Import>,
}

/// One resolved import.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// The imported file.
    pub file: FileId,
    /// The namespace the importing file sees its names under, if any.
    pub namespace: Option<String>,
    /// Where the import definition is written.
    pub span: Span,
}

/// Loads `entry` (a YAML file path, a CSAR archive path, or a `file:`, `http:` or `https:`
/// URL to either) and everything it imports. Returns `None` only when the entry itself cannot
/// be read or parsed; every problem is in `problems`.
pub fn load(
    entry: &str,
    options: &LoadOptions,
    sources: &Sources,
    problems: &mut Problems,
) -> Option<Loaded> {
    let mut store = Store::new(options.fetch.clone());
    let opened = entry::open(entry, &mut store, sources, problems)?;
    Loader::new(options, sources, problems, store, &opened.location).run(opened)
}

/// Loads an in-memory text as the entry, as if it were the file `name` (which need not
/// exist): relative imports resolve against `name`'s directory. For tests, fuzzing and
/// benches.
pub fn load_text(
    name: &str,
    text: &str,
    options: &LoadOptions,
    sources: &Sources,
    problems: &mut Problems,
) -> Option<Loaded> {
    let location = Location::file(Path::new(name)).resolved();
    let opened = entry::Opened {
        root: location.parent(),
        location,
        text: text.to_string(),
        other_definitions: Vec::new(),
    };
    Loader::new(
        options,
        sources,
        problems,
        Store::new(options.fetch.clone()),
        &opened.location,
    )
    .run(opened)
}

/// Where an import is written, for problems about its target.
struct Site {
    span: Span,
    path: String,
    /// What the import names, as written, for messages (empty when not useful).
    written: String,
}

/// What is known about a canonical location.
enum Known {
    /// Loaded as `files[index]`.
    Loaded(usize),
    /// Read and found unusable: its syntax errors are already reported; a file that is not
    /// TOSCA carries the message to report at every import of it.
    Unusable(Option<String>),
}

/// Per-file state the result does not need.
struct Context {
    location: Location,
    /// The root a leading `/` refers to.
    root: Location,
}

struct Loader<'a> {
    sources: &'a Sources,
    problems: &'a mut Problems,
    store: Store,
    catalog: Catalog,
    files: Vec<LoadedFile>,
    contexts: Vec<Context>,
    known: HashMap<String, Known>,
    pending: VecDeque<usize>,
    /// [`LoadOptions::substitutions`].
    substitutions: Vec<PathBuf>,
    /// [`LoadOptions::limits`].
    limits: Limits,
}

impl<'a> Loader<'a> {
    fn new(
        options: &LoadOptions,
        sources: &'a Sources,
        problems: &'a mut Problems,
        store: Store,
        entry: &Location,
    ) -> Self {
        let siblings = match &entry.container {
            Container::Archive(archive) => Location::archive_root(archive.clone()),
            _ => entry.parent(),
        };
        for path in &options.profile_paths {
            if !path.is_dir() {
                problems.report(
                    "profile-path-not-found",
                    Span::NONE,
                    "",
                    format!(
                        "the profile path {} is not a directory; give a directory holding profile files",
                        path.display()
                    ),
                );
            }
        }
        Loader {
            sources,
            problems,
            store,
            catalog: Catalog::new(options.profile_paths.clone(), Some(siblings)),
            files: Vec::new(),
            contexts: Vec::new(),
            known: HashMap::new(),
            pending: VecDeque::new(),
            substitutions: options.substitutions.clone(),
            limits: options.limits,
        }
    }

    fn run(mut self, opened: entry::Opened) -> Option<Loaded> {
        let entry = self.add(opened.location, opened.root.clone(), opened.text, None)?;
        self.drain();
        let mut other_definitions = Vec::new();
        for (path, span) in opened.other_definitions {
            let site = Site {
                span,
                path: "Other-Definitions".into(),
                written: path.clone(),
            };
            let location = match opened.root.join(&path) {
                Ok(location) => location,
                Err(e) => {
                    self.report_at(&site, "invalid-csar", e.to_string());
                    continue;
                }
            };
            if let Some(index) = self.import(location, opened.root.clone(), &site) {
                other_definitions.push(self.files[index].id);
            }
            self.drain();
        }
        for path in std::mem::take(&mut self.substitutions) {
            let site = Site {
                span: Span::NONE,
                path: "--substitution".into(),
                written: path.display().to_string(),
            };
            let location = Location::file(&path).resolved();
            if let Some(index) = self.import(location.clone(), location.parent(), &site) {
                let id = self.files[index].id;
                if !other_definitions.contains(&id) {
                    other_definitions.push(id);
                }
            }
            self.drain();
        }
        Some(Loaded {
            entry: self.files[entry].id,
            files: self.files,
            other_definitions,
        })
    }

    /// Resolves the imports of every loaded file not yet looked at.
    fn drain(&mut self) {
        while let Some(index) = self.pending.pop_front() {
            self.resolve_imports(index);
        }
    }

    /// Registers, parses and checks one file's text. `site` is the import that led here
    /// (`None` for the entry); a file that is not TOSCA is reported there and not loaded.
    fn add(
        &mut self,
        location: Location,
        root: Location,
        text: String,
        site: Option<&Site>,
    ) -> Option<usize> {
        let key = location.canonical();
        let id = if document::declares_tosca(&text) {
            self.sources.add(key.clone(), text)
        } else {
            self.sources.add_unquoted(key.clone(), text)
        };
        let source = self.sources.get(id).expect("just added");
        let document = match yaml::parse_within(&source.text, id, &self.limits) {
            Ok(document) => document,
            Err(e) => {
                self.problems.report(e.code, e.span, "", e.message);
                self.known.insert(key, Known::Unusable(None));
                return None;
            }
        };
        if site.is_none() && document.as_map().is_none() {
            // Not a map, so nothing later stages could read; their messages would only
            // quote what the file holds.
            document::check(&document, self.problems);
            self.known.insert(key, Known::Unusable(None));
            return None;
        }
        if let Some(site) = site
            && !document::is_tosca(&document)
        {
            let found = if document.as_map().is_some() {
                format!("a map without {}", document::VERSION_KEY)
            } else {
                format!("a {}", document.kind_name())
            };
            let message = format!(
                "{key} is not a TOSCA file: expected a map starting with {}, found {found}",
                document::VERSION_KEY
            );
            self.report_at(site, "import-not-tosca", message.clone());
            self.known.insert(key, Known::Unusable(Some(message)));
            return None;
        }
        let profile = document::check(&document, self.problems);
        let index = self.files.len();
        tracing::debug!(file = %key, ?profile, "loaded TOSCA file");
        self.files.push(LoadedFile {
            id,
            root: document,
            location: key.clone(),
            place: location.clone(),
            root_directory: root.clone(),
            profile,
            imports: Vec::new(),
        });
        self.contexts.push(Context { location, root });
        self.known.insert(key, Known::Loaded(index));
        self.pending.push_back(index);
        Some(index)
    }

    /// Loads (or finds already loaded) the file at `location`, reporting at `site` if it
    /// cannot be read.
    fn import(&mut self, location: Location, root: Location, site: &Site) -> Option<usize> {
        let location = location.resolved();
        match self.known.get(&location.canonical()) {
            Some(Known::Loaded(index)) => return Some(*index),
            Some(Known::Unusable(None)) => return None,
            Some(Known::Unusable(Some(message))) => {
                let message = message.clone();
                self.report_at(site, "import-not-tosca", message);
                return None;
            }
            None => {}
        }
        match self.store.read(&location) {
            Ok(text) => self.add(location, root, text, Some(site)),
            Err(e) => {
                let code = match e {
                    _ if e.is_not_found() => "import-not-found",
                    ReadError::Fetch(FetchError::TooLarge { .. }) => "import-unreadable",
                    ReadError::Fetch(_) => "import-unreachable",
                    _ => "import-unreadable",
                };
                let message = if site.written.is_empty() {
                    format!("cannot import: {e}")
                } else {
                    format!("cannot import \"{}\": {e}", site.written)
                };
                self.report_at(site, code, message);
                None
            }
        }
    }

    fn resolve_imports(&mut self, index: usize) {
        let root = &self.files[index].root;
        let definitions = imports::read(root, self.problems);
        // Reported once here; `repositories::visible` reads them again quietly.
        repositories::read(root, self.problems);
        let mut resolved = Vec::new();
        for definition in definitions {
            let targets = match &definition.target {
                Target::Url {
                    url,
                    span,
                    repository,
                } => {
                    let site = Site {
                        span: *span,
                        path: format!("{}.url", definition.path),
                        written: url.clone(),
                    };
                    let repositories = match repository {
                        Some(_) => self.repositories_so_far(index, &resolved),
                        None => Vec::new(),
                    };
                    self.locate_url(
                        index,
                        &site,
                        repository.as_ref(),
                        &repositories,
                        &definition,
                    )
                    .and_then(|(location, root)| self.import(location, root, &site))
                    .into_iter()
                    .collect()
                }
                Target::Profile { name, span } => {
                    let site = Site {
                        span: *span,
                        path: format!("{}.profile", definition.path),
                        written: name.clone(),
                    };
                    self.import_profile(name, &site)
                }
            };
            resolved.extend(targets.into_iter().map(|target: usize| Import {
                file: self.files[target].id,
                namespace: definition.namespace.clone(),
                span: definition.span,
            }));
        }
        self.files[index].imports = resolved;
    }

    /// The repositories file `index` may name in its next import: its own and those of the
    /// files its earlier imports (`resolved`) brought, whose own imports are resolved first.
    fn repositories_so_far(&mut self, index: usize, resolved: &[Import]) -> Vec<Visible> {
        for import in resolved {
            let target = self.files.iter().position(|f| f.id == import.file);
            if let Some(target) = target
                && let Some(at) = self.pending.iter().position(|&p| p == target)
            {
                self.pending.remove(at);
                self.resolve_imports(target);
            }
        }
        self.files[index].imports = resolved.to_vec();
        repositories::visible(&self.files, self.files[index].id)
    }

    /// The location (and its repository root) an import's url (written at `url_site`) names,
    /// or `None` after reporting why it names none.
    fn locate_url(
        &mut self,
        index: usize,
        url_site: &Site,
        repository: Option<&(String, Span)>,
        repositories: &[Visible],
        definition: &ImportDefinition,
    ) -> Option<(Location, Location)> {
        let url = url_site.written.as_str();
        let reference = match Reference::parse(url) {
            Ok(reference) => reference,
            Err(message) => {
                self.report_at(url_site, "invalid-import", message);
                return None;
            }
        };
        if repository.is_none()
            && let Some(found) = self.contexts[index].location.network_path(url)
        {
            return match found {
                Ok(location) => {
                    let root = location.container_root();
                    Some((location, root))
                }
                Err(message) => {
                    self.report_at(url_site, "invalid-import", message);
                    None
                }
            };
        }
        let context = &self.contexts[index];
        let (base, root, relative) = match (repository, reference) {
            (
                Some(_),
                Reference::FileUrl(_) | Reference::WebUrl(_) | Reference::OtherUrl { .. },
            ) => {
                self.report_at(
                    url_site,
                    "invalid-import",
                    format!(
                        "\"{url}\" is an absolute URL, so it cannot be relative to a repository; remove repository or give a relative path"
                    ),
                );
                return None;
            }
            (Some((name, span)), Reference::FromRoot(path) | Reference::Relative(path)) => {
                let site = Site {
                    span: *span,
                    path: format!("{}.repository", definition.path),
                    written: name.clone(),
                };
                let Some(found) = repositories.iter().find(|r| &r.name == name) else {
                    let known: Vec<&str> = repositories.iter().map(|r| r.name.as_str()).collect();
                    self.report_at(
                        &site,
                        "unknown-repository",
                        format!(
                            "no repository named \"{name}\" is defined in this file or in what it imported before ({}); define it under repositories",
                            if known.is_empty() {
                                "there are none".to_string()
                            } else {
                                format!("there are {}", known.join(", "))
                            }
                        ),
                    );
                    return None;
                };
                let repository_site = Site {
                    span: found.repository.url_span,
                    path: format!("repositories.{}.url", found.repository.name),
                    written: found.repository.url.clone(),
                };
                let definer = self.files.iter().position(|f| f.id == found.defined_in);
                let url = found.repository.url.clone();
                let directory =
                    self.locate_directory(definer.unwrap_or(index), &url, &repository_site)?;
                (directory.clone(), directory, path)
            }
            (None, Reference::FileUrl(path)) => {
                let location = Location::file(&path);
                let root = location.parent();
                return Some((location, root));
            }
            (None, Reference::WebUrl(location)) => {
                let root = location.container_root();
                return Some((location, root));
            }
            (None, Reference::OtherUrl { scheme }) => {
                self.report_unsupported_scheme(url_site, url, &scheme);
                return None;
            }
            (None, Reference::FromRoot(path)) => (context.root.clone(), context.root.clone(), path),
            (None, Reference::Relative(path)) => {
                (context.location.parent(), context.root.clone(), path)
            }
        };
        let (location, stopped) = base.join_within(relative, &root);
        if stopped && self.store.read(&location).is_err_and(|e| e.is_not_found()) {
            let (what, outside) = match root.container {
                Container::Web(_) => ("the server's root or the repository URL", "an absolute URL"),
                _ => (
                    "the CSAR root, or the entry file's directory",
                    "an absolute file: URL",
                ),
            };
            self.report_at(
                url_site,
                "import-not-found",
                format!(
                    "cannot import \"{url}\": {location} does not exist; `../` stops at the repository root {root} ({what}), so to import from outside it define a repository or use {outside}"
                ),
            );
            return None;
        }
        Some((location, root))
    }

    /// The directory a repository `url` names: a `file:` or `http(s):` URL, or a path
    /// relative to the defining file (a leading `/` from its repository root).
    fn locate_directory(&mut self, index: usize, url: &str, site: &Site) -> Option<Location> {
        let context = &self.contexts[index];
        let directory = match Reference::parse(url) {
            Err(message) => {
                self.report_at(site, "invalid-repository", message);
                return None;
            }
            Ok(Reference::FileUrl(path)) => Ok(Location::file(&path)),
            Ok(Reference::WebUrl(location)) => Ok(location),
            Ok(Reference::OtherUrl { scheme }) => {
                self.report_unsupported_scheme(site, url, &scheme);
                return None;
            }
            Ok(Reference::FromRoot(path)) => context.root.join(path),
            Ok(Reference::Relative(path)) => context.location.parent().join(path),
        };
        match directory {
            Ok(directory) => Some(directory),
            Err(e) => {
                self.report_at(site, "invalid-repository", e.to_string());
                None
            }
        }
    }

    fn report_unsupported_scheme(&mut self, site: &Site, url: &str, scheme: &str) {
        self.report_at(
            site,
            "unsupported-url",
            format!(
                "cannot read \"{url}\": the {scheme}: scheme is not supported; use a path, or a file:, http: or https: URL"
            ),
        );
    }

    /// Loads every file declaring the profile `name`.
    fn import_profile(&mut self, name: &str, site: &Site) -> Vec<usize> {
        let declaring = self.catalog.find(name, &mut self.store);
        if declaring.is_empty() {
            let known = self.catalog.names(&mut self.store);
            self.report_at(
                site,
                "unknown-profile",
                format!(
                    "no profile named \"{name}\" is known (searched the profile paths, the files next to the entry and the built-in profiles; known: {})",
                    if known.is_empty() { "none".into() } else { known.join(", ") }
                ),
            );
            return Vec::new();
        }
        declaring
            .into_iter()
            .filter_map(|location| {
                let root = match &location.container {
                    Container::Archive(archive) => Location::archive_root(archive.clone()),
                    _ => location.parent(),
                };
                self.import(location, root, site)
            })
            .collect()
    }

    fn report_at(&mut self, site: &Site, code: &'static str, message: String) {
        self.problems
            .report(code, site.span, site.path.clone(), message);
    }
}
