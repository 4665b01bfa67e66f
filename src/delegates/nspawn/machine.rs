//! The `systemd-nspawn` command line for one system container, and the process instance that
//! runs it.

use std::path::{Path, PathBuf};

use crate::delegates::process::find_program;
use crate::delegates::profile::{PropertySet, SystemContainerProperties, types};
use crate::delegates::protocol::{
    ArtifactLocation, Attributes, DelegateError, ExecSource, InstanceSpec, Observation, TypeRef,
    is_a,
};
use crate::delegates::wiring::Wiring;

/// The program this delegate runs.
const NSPAWN: &str = "systemd-nspawn";

/// Everything needed to run one system container.
#[derive(Clone, Debug, PartialEq)]
pub struct MachinePlan {
    /// `service/instance`.
    pub instance: String,
    /// The machine's name, which is also its host name.
    pub machine: String,
    /// Its root filesystem on the host.
    pub root: PathBuf,
    /// The arguments of `systemd-nspawn`.
    pub arguments: Vec<String>,
    /// The image archive (an artifact) unpacked into `root` when the container is created.
    pub unpack: Option<ArtifactLocation>,
    /// The instance's properties as the process delegate reads them.
    process_properties: Attributes,
}

/// The machine name of an instance, which is also its host name: its workload name (see
/// [`crate::delegates::naming`]) with every character a host name may not hold replaced by
/// `-`, fitted to the 64 characters a machine name may have.
pub fn machine_name(namespace: &str, service: &str, instance: &str) -> String {
    let name = crate::delegates::naming::workload_name(namespace, service, instance)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    crate::delegates::naming::fit(name, 64)
}

impl MachinePlan {
    /// Works out the plan from the instance, or says what is wrong with it. It looks at
    /// nothing on the host (see [`MachinePlan::check`]), so that a container whose image is
    /// gone can still be stopped and deleted.
    pub fn of(spec: &InstanceSpec) -> Result<MachinePlan, DelegateError> {
        let instance = spec.qualified_name();
        let properties = SystemContainerProperties::from_properties(&spec.properties, &instance)?;
        let invalid = |message: String| DelegateError::InvalidProperties {
            instance: instance.clone(),
            message,
        };
        let image = &properties.image;
        let mut unpack = None;
        if let Some(reference) = &image.reference {
            return Err(invalid(format!(
                "systemd-nspawn runs a root filesystem, not the image reference {reference:?} (that is for distrobox: a Delegation policy names it)"
            )));
        }
        let root = match (&image.directory, &image.artifact, &image.url) {
            (Some(directory), None, None) => PathBuf::from(directory),
            (None, Some(name), None) => {
                unpack = Some(image_archive(spec, name, &invalid)?);
                spec.state_dir.join("root")
            }
            (None, None, Some(url)) => {
                return Err(DelegateError::NotImplemented(format!(
                    "{instance}: a system container image from a URL ({url}); unpack it on the host and name the directory"
                )));
            }
            _ => {
                return Err(invalid(
                    "its image must name exactly one of directory, artifact and url".into(),
                ));
            }
        };
        if !root.is_absolute() {
            return Err(invalid(format!(
                "its image directory {} must be an absolute path",
                root.display()
            )));
        }
        let wiring = Wiring::of(spec)?;
        let machine = machine_name(&spec.namespace, &spec.service, &spec.instance);
        let mut arguments = vec![
            "--quiet".to_owned(),
            // No systemd-machined (nor system bus) is needed, and no scope is made for it: the
            // unit (or process group) that runs nspawn holds the whole container.
            "--register=no".to_owned(),
            "--keep-unit".to_owned(),
            "--link-journal=no".to_owned(),
            format!("--machine={machine}"),
            format!("--directory={}", root.display()),
        ];
        if properties.ephemeral {
            arguments.push("--volatile=overlay".to_owned());
        }
        let mut environment = wiring.environment.clone();
        environment.extend(properties.environment.clone());
        for (name, value) in &environment {
            arguments.push(format!("--setenv={name}={value}"));
        }
        for directory in &wiring.directories {
            let path = directory.path.display().to_string();
            if path.contains(':') || !directory.path.is_absolute() {
                return Err(invalid(format!(
                    "the attached directory {path:?} cannot be bound into a container: it must be an absolute path without ':'"
                )));
            }
            let option = if directory.read_only {
                "--bind-ro"
            } else {
                "--bind"
            };
            arguments.push(format!("{option}={path}"));
        }
        if properties.command.is_empty() {
            arguments.push("--boot".to_owned());
        } else {
            if let Some(directory) = wiring.first_directory() {
                arguments.push(format!("--chdir={}", directory.display()));
            }
            arguments.push("--as-pid2".to_owned());
            arguments.push("--".to_owned());
            arguments.extend(properties.command.iter().cloned());
        }
        let process_properties = serde_json::json!({
            "command": NSPAWN,
            "arguments": arguments,
            "restart": properties.restart.systemd_name(),
        });
        Ok(MachinePlan {
            instance,
            machine,
            root,
            arguments,
            unpack,
            process_properties: process_properties.as_object().cloned().unwrap_or_default(),
        })
    }

    /// Unpacks the image archive into the container's private root, unless that was done
    /// before (an interrupted Create is run again). Blocks while `tar` runs.
    pub fn unpack(&self) -> Result<(), DelegateError> {
        let Some(location) = &self.unpack else {
            return Ok(());
        };
        let done = self.root.join(".khutulun-unpacked");
        if done.exists() {
            return Ok(());
        }
        let failed = |why: String| {
            DelegateError::Failed(format!(
                "{}: could not unpack its image {location}: {why}",
                self.instance
            ))
        };
        if self.root.exists() {
            std::fs::remove_dir_all(&self.root).map_err(|e| failed(e.to_string()))?;
        }
        std::fs::create_dir_all(&self.root).map_err(|e| failed(e.to_string()))?;
        let copy = self.root.with_file_name("image.tar");
        let archive = match location.local_path() {
            Some(path) => path.to_owned(),
            None => {
                let content = location.read().map_err(&failed)?;
                std::fs::write(&copy, content).map_err(|e| failed(e.to_string()))?;
                copy.clone()
            }
        };
        // GNU tar recognises gzip, xz and plain archives by their content; as root it keeps
        // the owners the image was made with.
        let output = std::process::Command::new("tar")
            .arg("--extract")
            .arg("--file")
            .arg(&archive)
            .arg("--directory")
            .arg(&self.root)
            .output();
        let _ = std::fs::remove_file(&copy);
        let output = output.map_err(|e| failed(format!("tar did not run: {e}")))?;
        if !output.status.success() {
            return Err(failed(format!(
                "tar said: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        std::fs::write(&done, "").map_err(|e| failed(e.to_string()))
    }

    /// Whether this host can run the container: `systemd-nspawn` is installed and the image
    /// is a root filesystem it accepts.
    pub fn check(&self) -> Result<(), DelegateError> {
        if !nspawn_installed() {
            return Err(DelegateError::Unavailable(format!(
                "{}: {NSPAWN} is not installed on this host (Debian: apt-get install systemd-container)",
                self.instance
            )));
        }
        self.check_root()
    }

    /// Whether the image is a root filesystem `systemd-nspawn` accepts.
    fn check_root(&self) -> Result<(), DelegateError> {
        let has_os_release = ["etc/os-release", "usr/lib/os-release"]
            .iter()
            .any(|file| self.root.join(file).is_file());
        if !self.root.join("usr").is_dir() || !has_os_release {
            return Err(DelegateError::InvalidProperties {
                instance: self.instance.clone(),
                message: format!(
                    "its image {} is not a root filesystem {NSPAWN} accepts: it needs a /usr directory and an /etc/os-release file",
                    self.root.display()
                ),
            });
        }
        Ok(())
    }

    /// The process instance that runs `systemd-nspawn` for this container: same service,
    /// instance and state directory (so the same unit name), no requirements of its own (the
    /// container got them as arguments). It must be a systemd unit: when `systemd-nspawn` is
    /// killed, what runs inside the container lives on, and only the unit's cgroup takes it
    /// down with it (the agent's process groups cannot: the container has its own session).
    pub fn process_spec(&self, spec: &InstanceSpec) -> InstanceSpec {
        unit_process_spec(spec, self.process_properties.clone())
    }

    /// The process instance of a container whose plan can no longer be made (its image is
    /// refused): enough to delete what runs and what is recorded.
    pub fn leftover_spec(spec: &InstanceSpec) -> InstanceSpec {
        unit_process_spec(spec, Attributes::new())
    }

    /// What the process delegate saw, with the machine's name among the attributes.
    pub fn observation(&self, mut seen: Observation) -> Observation {
        seen.attributes = self.attributes(seen.attributes);
        seen
    }

    /// `attributes` (what the process delegate reported) with the machine's name.
    pub fn attributes(&self, mut attributes: Attributes) -> Attributes {
        attributes.insert("machine".into(), self.machine.clone().into());
        attributes
    }
}

/// The location of the image archive artifact `name`: a tar archive (plain, gzip or xz) of a
/// root filesystem, on disk or inside the template's CSAR (nspawn unpacks it, distrobox
/// imports it).
pub(crate) fn image_archive(
    spec: &InstanceSpec,
    name: &str,
    invalid: &impl Fn(String) -> DelegateError,
) -> Result<ArtifactLocation, DelegateError> {
    let artifact = spec.artifacts.get(name).ok_or_else(|| {
        invalid(format!(
            "its image names the artifact {name:?}, which the node does not have"
        ))
    })?;
    if !artifact.types.is_empty() && !is_a(&artifact.types, types::SYSTEM_IMAGE) {
        return Err(invalid(format!(
            "its image names the artifact {name:?}, which is not a {}",
            types::SYSTEM_IMAGE
        )));
    }
    if artifact.file.ends_with(".raw") {
        return Err(DelegateError::NotImplemented(format!(
            "{}: a system container from the raw disk image {:?}",
            spec.qualified_name(),
            artifact.file
        )));
    }
    match &artifact.location {
        ArtifactLocation::Url { url } => Err(DelegateError::Failed(format!(
            "{}: the system image {name:?} at {url} is not downloaded (a deploy downloads it into the store's cache)",
            spec.qualified_name()
        ))),
        location => Ok(location.clone()),
    }
}

/// The process instance that runs an engine's command for `spec` as a systemd unit: same
/// service, instance and state directory (so the same unit name), no requirements of its own
/// (the engine's command line carries them).
pub(crate) fn unit_process_spec(spec: &InstanceSpec, properties: Attributes) -> InstanceSpec {
    InstanceSpec {
        namespace: spec.namespace.clone(),
        service: spec.service.clone(),
        instance: spec.instance.clone(),
        node: spec.node.clone(),
        types: [
            types::SYSTEMD_PROCESS,
            types::PROCESS,
            types::WORKLOAD,
            types::ROOT,
        ]
        .iter()
        .map(|name| TypeRef::khutulun(name))
        .collect(),
        properties,
        requirements: Vec::new(),
        state_dir: spec.state_dir.clone(),
        artifacts: spec.artifacts.clone(),
    }
}

/// Whether `systemd-nspawn` is found in the agent's PATH (what every system container runs).
pub fn nspawn_installed() -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    find_program(NSPAWN, &path, Path::new("/")).is_some()
}

/// `nsenter` into the running container: its init is the first child of `systemd-nspawn`,
/// whose pid the attributes hold.
pub fn exec(attributes: &Attributes) -> Result<ExecSource, DelegateError> {
    let not_running = || DelegateError::Failed("the system container is not running".into());
    let nspawn = attributes
        .get("pid")
        .and_then(|pid| pid.as_i64())
        .ok_or_else(not_running)?;
    let children = std::fs::read_to_string(format!("/proc/{nspawn}/task/{nspawn}/children"))
        .map_err(|_| not_running())?;
    let init = children.split_whitespace().next().ok_or_else(not_running)?;
    Ok(ExecSource::Inside {
        program: "nsenter".into(),
        arguments: vec![
            "--target".into(),
            init.to_owned(),
            "--all".into(),
            "--root".into(),
            "--wd".into(),
        ],
        interactive_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::testing::{dependency, system_container as spec};

    #[test]
    fn a_command_runs_as_pid_2_with_its_requirements_as_arguments() {
        let plan = MachinePlan::of(&spec(
            serde_json::json!({
                "image": {"directory": "/srv/images/busybox"},
                "command": ["httpd", "-f", "-p", "$WEB_PORT"],
                "environment": {"GREETING": "hello"},
                "ephemeral": true,
                "restart": "always",
            }),
            vec![
                dependency(
                    "web",
                    &["TCPPort", "Port", "Endpoint"],
                    serde_json::json!({"address": "127.0.0.1", "port": 20080}),
                    serde_json::json!({}),
                ),
                dependency(
                    "site",
                    &["LocalDirectory", "Directory"],
                    serde_json::json!({"path": "/srv/site"}),
                    serde_json::json!({"read_only": true}),
                ),
            ],
        ))
        .unwrap();
        assert_eq!(plan.machine, "khutulun-default-shop-db-0");
        assert_eq!(
            plan.arguments,
            [
                "--quiet",
                "--register=no",
                "--keep-unit",
                "--link-journal=no",
                "--machine=khutulun-default-shop-db-0",
                "--directory=/srv/images/busybox",
                "--volatile=overlay",
                "--setenv=GREETING=hello",
                "--setenv=KHUTULUN_INSTANCE=db-0",
                "--setenv=KHUTULUN_NAMESPACE=default",
                "--setenv=KHUTULUN_SERVICE=shop",
                "--setenv=SITE_PATH=/srv/site",
                "--setenv=WEB_HOST=127.0.0.1",
                "--setenv=WEB_PORT=20080",
                "--bind-ro=/srv/site",
                "--chdir=/srv/site",
                "--as-pid2",
                "--",
                "httpd",
                "-f",
                "-p",
                "$WEB_PORT",
            ]
        );
        let process = plan.process_spec(&spec(serde_json::json!({}), Vec::new()));
        assert_eq!(process.properties["command"], "systemd-nspawn");
        assert_eq!(process.properties["restart"], "always");
        assert!(process.requirements.is_empty());
        assert_eq!(
            process.state_dir,
            Path::new("/var/lib/khutulun-test/shop/db-0")
        );
    }

    #[test]
    fn without_a_command_the_container_boots() {
        let plan = MachinePlan::of(&spec(
            serde_json::json!({"image": {"directory": "/var/lib/machines/debian"}}),
            Vec::new(),
        ))
        .unwrap();
        assert_eq!(plan.arguments.last().unwrap(), "--boot");
        assert!(!plan.arguments.contains(&"--volatile=overlay".to_owned()));
        assert_eq!(plan.process_properties["restart"], "on-failure");
    }

    #[test]
    fn bad_images_and_directories_are_explained() {
        let cases = [
            (
                serde_json::json!({"image": {"directory": "relative/root"}}),
                vec![],
                "absolute path",
            ),
            (
                serde_json::json!({"image": {"artifact": "rootfs"}}),
                vec![],
                "which the node does not have",
            ),
            (
                serde_json::json!({"image": {"url": "https://example.com/root.tar"}}),
                vec![],
                "from a URL",
            ),
            (
                serde_json::json!({"image": {"directory": "/a", "url": "https://example.com/r.tar"}}),
                vec![],
                "exactly one",
            ),
            (
                serde_json::json!({"image": "/srv/root"}),
                vec![],
                "SystemImageReference",
            ),
            (
                serde_json::json!({"image": {"directory": "/srv/root"}}),
                vec![dependency(
                    "data",
                    &["LocalDirectory", "Directory"],
                    serde_json::json!({"path": "/srv/a:b"}),
                    serde_json::json!({}),
                )],
                "without ':'",
            ),
        ];
        for (properties, requirements, expected) in cases {
            let error = MachinePlan::of(&spec(properties, requirements))
                .unwrap_err()
                .to_string();
            assert!(error.contains("shop/db-0"), "{error}");
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn a_directory_that_is_no_root_filesystem_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let plan = MachinePlan::of(&spec(
            serde_json::json!({"image": {"directory": root.path()}}),
            Vec::new(),
        ))
        .unwrap();
        let error = plan.check_root().unwrap_err().to_string();
        assert!(error.contains("/etc/os-release"), "{error}");
        std::fs::create_dir_all(root.path().join("usr/lib")).unwrap();
        std::fs::write(root.path().join("usr/lib/os-release"), "ID=test\n").unwrap();
        plan.check_root().unwrap();
    }

    #[test]
    fn machine_names_are_host_names() {
        assert_eq!(
            machine_name("default", "team/shop", "api_1"),
            "khutulun-default-team-shop-api-1"
        );
        let long = "s".repeat(100);
        assert_eq!(machine_name("default", &long, "x-0").len(), 64);
        assert_ne!(
            machine_name("default", &long, "x-0"),
            machine_name("default", &long, "x-1")
        );
    }
}
