//! Artifacts of node templates, with their files located.
//!
//! An artifact's `file` is written relative to the TOSCA file that declares it (a node type's
//! file, or the service template's), or to a `repository` that file defines or imports. The runtime
//! opens artifacts long after the TOSCA files are gone, so the location is resolved here, the
//! way the loader resolves imports: a relative path against the declaring file's directory, a
//! leading `/` against its root (the CSAR root; for plain files the entry file's directory),
//! a `file:` URL as the local path it names, any other URL (`https:`, `oci:`…) kept as a
//! URL, and `../` never out of the declaring file's repository (as for imports, but refused
//! rather than stopped, since an artifact is handed to a process that would read it).
//! Compile-time `$get_artifact`, instantiation and the runtime all answer with this one
//! location.

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::tosca::instance::ArtifactLocation;
use crate::tosca::loader::Loaded;
use crate::tosca::loader::location::{Container, Location, Reference};
use crate::tosca::loader::repositories::{self, Visible};
use crate::tosca::source::FileId;
use crate::tosca::types::{ArtifactDef, Schema, TypeId, TypeKind, TypeRegistry};
use crate::tosca::value::Value;

/// Where every loaded TOSCA file is, so what they reference can be located.
#[derive(Clone, Debug, Default)]
pub struct Places {
    files: HashMap<FileId, Place>,
}

/// One loaded file: where it is, its root, and the repositories it may name (its own and
/// those its imports bring).
#[derive(Clone, Debug)]
struct Place {
    location: Location,
    root: Location,
    repositories: Vec<Visible>,
}

impl Places {
    /// The places of every file `loaded` read.
    pub fn of(loaded: &Loaded) -> Places {
        let files = loaded
            .files
            .iter()
            .map(|f| {
                let repositories = repositories::visible(&loaded.files, f.id);
                let place = Place {
                    location: f.place.clone(),
                    root: f.root_directory.clone(),
                    repositories,
                };
                (f.id, place)
            })
            .collect();
        Places { files }
    }

    /// Where `file` (relative to `repository` if given), written in the TOSCA file
    /// `declared_in`, is; or why it cannot be located.
    pub fn locate(
        &self,
        declared_in: FileId,
        file: &str,
        repository: Option<&str>,
    ) -> Result<ArtifactLocation, String> {
        let place = self.files.get(&declared_in).ok_or_else(|| {
            format!("cannot locate the artifact file `{file}`: the file declaring it is unknown")
        })?;
        let (base, root, path) = match (repository, Reference::parse(file)?) {
            (
                Some(r),
                Reference::FileUrl(_) | Reference::WebUrl(_) | Reference::OtherUrl { .. },
            ) => {
                return Err(format!(
                    "the artifact file `{file}` is an absolute URL, so it cannot be relative to repository `{r}`; remove repository or give a relative path"
                ));
            }
            (Some(r), Reference::FromRoot(p) | Reference::Relative(p)) => {
                let visible = place
                    .repositories
                    .iter()
                    .find(|found| found.name == r)
                    .ok_or_else(|| {
                        format!(
                            "no repository named `{r}` is defined in the file that declares this artifact or in a file it imports"
                        )
                    })?;
                let repository = &visible.repository;
                // A relative repository URL is relative to the file that defines it.
                let place = self.files.get(&visible.defined_in).unwrap_or(place);
                let directory = match Reference::parse(&repository.url)? {
                    Reference::FileUrl(directory) => Location::file(&directory),
                    Reference::WebUrl(_) | Reference::OtherUrl { .. } => {
                        return Ok(ArtifactLocation::Url {
                            url: format!(
                                "{}/{}",
                                repository.url.trim_end_matches('/'),
                                p.trim_start_matches('/')
                            ),
                        });
                    }
                    Reference::FromRoot(d) => place.root.join(d).map_err(|e| e.to_string())?,
                    Reference::Relative(d) => {
                        place.location.parent().join(d).map_err(|e| e.to_string())?
                    }
                };
                (directory.clone(), directory, p)
            }
            (None, Reference::FileUrl(path)) => {
                return Ok(artifact_location(Location::file(&path)));
            }
            (None, Reference::WebUrl(_) | Reference::OtherUrl { .. }) => {
                return Ok(ArtifactLocation::Url {
                    url: file.to_string(),
                });
            }
            (None, Reference::FromRoot(p)) => (place.root.clone(), place.root.clone(), p),
            (None, Reference::Relative(p)) => (place.location.parent(), place.root.clone(), p),
        };
        let location = base
            .join(path)
            .map_err(|e| format!("the artifact file {e}"))?;
        if !location.is_within(&root) {
            return Err(format!(
                "the artifact file `{file}` is {location}, outside the repository root {root} (the repository's directory, the CSAR root, or the entry file's directory); `../` may not leave it, so to use a file outside it define a repository or use an absolute file: URL"
            ));
        }
        Ok(artifact_location(location))
    }
}

fn artifact_location(location: Location) -> ArtifactLocation {
    match location.container {
        Container::FileSystem => ArtifactLocation::File {
            path: location.path,
        },
        Container::Archive(archive) => ArtifactLocation::Archive {
            archive: archive.display().to_string(),
            path: location.path,
        },
        Container::BuiltIn => ArtifactLocation::BuiltIn {
            path: location.path,
        },
        // Declared in a file fetched by URL: the artifact is on the same server.
        Container::Web(_) => ArtifactLocation::Url {
            url: location.to_string(),
        },
    }
}

/// An artifact of a node template (or one written in an operation's implementation), its
/// file located.
#[derive(Clone, Debug)]
pub struct ResolvedArtifact {
    /// Its artifact type; `None` for a bare file an implementation names.
    pub artifact_type: Option<TypeId>,
    /// `file` as written.
    pub file: String,
    /// Where the file is.
    pub location: ArtifactLocation,
    /// `repository`.
    pub repository: Option<String>,
    /// `artifact_version`.
    pub artifact_version: Option<String>,
    /// `checksum`.
    pub checksum: Option<String>,
    /// `checksum_algorithm`.
    pub checksum_algorithm: Option<String>,
    /// Property values: given, else the artifact type's fixed or default values.
    pub properties: IndexMap<String, Value>,
    /// The declared types of the properties (with their validation), to check computed
    /// values.
    pub property_schemas: IndexMap<String, Schema>,
}

impl ResolvedArtifact {
    /// A node type's artifact definition, located against the file that declares it.
    pub fn of_definition(
        def: &ArtifactDef,
        registry: &TypeRegistry,
        places: &Places,
    ) -> Result<ResolvedArtifact, String> {
        Ok(ResolvedArtifact {
            artifact_type: Some(def.artifact_type),
            file: def.file.clone(),
            location: places.locate(def.span.file, &def.file, def.repository.as_deref())?,
            repository: def.repository.clone(),
            artifact_version: def.artifact_version.clone(),
            checksum: def.checksum.as_ref().map(|c| c.0.clone()),
            checksum_algorithm: def.checksum.as_ref().map(|c| c.1.clone()),
            properties: with_defaults(registry, Some(def.artifact_type), &def.properties),
            property_schemas: property_schemas(registry, Some(def.artifact_type)),
        })
    }

    /// An artifact definition as written (in a template or an implementation), located
    /// against the file it is written in. Without `type`, `inherited` (the node type's
    /// artifact of the same name) gives it. Its keynames were checked where it is written.
    pub fn of_value(
        value: &Value,
        inherited: Option<TypeId>,
        registry: &TypeRegistry,
        places: &Places,
    ) -> Result<ResolvedArtifact, String> {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        let file = text("file").ok_or("an artifact must have `file`")?;
        let repository = text("repository");
        let artifact_type = value
            .get("type")
            .and_then(Value::as_str)
            .and_then(|t| registry.lookup(value.span.file, TypeKind::Artifact, t))
            .or(inherited);
        let given: IndexMap<String, Value> = value
            .get("properties")
            .and_then(Value::as_map)
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
            .collect();
        Ok(ResolvedArtifact {
            artifact_type,
            location: places.locate(value.span.file, &file, repository.as_deref())?,
            file,
            repository,
            artifact_version: text("artifact_version"),
            checksum: text("checksum"),
            checksum_algorithm: text("checksum_algorithm"),
            properties: with_defaults(registry, artifact_type, &given),
            property_schemas: property_schemas(registry, artifact_type),
        })
    }

    /// A bare file an implementation names (no artifact of the node has that name),
    /// located against the file it is written in.
    pub fn of_file(value: &Value, places: &Places) -> Result<ResolvedArtifact, String> {
        let file = value.as_str().unwrap_or_default().to_string();
        Ok(ResolvedArtifact {
            artifact_type: None,
            location: places.locate(value.span.file, &file, None)?,
            file,
            repository: None,
            artifact_version: None,
            checksum: None,
            checksum_algorithm: None,
            properties: IndexMap::new(),
            property_schemas: IndexMap::new(),
        })
    }
}

/// The schemas of an artifact type's properties, each with the property's validation.
fn property_schemas(
    registry: &TypeRegistry,
    artifact_type: Option<TypeId>,
) -> IndexMap<String, Schema> {
    let Some(t) = artifact_type else {
        return IndexMap::new();
    };
    registry
        .artifact_type(t)
        .properties
        .iter()
        .map(|(name, def)| {
            let mut schema = def.schema.clone();
            schema.validation = def.validation.clone();
            (name.clone(), schema)
        })
        .collect()
}

/// `given`, plus the artifact type's fixed or default value of every property not given.
fn with_defaults(
    registry: &TypeRegistry,
    artifact_type: Option<TypeId>,
    given: &IndexMap<String, Value>,
) -> IndexMap<String, Value> {
    let mut out = given.clone();
    if let Some(t) = artifact_type {
        for (name, def) in &registry.artifact_type(t).properties {
            if let Some(v) = def.fixed.as_ref().or(def.default.as_ref())
                && !out.contains_key(name)
            {
                out.insert(name.clone(), v.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::tosca::loader::repositories::Repository;

    fn places(location: Location, root: Location, repositories: &[(&str, &str)]) -> Places {
        let place = Place {
            location,
            root,
            repositories: repositories
                .iter()
                .map(|(name, url)| Visible {
                    name: name.to_string(),
                    repository: Repository {
                        name: name.to_string(),
                        url: url.to_string(),
                        url_span: crate::tosca::source::Span::NONE,
                    },
                    defined_in: FileId(0),
                })
                .collect(),
        };
        Places {
            files: HashMap::from([(FileId(0), place)]),
        }
    }

    #[test]
    fn plain_files_resolve_against_the_declaring_file() {
        let places = places(
            Location::file(Path::new("/srv/app/types/nodes.yaml")),
            Location::file(Path::new("/srv/app")),
            &[
                ("local", "../bin"),
                ("remote", "https://example.com/files/"),
            ],
        );
        let at = |file: &str, repo: Option<&str>| {
            places.locate(FileId(0), file, repo).map(|l| l.to_string())
        };
        assert_eq!(at("run.sh", None).unwrap(), "/srv/app/types/run.sh");
        assert_eq!(at("../x/run.sh", None).unwrap(), "/srv/app/x/run.sh");
        assert_eq!(
            at("/scripts/run.sh", None).unwrap(),
            "/srv/app/scripts/run.sh"
        );
        assert_eq!(at("file:///opt/run.sh", None).unwrap(), "/opt/run.sh");
        assert_eq!(
            at("https://example.com/a.tar", None).unwrap(),
            "https://example.com/a.tar"
        );
        assert_eq!(at("tool", Some("local")).unwrap(), "/srv/app/bin/tool");
        assert_eq!(
            at("a/b.tar", Some("remote")).unwrap(),
            "https://example.com/files/a/b.tar"
        );
        assert!(at("x", Some("nowhere")).unwrap_err().contains("nowhere"));
        assert!(
            at("https://x/y", Some("local"))
                .unwrap_err()
                .contains("absolute URL")
        );
        assert!(places.locate(FileId(7), "x", None).is_err());
    }

    #[test]
    fn archive_files_keep_the_archive_and_never_leave_it() {
        let archive: Arc<Path> = Arc::from(Path::new("/tmp/svc.csar"));
        let places = places(
            Location::archive_root(archive.clone())
                .join("defs/main.yaml")
                .unwrap(),
            Location::archive_root(archive),
            &[],
        );
        let located = places.locate(FileId(0), "../files/run.sh", None).unwrap();
        assert_eq!(
            located,
            ArtifactLocation::Archive {
                archive: "/tmp/svc.csar".into(),
                path: "/files/run.sh".into()
            }
        );
        assert_eq!(located.to_string(), "/tmp/svc.csar!/files/run.sh");
        let escape = places
            .locate(FileId(0), "../../etc/passwd", None)
            .unwrap_err();
        assert!(escape.contains("above the root"), "{escape}");
    }
}
