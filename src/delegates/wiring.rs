//! What a workload gets from its requirements, the same for every kind of workload (process,
//! system container, container): its own names (`KHUTULUN_NAMESPACE`, `KHUTULUN_SERVICE`,
//! `KHUTULUN_INSTANCE`), each connection to an endpoint gives `<NAME>_HOST` and
//! `<NAME>_PORT`, each attached directory gives `<NAME>_PATH` and is attached (the first one is
//! the default working directory). NAME is the requirement's name in upper case, or the
//! relationship's `variable`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::delegates::profile::{AttachesToProperties, ConnectsToProperties, PropertySet, types};
use crate::delegates::protocol::{DelegateError, Dependency, InstanceSpec, is_a};

/// The variable naming the workload's namespace.
pub const NAMESPACE_VARIABLE: &str = "KHUTULUN_NAMESPACE";
/// The variable naming the workload's service.
pub const SERVICE_VARIABLE: &str = "KHUTULUN_SERVICE";
/// The variable naming the workload's instance (`web-0`), e.g. for a server to say who
/// answered.
pub const INSTANCE_VARIABLE: &str = "KHUTULUN_INSTANCE";

/// What an instance's requirements give it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wiring {
    /// The variables its connections and directories give it.
    pub environment: BTreeMap<String, String>,
    /// Its attached directories, in template order.
    pub directories: Vec<AttachedDirectory>,
}

/// A directory a workload attaches (an `AttachesTo` requirement).
#[derive(Clone, Debug, PartialEq)]
pub struct AttachedDirectory {
    /// The directory on the host.
    pub path: PathBuf,
    /// Whether the workload may only read it (containers enforce it; a process cannot).
    pub read_only: bool,
}

/// `NAME` for an environment variable from a requirement or `variable` name: upper case, every
/// character that is not a letter, digit or `_` replaced by `_`.
pub fn variable_prefix(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn is_connection(dependency: &Dependency) -> bool {
    is_a(&dependency.relationship_types, types::CONNECTS_TO)
        || is_a(&dependency.target_types, types::ENDPOINT)
}

fn is_storage(dependency: &Dependency) -> bool {
    is_a(&dependency.relationship_types, types::ATTACHES_TO)
        || is_a(&dependency.target_types, types::DIRECTORY)
}

impl Wiring {
    /// Reads the instance's requirements. When two requirements would give the same NAME, the
    /// later ones get `_2`, `_3`… appended.
    pub fn of(spec: &InstanceSpec) -> Result<Wiring, DelegateError> {
        let name = spec.qualified_name();
        let mut wiring = Wiring::default();
        let mut used: BTreeMap<String, usize> = BTreeMap::new();
        let mut unique = |prefix: String| {
            let count = used.entry(prefix.clone()).or_insert(0);
            *count += 1;
            if *count == 1 {
                prefix
            } else {
                format!("{prefix}_{count}")
            }
        };
        let missing = |dependency: &Dependency, attribute: &str| {
            DelegateError::Failed(format!(
                "{name}: its requirement {:?} points at {}, which reports no {attribute} yet",
                dependency.requirement, dependency.target
            ))
        };
        let identity = [
            (NAMESPACE_VARIABLE, &spec.namespace),
            (SERVICE_VARIABLE, &spec.service),
            (INSTANCE_VARIABLE, &spec.instance),
        ];
        for (variable, value) in identity {
            wiring
                .environment
                .insert(variable.to_owned(), value.clone());
        }
        for dependency in &spec.requirements {
            if is_connection(dependency) {
                let properties = ConnectsToProperties::from_properties(
                    &dependency.relationship_properties,
                    &name,
                )?;
                let prefix = unique(variable_prefix(
                    properties
                        .variable
                        .as_deref()
                        .unwrap_or(&dependency.requirement),
                ));
                let address = text(dependency.target_attributes.get("address"))
                    .ok_or_else(|| missing(dependency, "address"))?;
                let port = text(dependency.target_attributes.get("port"))
                    .ok_or_else(|| missing(dependency, "port"))?;
                wiring.environment.insert(format!("{prefix}_HOST"), address);
                wiring.environment.insert(format!("{prefix}_PORT"), port);
            } else if is_storage(dependency) {
                let properties = AttachesToProperties::from_properties(
                    &dependency.relationship_properties,
                    &name,
                )?;
                let prefix = unique(variable_prefix(
                    properties
                        .variable
                        .as_deref()
                        .unwrap_or(&dependency.requirement),
                ));
                let path = text(dependency.target_attributes.get("path"))
                    .ok_or_else(|| missing(dependency, "path"))?;
                wiring.directories.push(AttachedDirectory {
                    path: PathBuf::from(&path),
                    read_only: properties.read_only,
                });
                wiring.environment.insert(format!("{prefix}_PATH"), path);
            }
        }
        Ok(wiring)
    }

    /// The first attached directory, a workload's working directory unless it names one.
    pub fn first_directory(&self) -> Option<&PathBuf> {
        self.directories.first().map(|directory| &directory.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::protocol::TypeRef;
    use crate::delegates::testing;

    fn dependency(requirement: &str, types: &[&str], attributes: serde_json::Value) -> Dependency {
        testing::dependency(requirement, types, attributes, serde_json::json!({}))
    }

    fn spec(requirements: Vec<Dependency>) -> InstanceSpec {
        testing::spec(
            "hello",
            "web-0",
            types::PROCESS,
            serde_json::json!({}),
            requirements,
        )
    }

    #[test]
    fn connections_and_directories_become_variables_and_attachments() {
        let mut site = dependency(
            "site",
            &["LocalDirectory", "Directory"],
            serde_json::json!({"path": "/srv/site"}),
        );
        site.relationship_types = vec![TypeRef::khutulun(types::ATTACHES_TO)];
        site.relationship_properties = serde_json::json!({"read_only": true})
            .as_object()
            .unwrap()
            .clone();
        let wiring = Wiring::of(&spec(vec![
            dependency(
                "connection",
                &["TCPPort", "Port", "Endpoint"],
                serde_json::json!({"address": "127.0.0.1", "port": 20001}),
            ),
            dependency(
                "connection",
                &["IPEndpoint", "Endpoint"],
                serde_json::json!({"address": "10.0.0.5", "port": 5432}),
            ),
            site,
            dependency(
                "data",
                &["LocalDirectory", "Directory"],
                serde_json::json!({"path": "/srv/data"}),
            ),
        ]))
        .unwrap();
        let env = &wiring.environment;
        assert_eq!(env["CONNECTION_HOST"], "127.0.0.1");
        assert_eq!(env["CONNECTION_PORT"], "20001");
        assert_eq!(env["CONNECTION_2_HOST"], "10.0.0.5");
        assert_eq!(env["SITE_PATH"], "/srv/site");
        assert_eq!(env["DATA_PATH"], "/srv/data");
        assert_eq!(
            wiring.directories,
            vec![
                AttachedDirectory {
                    path: "/srv/site".into(),
                    read_only: true
                },
                AttachedDirectory {
                    path: "/srv/data".into(),
                    read_only: false
                },
            ]
        );
        assert_eq!(wiring.first_directory(), Some(&PathBuf::from("/srv/site")));
    }

    #[test]
    fn names_become_variable_prefixes() {
        assert_eq!(variable_prefix("web-port"), "WEB_PORT");
        assert_eq!(variable_prefix("db.main"), "DB_MAIN");
    }
}
