//! What exactly to run for a process instance: the program found on PATH, its arguments, its
//! environment (with what its requirements give it), its directory, user and restart policy.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::unistd::User;

use crate::delegates::profile::{ProcessProperties, PropertySet, RestartPolicy, types};
use crate::delegates::protocol::{DelegateError, InstanceSpec, is_a};
use crate::delegates::systemd::{UnitSpec, unit_name};
use crate::delegates::wiring::Wiring;

/// The file in an instance's private directory that systemd creates once the instance's unit
/// started (each start), and a stop removes: a unit of its name that no longer runs ended as
/// its policy says, and is not run again by a later start (a restarted agent's, say).
pub const UNIT_MARKER: &str = "unit.started";

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The PATH used when the agent has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything needed to start one process instance, the same whoever supervises it.
#[derive(Clone, Debug, PartialEq)]
pub struct LaunchPlan {
    /// `service/instance`.
    pub instance: String,
    /// The systemd unit it runs as when systemd supervises it.
    pub unit: String,
    /// The node template, for descriptions.
    pub node: String,
    /// The program, as an absolute path.
    pub program: PathBuf,
    /// Its arguments.
    pub arguments: Vec<String>,
    /// Its whole environment (besides HOME, which depends on who runs it).
    pub environment: BTreeMap<String, String>,
    /// The directory it starts in.
    pub working_directory: PathBuf,
    /// The user it runs as, when not the agent's.
    pub user: Option<User>,
    /// When it is started again.
    pub restart: RestartPolicy,
    /// How long to wait before that.
    pub restart_delay: Duration,
    /// Where its output goes.
    pub log_file: PathBuf,
    /// The instance's private directory.
    pub state_dir: PathBuf,
    /// Whether it must run as a systemd unit (a `SystemdProcess`).
    pub requires_systemd: bool,
}

/// Finds `program` the way a shell would: a name with a `/` is taken as it is (relative to
/// `directory`), any other name is looked up in `path`.
pub fn find_program(program: &str, path: &str, directory: &Path) -> Option<PathBuf> {
    let is_executable = |candidate: &Path| {
        candidate
            .metadata()
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let candidate = directory.join(program);
        return is_executable(&candidate).then_some(candidate);
    }
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| is_executable(candidate))
}

impl LaunchPlan {
    /// Works out the plan from the instance, or says what is wrong with it.
    pub fn of(spec: &InstanceSpec) -> Result<LaunchPlan, DelegateError> {
        let name = spec.qualified_name();
        let properties = ProcessProperties::from_properties(&spec.properties, &name)?;
        let invalid = |message: String| DelegateError::InvalidProperties {
            instance: name.clone(),
            message,
        };
        if properties.command.is_empty() {
            return Err(invalid("its command is empty".into()));
        }
        let wiring = Wiring::of(spec)?;
        let mut environment = BTreeMap::new();
        let agent_path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_owned());
        environment.insert("PATH".to_owned(), agent_path);
        environment.extend(wiring.environment.clone());
        environment.extend(properties.environment.clone());
        let working_directory = match (&properties.working_directory, wiring.first_directory()) {
            (Some(directory), _) => PathBuf::from(directory),
            (None, Some(storage)) => storage.clone(),
            (None, None) => spec.state_dir.clone(),
        };
        if !working_directory.is_absolute() {
            return Err(invalid(format!(
                "its working directory {} must be an absolute path",
                working_directory.display()
            )));
        }
        let program = find_program(
            &properties.command,
            &environment["PATH"],
            &working_directory,
        )
        .ok_or_else(|| {
            invalid(format!(
                "its command {:?} is not an executable file here (looked in {})",
                properties.command,
                if properties.command.contains('/') {
                    working_directory.display().to_string()
                } else {
                    format!("PATH {}", environment["PATH"])
                }
            ))
        })?;
        let user = match &properties.user {
            Some(user) => Some(
                User::from_name(user)
                    .ok()
                    .flatten()
                    .ok_or_else(|| invalid(format!("there is no user {user:?} on this host")))?,
            ),
            None => None,
        };
        Ok(LaunchPlan {
            instance: name,
            unit: unit_name(&spec.namespace, &spec.service, &spec.instance),
            node: spec.node.clone(),
            program,
            arguments: properties.arguments,
            environment,
            working_directory,
            user,
            restart: properties.restart,
            restart_delay: properties.restart_delay.0,
            log_file: spec.state_dir.join("output.log"),
            state_dir: spec.state_dir.clone(),
            requires_systemd: is_a(&spec.types, types::SYSTEMD_PROCESS),
        })
    }

    /// The transient unit that runs this plan under systemd.
    pub fn unit_spec(&self) -> UnitSpec {
        UnitSpec {
            name: self.unit.clone(),
            description: format!("Khutulun {} (node {})", self.instance, self.node),
            program: self.program.clone(),
            arguments: self.arguments.clone(),
            working_directory: self.working_directory.clone(),
            environment: self
                .environment
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect(),
            user: self.user.as_ref().map(|user| user.name.clone()),
            restart: self.restart,
            restart_delay: self.restart_delay,
            log_file: self.log_file.clone(),
            on_started: find_program(
                "touch",
                self.environment
                    .get("PATH")
                    .map_or(DEFAULT_PATH, String::as_str),
                Path::new("/"),
            )
            .map(|touch| {
                let marker = self.state_dir.join(UNIT_MARKER);
                vec![path_text(&touch), path_text(&marker)]
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::protocol::{Dependency, TypeRef};
    use crate::delegates::testing;

    fn dependency(requirement: &str, types: &[&str], attributes: serde_json::Value) -> Dependency {
        testing::dependency(requirement, types, attributes, serde_json::json!({}))
    }

    fn spec(properties: serde_json::Value, requirements: Vec<Dependency>) -> InstanceSpec {
        testing::spec("hello", "web-0", types::PROCESS, properties, requirements)
    }

    #[test]
    fn requirements_become_environment_variables_and_the_working_directory() {
        let spec = spec(
            serde_json::json!({"command": "sh", "environment": {"DB_PORT": "override"}}),
            vec![
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
                dependency(
                    "storage",
                    &["LocalDirectory", "Directory"],
                    serde_json::json!({"path": "/srv/site"}),
                ),
                dependency(
                    "db",
                    &["IPEndpoint", "Endpoint"],
                    serde_json::json!({"address": "db.example", "port": 5432}),
                ),
            ],
        );
        let plan = LaunchPlan::of(&spec).unwrap();
        let env = &plan.environment;
        assert_eq!(env["CONNECTION_HOST"], "127.0.0.1");
        assert_eq!(env["CONNECTION_PORT"], "20001");
        assert_eq!(env["CONNECTION_2_HOST"], "10.0.0.5");
        assert_eq!(env["STORAGE_PATH"], "/srv/site");
        assert_eq!(env["DB_HOST"], "db.example");
        assert_eq!(
            env["DB_PORT"], "override",
            "the template's own environment wins"
        );
        assert!(env.contains_key("PATH"));
        assert_eq!(plan.working_directory, Path::new("/srv/site"));
        assert_eq!(
            plan.program,
            find_program("sh", &env["PATH"], Path::new("/")).unwrap()
        );
        assert_eq!(plan.unit, "khutulun-default.hello.web-0.service");
        assert_eq!(
            plan.log_file,
            Path::new("/var/lib/khutulun-test/hello/web-0/output.log")
        );
    }

    #[test]
    fn a_relationship_can_rename_the_variables() {
        let mut db = dependency(
            "connection",
            &["Port", "Endpoint"],
            serde_json::json!({"address": "h", "port": 1}),
        );
        db.relationship_types = vec![TypeRef::khutulun(types::CONNECTS_TO)];
        db.relationship_properties = serde_json::json!({"variable": "postgres"})
            .as_object()
            .unwrap()
            .clone();
        let plan = LaunchPlan::of(&spec(serde_json::json!({"command": "sh"}), vec![db])).unwrap();
        assert_eq!(plan.environment["POSTGRES_PORT"], "1");
        assert!(!plan.environment.contains_key("CONNECTION_PORT"));
    }

    #[test]
    fn bad_commands_users_and_targets_are_explained() {
        let cases = [
            (
                serde_json::json!({"command": "no-such-program-anywhere"}),
                vec![],
                "is not an executable file",
            ),
            (
                serde_json::json!({"command": "sh", "user": "no-such-user-here"}),
                vec![],
                "no user",
            ),
            (
                serde_json::json!({"command": "sh", "working_directory": "rel"}),
                vec![],
                "absolute",
            ),
            (
                serde_json::json!({"command": "sh", "restart": "sometimes"}),
                vec![],
                "sometimes",
            ),
            (
                serde_json::json!({"command": "sh"}),
                vec![dependency(
                    "connection",
                    &["Port", "Endpoint"],
                    serde_json::json!({}),
                )],
                "reports no address",
            ),
        ];
        for (properties, requirements, expected) in cases {
            let error = LaunchPlan::of(&spec(properties, requirements))
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("default/hello/web-0: "), "{error}");
            assert!(error.contains(expected), "{error}");
        }
    }
}
