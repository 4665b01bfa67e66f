//! Import definitions as written in a file's `imports:` list, checked for shape.
//!
//! An import is either the short form `- path/to/file.yaml` or the long form with `url` or
//! `profile` (never both), plus `repository` (only with `url`), `namespace`, `description` and
//! `metadata`. This module only reads and checks what is written; resolving it to a file is
//! the loader's job.

use crate::tosca::problem::Problems;
use crate::tosca::source::Span;
use crate::tosca::value::{Value, ValueKind};

/// What an import points at.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A file named by URL or path.
    Url {
        /// The URL as written.
        url: String,
        /// Where it is written.
        span: Span,
        /// The repository it is relative to, with where that name is written.
        repository: Option<(String, Span)>,
    },
    /// A profile named from the catalog.
    Profile {
        /// The profile name as written.
        name: String,
        /// Where it is written.
        span: Span,
    },
}

/// One well-formed import definition.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportDefinition {
    /// What to import.
    pub target: Target,
    /// The namespace its names are seen under, if any.
    pub namespace: Option<String>,
    /// Where the definition starts (the list entry).
    pub span: Span,
    /// Its element path, such as `imports[2]`.
    pub path: String,
}

const KEYNAMES: &[&str] = &[
    "url",
    "profile",
    "repository",
    "namespace",
    "description",
    "metadata",
];

/// Reads the `imports` of a file's root. Malformed definitions are reported and skipped.
pub fn read(root: &Value, problems: &mut Problems) -> Vec<ImportDefinition> {
    let Some(imports) = root.get("imports") else {
        return Vec::new();
    };
    let Some(list) = imports.as_list() else {
        problems.report(
            "invalid-import",
            imports.span,
            "imports",
            format!(
                "imports must be a list of import definitions, found {}",
                imports.kind_name()
            ),
        );
        return Vec::new();
    };
    list.iter()
        .enumerate()
        .filter_map(|(index, entry)| read_one(entry, format!("imports[{index}]"), problems))
        .collect()
}

fn read_one(entry: &Value, path: String, problems: &mut Problems) -> Option<ImportDefinition> {
    match &entry.kind {
        ValueKind::String(url) => Some(ImportDefinition {
            target: Target::Url {
                url: non_empty(url, entry.span, &path, problems)?,
                span: entry.span,
                repository: None,
            },
            namespace: None,
            span: entry.span,
            path,
        }),
        ValueKind::Map(entries) => read_long_form(entry, entries, path, problems),
        _ => {
            problems.report(
                "invalid-import",
                entry.span,
                path,
                format!(
                    "an import must be a path or a map with url or profile, found {}",
                    entry.kind_name()
                ),
            );
            None
        }
    }
}

fn read_long_form(
    entry: &Value,
    entries: &[(Value, Value)],
    path: String,
    problems: &mut Problems,
) -> Option<ImportDefinition> {
    let mut ok = true;
    for (key, _) in entries {
        let known = key.as_str().is_some_and(|k| KEYNAMES.contains(&k));
        if !known {
            ok = false;
            problems.report(
                "invalid-import",
                key.span,
                format!("{path}.{}", key.as_str().unwrap_or("?")),
                format!(
                    "{key} is not an import keyname; expected one of {}",
                    KEYNAMES.join(", ")
                ),
            );
        }
    }
    let url = string_field(entry, "url", &path, problems, &mut ok);
    let profile = string_field(entry, "profile", &path, problems, &mut ok);
    let repository = string_field(entry, "repository", &path, problems, &mut ok);
    let namespace = string_field(entry, "namespace", &path, problems, &mut ok);
    string_field(entry, "description", &path, problems, &mut ok);
    if let Some(metadata) = entry.get("metadata")
        && metadata.as_map().is_none()
    {
        ok = false;
        problems.report(
            "invalid-import",
            metadata.span,
            format!("{path}.metadata"),
            format!("metadata must be a map, found {}", metadata.kind_name()),
        );
    }
    let target = match (url, profile) {
        (Some(_), Some((_, span))) => {
            problems.report(
                "invalid-import",
                span,
                format!("{path}.profile"),
                "an import names either a url or a profile, not both",
            );
            None
        }
        (None, None) if entry.get("url").is_none() && entry.get("profile").is_none() => {
            problems.report(
                "invalid-import",
                entry.span,
                path.clone(),
                "an import must name a url or a profile",
            );
            None
        }
        (None, None) => None,
        (Some((url, span)), None) => Some(Target::Url {
            url,
            span,
            repository,
        }),
        (None, Some((name, span))) => {
            if let Some((_, span)) = repository {
                problems.report(
                    "invalid-import",
                    span,
                    format!("{path}.repository"),
                    "repository can only be used with url, not with profile",
                );
                None
            } else {
                Some(Target::Profile { name, span })
            }
        }
    };
    if !ok {
        return None;
    }
    Some(ImportDefinition {
        target: target?,
        namespace: namespace.map(|(n, _)| n),
        span: entry.span,
        path,
    })
}

/// A non-empty string keyname of the long form; anything else is reported.
fn string_field(
    entry: &Value,
    key: &str,
    path: &str,
    problems: &mut Problems,
    ok: &mut bool,
) -> Option<(String, Span)> {
    let value = entry.get(key)?;
    let path = format!("{path}.{key}");
    match value.as_str() {
        Some(text) => {
            let text = non_empty(text, value.span, &path, problems);
            if text.is_none() {
                *ok = false;
            }
            text.map(|t| (t, value.span))
        }
        None => {
            *ok = false;
            problems.report(
                "invalid-import",
                value.span,
                path,
                format!("{key} must be a string, found {}", value.kind_name()),
            );
            None
        }
    }
}

fn non_empty(text: &str, span: Span, path: &str, problems: &mut Problems) -> Option<String> {
    if text.trim().is_empty() {
        problems.report(
            "invalid-import",
            span,
            path,
            "this must not be empty".to_string(),
        );
        return None;
    }
    Some(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::yaml;

    fn read_text(text: &str) -> (Vec<ImportDefinition>, Vec<(&'static str, String)>) {
        let root = yaml::parse(text, FileId(0)).unwrap();
        let mut problems = Problems::new();
        let defs = read(&root, &mut problems);
        let found = problems.iter().map(|p| (p.code, p.path.clone())).collect();
        (defs, found)
    }

    #[test]
    fn reads_short_and_long_forms() {
        let (defs, problems) = read_text(
            "imports:\n- a.yaml\n- url: b.yaml\n  namespace: b\n  description: d\n  metadata: {k: v}\n- profile: p:1\n- url: c.yaml\n  repository: r\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(defs.len(), 4);
        assert!(matches!(&defs[0].target, Target::Url { url, .. } if url == "a.yaml"));
        assert_eq!(defs[1].namespace.as_deref(), Some("b"));
        assert!(matches!(&defs[2].target, Target::Profile { name, .. } if name == "p:1"));
        assert!(matches!(&defs[3].target,
            Target::Url { repository: Some((r, _)), .. } if r == "r"));
        assert_eq!(defs[3].path, "imports[3]");
    }

    #[test]
    fn imports_must_be_a_list() {
        let (defs, problems) = read_text("imports:\n");
        assert!(defs.is_empty());
        assert_eq!(problems, [("invalid-import", "imports".to_string())]);
        let (_, problems) = read_text("imports: a.yaml\n");
        assert_eq!(problems, [("invalid-import", "imports".to_string())]);
    }

    #[test]
    fn url_and_profile_are_exclusive_and_one_is_needed() {
        let (defs, problems) = read_text("imports:\n- {url: a, profile: b}\n- {namespace: x}\n");
        assert!(defs.is_empty());
        assert_eq!(
            problems,
            [
                ("invalid-import", "imports[0].profile".to_string()),
                ("invalid-import", "imports[1]".to_string())
            ]
        );
    }

    #[test]
    fn repository_only_with_url() {
        let (defs, problems) = read_text("imports:\n- {profile: b, repository: r}\n");
        assert!(defs.is_empty());
        assert_eq!(
            problems,
            [("invalid-import", "imports[0].repository".to_string())]
        );
    }

    #[test]
    fn unknown_keynames_and_wrong_shapes_are_problems() {
        let (defs, problems) = read_text(
            "imports:\n- {url: a, file: b}\n- {url: [a]}\n- 3\n- {url: a, metadata: x}\n- ''\n",
        );
        assert!(defs.is_empty(), "{defs:?}");
        assert_eq!(
            problems,
            [
                ("invalid-import", "imports[0].file".to_string()),
                ("invalid-import", "imports[1].url".to_string()),
                ("invalid-import", "imports[2]".to_string()),
                ("invalid-import", "imports[3].metadata".to_string()),
                ("invalid-import", "imports[4]".to_string()),
            ]
        );
    }
}
