//! Repository definitions: named bases that `imports` (and artifacts) can be relative to.
//!
//! A repository is `name: <url>` or `name: {url, description, metadata}`; `url` is required,
//! and nothing else is allowed (TOSCA 1.x's `credential` is gone in 2.0). Like the types it
//! defines, a file's repositories are seen by the files that import it (6.8: a file of
//! "repository definitions created by a domain expert" is imported to use them), under the
//! import's namespace when it has one (`ns:name`); see [`visible`].

use std::collections::HashSet;

use super::LoadedFile;
use crate::tosca::problem::Problems;
use crate::tosca::source::FileId;
use crate::tosca::source::Span;
use crate::tosca::value::{Value, ValueKind};

/// One well-formed repository definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Repository {
    /// Its name, as imports refer to it.
    pub name: String,
    /// Its URL as written.
    pub url: String,
    /// Where the URL is written.
    pub url_span: Span,
}

const KEYNAMES: &[&str] = &["url", "description", "metadata"];

/// A repository a file may name.
#[derive(Clone, Debug, PartialEq)]
pub struct Visible {
    /// The name the file uses: the definition's, after the namespaces of the imports it came
    /// through (`ns:name`).
    pub name: String,
    /// The definition.
    pub repository: Repository,
    /// The file that defines it, which a relative `url` is relative to.
    pub defined_in: FileId,
}

/// The repositories `file` may name: its own, then those of what it imports, in the order
/// written and depth first; where two have one name the first wins, so a file's own
/// definition shadows an imported one. Only imports already resolved in `files` count.
pub fn visible(files: &[LoadedFile], file: FileId) -> Vec<Visible> {
    let mut out = Vec::new();
    gather(files, file, "", &mut HashSet::new(), &mut out);
    out
}

fn gather(
    files: &[LoadedFile],
    file: FileId,
    prefix: &str,
    seen: &mut HashSet<(FileId, String)>,
    out: &mut Vec<Visible>,
) {
    let Some(f) = files.iter().find(|f| f.id == file) else {
        return;
    };
    if !seen.insert((file, prefix.to_string())) {
        return;
    }
    // Malformed definitions were reported when the file was loaded.
    for repository in read(&f.root, &mut Problems::new()) {
        let name = format!("{prefix}{}", repository.name);
        if !out.iter().any(|v| v.name == name) {
            out.push(Visible {
                name,
                repository,
                defined_in: file,
            });
        }
    }
    for import in &f.imports {
        let prefix = match &import.namespace {
            Some(namespace) => format!("{prefix}{namespace}:"),
            None => prefix.to_string(),
        };
        gather(files, import.file, &prefix, seen, out);
    }
}

/// Reads the `repositories` of a file's root. Malformed definitions are reported and skipped.
pub fn read(root: &Value, problems: &mut Problems) -> Vec<Repository> {
    let Some(repositories) = root.get("repositories") else {
        return Vec::new();
    };
    let Some(entries) = repositories.as_map() else {
        problems.report(
            "invalid-repository",
            repositories.span,
            "repositories",
            format!(
                "repositories must be a map from names to repository definitions, found {}",
                repositories.kind_name()
            ),
        );
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(key, definition)| {
            let Some(name) = key.as_str() else {
                problems.report(
                    "invalid-repository",
                    key.span,
                    "repositories",
                    format!(
                        "a repository name must be a string, found {}",
                        key.kind_name()
                    ),
                );
                return None;
            };
            read_one(name, definition, problems)
        })
        .collect()
}

fn read_one(name: &str, definition: &Value, problems: &mut Problems) -> Option<Repository> {
    let path = format!("repositories.{name}");
    match &definition.kind {
        ValueKind::String(url) => Some(Repository {
            name: name.to_string(),
            url: url.clone(),
            url_span: definition.span,
        }),
        ValueKind::Map(entries) => {
            let mut ok = true;
            for (key, value) in entries {
                let keyname = key.as_str().unwrap_or("?");
                let expected = match keyname {
                    "url" | "description" => value.as_str().is_some(),
                    "metadata" => value.as_map().is_some(),
                    _ => {
                        ok = false;
                        problems.report(
                            "invalid-repository",
                            key.span,
                            format!("{path}.{keyname}"),
                            format!(
                                "{key} is not a repository keyname; expected one of {}",
                                KEYNAMES.join(", ")
                            ),
                        );
                        continue;
                    }
                };
                if !expected {
                    ok = false;
                    let shape = if keyname == "metadata" {
                        "a map"
                    } else {
                        "a string"
                    };
                    problems.report(
                        "invalid-repository",
                        value.span,
                        format!("{path}.{keyname}"),
                        format!("{keyname} must be {shape}, found {}", value.kind_name()),
                    );
                }
            }
            let Some(url) = definition.get("url") else {
                problems.report(
                    "invalid-repository",
                    definition.span,
                    path,
                    format!("the repository \"{name}\" has no url, which is required"),
                );
                return None;
            };
            let url_text = url.as_str()?;
            ok.then(|| Repository {
                name: name.to_string(),
                url: url_text.to_string(),
                url_span: url.span,
            })
        }
        _ => {
            problems.report(
                "invalid-repository",
                definition.span,
                path,
                format!(
                    "a repository is a URL or a map with url, found {}",
                    definition.kind_name()
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    fn read_text(text: &str) -> (Vec<Repository>, Vec<(&'static str, String)>) {
        let root = yaml::parse(text, FileId(0)).unwrap();
        let mut problems = Problems::new();
        let repositories = read(&root, &mut problems);
        let found = problems.iter().map(|p| (p.code, p.path.clone())).collect();
        (repositories, found)
    }

    #[test]
    fn reads_short_and_long_forms() {
        let (repos, problems) = read_text(
            "repositories:\n  a: https://a.example/\n  b:\n    url: /srv/b\n    description: B\n    metadata: {x: 1}\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(repos.len(), 2);
        assert_eq!(
            (repos[0].name.as_str(), repos[0].url.as_str()),
            ("a", "https://a.example/")
        );
        assert_eq!(
            (repos[1].name.as_str(), repos[1].url.as_str()),
            ("b", "/srv/b")
        );
    }

    #[test]
    fn url_is_required() {
        let (repos, problems) = read_text("repositories:\n  a:\n    description: x\n");
        assert!(repos.is_empty());
        assert_eq!(
            problems,
            [("invalid-repository", "repositories.a".to_string())]
        );
    }

    #[test]
    fn credential_and_other_unknown_keynames_are_problems() {
        let (repos, problems) =
            read_text("repositories:\n  a:\n    url: x\n    credential: {user: u}\n");
        assert!(repos.is_empty());
        assert_eq!(
            problems,
            [(
                "invalid-repository",
                "repositories.a.credential".to_string()
            )]
        );
    }

    #[test]
    fn wrong_shapes_are_problems() {
        let (_, problems) = read_text("repositories: [a]\n");
        assert_eq!(
            problems,
            [("invalid-repository", "repositories".to_string())]
        );
        let (_, problems) = read_text("repositories:\n  a: 3\n  b: {url: [x]}\n");
        assert_eq!(
            problems,
            [
                ("invalid-repository", "repositories.a".to_string()),
                ("invalid-repository", "repositories.b.url".to_string())
            ]
        );
    }
}
