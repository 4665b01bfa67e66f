//! The profile catalog: which files declare a given `profile:` name.
//!
//! `imports: - profile: NAME` is resolved from three places, searched in this order, and the
//! first place that knows the name wins:
//!
//! 1. every TOSCA file under each `--profile-path` directory (recursively), also inside
//!    CSAR archives found there, because the operator asked for them explicitly;
//! 2. the files next to the entry file (its directory, or the whole CSAR it is in), because a
//!    template package may ship the profile versions it was written for (the OASIS
//!    conformance suite relies on this);
//! 3. the profiles built into the binary (the repository's `profiles/` folder).
//!
//! If several files in the winning place declare the same name, they are all imported: a
//! profile may be written as several files that each declare it. The declaring file and
//! what it imports together make the profile.
//!
//! Scanning is lazy (a place is only scanned when a profile import needs it) and cheap: only
//! `.yaml`/`.yml` files are read, and only those with a top-level `profile:` line are parsed.

use std::collections::HashMap;
use std::path::PathBuf;

use super::location::{Container, Location};
use super::store::Store;
use crate::tosca::source::FileId;
use crate::tosca::yaml;

/// Other names accepted for a profile. The TOSCA 2.0 specification's own example (s24)
/// imports `org.oasis-open.tosca.simple:2.0`, while the OASIS community's Simple Profile
/// declares `org.oasis-open.simple:2.0`; both name the same profile.
const ALIASES: &[(&str, &str)] = &[(
    "org.oasis-open.tosca.simple:2.0",
    "org.oasis-open.simple:2.0",
)];

/// Profile names to declaring files, for one place.
type Index = HashMap<String, Vec<Location>>;

/// The places profiles are looked up in, scanned on first use.
#[derive(Debug)]
pub struct Catalog {
    profile_paths: Vec<PathBuf>,
    siblings: Option<Location>,
    indexes: [Option<Index>; 3],
}

impl Catalog {
    /// A catalog over the given `--profile-path` directories and the directory holding the
    /// entry file (for an entry inside a CSAR, the archive's root).
    pub fn new(profile_paths: Vec<PathBuf>, siblings: Option<Location>) -> Self {
        Catalog {
            profile_paths,
            siblings,
            indexes: [None, None, None],
        }
    }

    /// The files declaring `name` (or its alias), or an empty list if no place knows it.
    pub fn find(&mut self, name: &str, store: &mut Store) -> Vec<Location> {
        let alias = ALIASES
            .iter()
            .find(|(other, _)| *other == name)
            .map(|(_, canonical)| *canonical);
        for place in 0..self.indexes.len() {
            let index = self.index(place, store);
            for wanted in std::iter::once(name).chain(alias) {
                if let Some(found) = index.get(wanted) {
                    return found.clone();
                }
            }
        }
        Vec::new()
    }

    /// Every profile name known, sorted, for "did you mean" messages.
    pub fn names(&mut self, store: &mut Store) -> Vec<String> {
        let mut names: Vec<String> = (0..self.indexes.len())
            .flat_map(|place| self.index(place, store).keys().cloned().collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn index(&mut self, place: usize, store: &mut Store) -> &Index {
        if self.indexes[place].is_none() {
            let files = match place {
                0 => {
                    let mut files = Vec::new();
                    for dir in &self.profile_paths {
                        files.extend(store.yaml_files(&Location::file(dir), true));
                        for archive in store.open_archives_under(dir) {
                            files.extend(store.yaml_files(&archive, true));
                        }
                    }
                    files
                }
                1 => match &self.siblings {
                    Some(dir) => {
                        let recursive = matches!(dir.container, Container::Archive(_));
                        store.yaml_files(dir, recursive)
                    }
                    None => Vec::new(),
                },
                _ => store.yaml_files(&Location::built_in_root(), true),
            };
            let mut index = Index::new();
            for location in files {
                let Ok(text) = store.read(&location) else {
                    continue;
                };
                if let Some(name) = declared_profile(&text) {
                    index.entry(name).or_default().push(location);
                }
            }
            tracing::debug!(place, profiles = ?index.keys().collect::<Vec<_>>(), "scanned for profiles");
            self.indexes[place] = Some(index);
        }
        self.indexes[place].as_ref().expect("just filled")
    }
}

/// The `profile:` name a TOSCA text declares, reading as little as possible: texts without a
/// top-level `profile:` line are not parsed at all. A file that fails to parse is still
/// listed under the name its line shows, so that importing it reports its syntax error rather
/// than an unknown profile.
pub fn declared_profile(text: &str) -> Option<String> {
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("profile:"))?;
    match yaml::parse(text, FileId(u32::MAX)) {
        Ok(root) => root.get("profile")?.as_str().map(str::to_string),
        Err(_) => {
            let value = line.split(" #").next().unwrap_or("").trim();
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            (!value.is_empty()).then(|| value.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_declared_profile_name() {
        let text = "# c\ntosca_definitions_version: tosca_2_0\nprofile: 'org.x:1' # c\n";
        assert_eq!(declared_profile(text).as_deref(), Some("org.x:1"));
        assert_eq!(
            declared_profile("tosca_definitions_version: tosca_2_0\n"),
            None
        );
        let nested = "tosca_definitions_version: tosca_2_0\nmetadata:\n  profile: no\n";
        assert_eq!(declared_profile(nested), None);
        let broken = "profile: org.y:2\nx: [\n";
        assert_eq!(declared_profile(broken).as_deref(), Some("org.y:2"));
    }

    fn write(dir: &std::path::Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn profile_paths_win_over_siblings_and_are_searched_recursively() {
        let paths = tempfile::tempdir().unwrap();
        let siblings = tempfile::tempdir().unwrap();
        let declares =
            |name: &str| format!("tosca_definitions_version: tosca_2_0\nprofile: {name}\n");
        write(paths.path(), "deep/down/p.yaml", &declares("p:1"));
        write(siblings.path(), "p.yaml", &declares("p:1"));
        write(siblings.path(), "q.yaml", &declares("q:1"));
        write(siblings.path(), "sub/r.yaml", &declares("r:1"));
        let mut store = Store::default();
        let mut catalog = Catalog::new(
            vec![paths.path().to_path_buf()],
            Some(Location::file(siblings.path())),
        );
        let found = catalog.find("p:1", &mut store);
        assert_eq!(found.len(), 1);
        assert!(found[0].path.ends_with("deep/down/p.yaml"), "{found:?}");
        assert_eq!(catalog.find("q:1", &mut store).len(), 1);
        assert!(
            catalog.find("r:1", &mut store).is_empty(),
            "siblings are not searched recursively"
        );
        assert!(catalog.find("nope", &mut store).is_empty());
        let names = catalog.names(&mut store);
        assert!(names.contains(&"p:1".to_string()) && names.contains(&"q:1".to_string()));
        assert!(!names.contains(&"r:1".to_string()), "{names:?}");
    }

    #[test]
    fn accepts_the_spec_example_alias_of_the_simple_profile() {
        let paths = tempfile::tempdir().unwrap();
        write(
            paths.path(),
            "simple.yaml",
            "tosca_definitions_version: tosca_2_0\nprofile: org.oasis-open.simple:2.0\n",
        );
        let mut store = Store::default();
        let mut catalog = Catalog::new(vec![paths.path().to_path_buf()], None);
        assert_eq!(
            catalog
                .find("org.oasis-open.tosca.simple:2.0", &mut store)
                .len(),
            1
        );
    }
}
