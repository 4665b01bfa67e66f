//! What one distrobox is made from and how its command runs: worked out from the instance alone,
//! touching nothing on the host, so a table of cases tests it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::delegates::nspawn::{image_archive, machine_name, unit_process_spec};
use crate::delegates::profile::{PropertySet, SystemContainerProperties};
use crate::delegates::protocol::{
    ArtifactLocation, Attributes, DelegateError, ExecSource, InstanceSpec, Observation,
};
use crate::delegates::wiring::Wiring;

/// The label a box carries with its instance's qualified name: a box of that name without it
/// was not made by Khutulun and is never touched.
pub const INSTANCE_LABEL: &str = "khutulun.instance";

/// The program every box is made, entered and removed with.
pub const DISTROBOX: &str = "distrobox";

/// Where a box's image comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageSource {
    /// An image reference Podman resolves itself (present in the user's storage, or pulled).
    Reference(String),
    /// A root filesystem archive (an artifact), imported as [`BoxPlan::image`].
    Archive(ArtifactLocation),
    /// A root filesystem directory on the host, imported as [`BoxPlan::image`].
    Directory(PathBuf),
}

/// Which box an instance has: enough to find and remove it even when its plan can no longer
/// be made.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxName {
    /// `namespace/service/instance`, the box's label and the start of every message.
    pub instance: String,
    /// The box's (container's) name, also its host name.
    pub name: String,
}

impl BoxName {
    /// The box of instance `spec`: its machine name (as nspawn's), in lower case as Podman
    /// wants image names.
    pub fn of(spec: &InstanceSpec) -> BoxName {
        BoxName {
            instance: spec.qualified_name(),
            name: machine_name(&spec.namespace, &spec.service, &spec.instance).to_lowercase(),
        }
    }

    /// The tag of the image imported for this box alone.
    pub fn imported_image(&self) -> String {
        format!("localhost/{}:khutulun", self.name)
    }
}

/// Everything needed to make and run one box.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxPlan {
    /// The box.
    pub id: BoxName,
    /// Where its image comes from.
    pub source: ImageSource,
    /// The image it is created from: the reference, or the tag an imported root filesystem
    /// gets (one per instance, removed with it).
    pub image: String,
    /// Where an archive inside a CSAR is copied out to while it is imported (in the
    /// instance's private directory).
    pub archive_copy: PathBuf,
    /// The arguments of `distrobox create`.
    pub create_arguments: Vec<String>,
    /// The instance's properties as the process delegate reads them: `distrobox enter`.
    process_properties: Attributes,
}

impl BoxPlan {
    /// Works out the plan, or says what is wrong with the instance's properties.
    pub fn of(spec: &InstanceSpec) -> Result<BoxPlan, DelegateError> {
        let instance = spec.qualified_name();
        let properties = SystemContainerProperties::from_properties(&spec.properties, &instance)?;
        let invalid = |message: String| DelegateError::InvalidProperties {
            instance: instance.clone(),
            message,
        };
        if properties.command.is_empty() {
            return Err(invalid(
                "a distrobox runs its node's command inside the box (distrobox enter -- COMMAND); give it a command".into(),
            ));
        }
        if properties.ephemeral {
            return Err(invalid(
                "ephemeral is for nspawn; a distrobox keeps what it writes until it is deleted"
                    .into(),
            ));
        }
        if instance.contains(char::is_whitespace) {
            return Err(invalid(
                "its name cannot label a box: it holds a space".into(),
            ));
        }
        let id = BoxName::of(spec);
        let name = id.name.clone();
        let source = image_source(spec, &properties, &invalid)?;
        let image = match &source {
            ImageSource::Reference(reference) => reference.clone(),
            _ => id.imported_image(),
        };
        let wiring = Wiring::of(spec)?;
        let mut create_arguments = vec![
            "create".to_owned(),
            "--yes".to_owned(),
            "--no-entry".to_owned(),
            "--name".to_owned(),
            name.clone(),
            "--image".to_owned(),
            image.clone(),
        ];
        for directory in &wiring.directories {
            let path = directory.path.display().to_string();
            if path.contains([':', ' ']) || !directory.path.is_absolute() {
                return Err(invalid(format!(
                    "the attached directory {path:?} cannot be bound into a box: it must be an absolute path without ':' or spaces"
                )));
            }
            let read_only = if directory.read_only { ":ro" } else { "" };
            create_arguments.extend(["--volume".to_owned(), format!("{path}:{path}{read_only}")]);
        }
        // Podman takes the last --hostname: the box's own name, not distrobox's
        // `<name>.<host>`, which can pass the 64 characters a host name may have.
        create_arguments.extend([
            "--additional-flags".to_owned(),
            format!("--label {INSTANCE_LABEL}={instance} --hostname {name}"),
        ]);
        let mut environment = wiring.environment.clone();
        environment.extend(properties.environment.clone());
        let mut arguments = vec!["enter".to_owned(), "--name".to_owned(), name.clone()];
        arguments.push("--".to_owned());
        arguments.extend(entered_command(&properties.command, &environment));
        let mut process = serde_json::json!({
            "command": DISTROBOX,
            "arguments": arguments,
            "environment": environment,
            "restart": properties.restart.systemd_name(),
        });
        if let Some(directory) = wiring.first_directory() {
            process["working_directory"] = directory.display().to_string().into();
        }
        Ok(BoxPlan {
            id,
            source,
            image,
            archive_copy: spec.state_dir.join("image.tar"),
            create_arguments,
            process_properties: process.as_object().cloned().unwrap_or_default(),
        })
    }

    /// Whether the image is imported for this box alone (and removed with it).
    pub fn imports_image(&self) -> bool {
        !matches!(self.source, ImageSource::Reference(_))
    }

    /// The process instance that runs `distrobox enter --name NAME -- COMMAND` as a systemd
    /// user unit: the command runs inside the box, in the unit's cgroup, so stopping the unit
    /// stops it.
    pub fn process_spec(&self, spec: &InstanceSpec) -> InstanceSpec {
        unit_process_spec(spec, self.process_properties.clone())
    }

    /// The process instance of a box whose plan can no longer be made: enough to delete what
    /// runs and what is recorded.
    pub fn leftover_spec(spec: &InstanceSpec) -> InstanceSpec {
        unit_process_spec(spec, Attributes::new())
    }

    /// What the process delegate saw, with the box's name among the attributes.
    pub fn observation(&self, mut seen: Observation) -> Observation {
        seen.attributes = self.attributes(seen.attributes);
        seen
    }

    /// `attributes` (what the process delegate reported) with the box's name as `machine`.
    pub fn attributes(&self, mut attributes: Attributes) -> Attributes {
        attributes.insert("machine".into(), self.id.name.clone().into());
        attributes
    }

    /// `distrobox enter` into the box, as the agent's user (whose box it is).
    pub fn exec(&self) -> ExecSource {
        ExecSource::Inside {
            program: DISTROBOX.into(),
            arguments: vec![
                "enter".into(),
                "--name".into(),
                self.id.name.clone(),
                "--".into(),
            ],
            interactive_at: None,
        }
    }
}

/// `command`, with `environment`, as `distrobox enter` must be given them. It runs its command
/// line through `eval`, quoting an argument that holds no quote itself but mangling one that
/// does (`"$(date)"` becomes a syntax error), and passes on only the variables whose value
/// holds no space, quote, backquote or `$`. When the command or a variable would suffer, both
/// are handed over as a shell script free of quotes: `export NAME='value'` for each variable
/// and `exec` of the command, quoted for the shell, written as `printf` octal escapes and
/// `eval`ed inside.
fn entered_command(command: &[String], environment: &BTreeMap<String, String>) -> Vec<String> {
    let mangled = |text: &String, unsafe_chars: &[char]| text.contains(unsafe_chars);
    let quoted_argument = command.iter().any(|a| mangled(a, &['\'', '"']));
    let dropped_variable = environment
        .values()
        .any(|v| mangled(v, &[' ', '\t', '\n', '\'', '"', '`', '$']));
    if !quoted_argument && !dropped_variable {
        return command.to_vec();
    }
    let quote = |text: &str| format!("'{}'", text.replace('\'', r"'\''"));
    let exports = environment
        .iter()
        .map(|(name, value)| format!("export {name}={}; ", quote(value)));
    let words: Vec<String> = command.iter().map(|argument| quote(argument)).collect();
    let script: String = exports
        .chain([format!("exec {}", words.join(" "))])
        .collect();
    let escaped: String = script
        .bytes()
        .map(|byte| format!(r"\\{byte:03o}"))
        .collect();
    let script = format!("set -f; IFS=; eval $(printf {escaped})");
    ["sh", "-c", &script].map(String::from).to_vec()
}

/// Where the image comes from: exactly one of a reference, an archive artifact or a directory.
fn image_source(
    spec: &InstanceSpec,
    properties: &SystemContainerProperties,
    invalid: &impl Fn(String) -> DelegateError,
) -> Result<ImageSource, DelegateError> {
    let image = &properties.image;
    match (
        &image.reference,
        &image.artifact,
        &image.directory,
        &image.url,
    ) {
        (Some(reference), None, None, None) => Ok(ImageSource::Reference(reference.clone())),
        (None, Some(name), None, None) => {
            Ok(ImageSource::Archive(image_archive(spec, name, invalid)?))
        }
        (None, None, Some(directory), None) if PathBuf::from(directory).is_absolute() => {
            Ok(ImageSource::Directory(directory.into()))
        }
        (None, None, Some(directory), None) => Err(invalid(format!(
            "its image directory {directory} must be an absolute path"
        ))),
        (None, None, None, Some(url)) => Err(DelegateError::NotImplemented(format!(
            "{}: a distrobox image from a URL ({url}); make it an artifact of the node (downloaded at deploy) or give an image reference",
            spec.qualified_name()
        ))),
        _ => Err(invalid(
            "its image must name exactly one of reference, artifact, directory and url".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::profile::types;
    use crate::delegates::testing::{dependency, system_container as spec};

    #[test]
    fn a_box_is_created_with_its_directories_and_its_command_entered_with_its_requirements() {
        let plan = BoxPlan::of(&spec(
            serde_json::json!({
                "image": {"reference": "localhost/debian:12"},
                "command": ["busybox", "httpd", "-f", "-p", "$WEB_PORT"],
                "environment": {"GREETING": "hello"},
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
        assert_eq!(plan.id.name, "khutulun-default-shop-db-0");
        assert_eq!(plan.image, "localhost/debian:12");
        assert!(!plan.imports_image());
        assert_eq!(
            plan.create_arguments,
            [
                "create",
                "--yes",
                "--no-entry",
                "--name",
                "khutulun-default-shop-db-0",
                "--image",
                "localhost/debian:12",
                "--volume",
                "/srv/site:/srv/site:ro",
                "--additional-flags",
                "--label khutulun.instance=default/shop/db-0 --hostname khutulun-default-shop-db-0",
            ]
        );
        let process = plan.process_spec(&spec(serde_json::json!({}), Vec::new()));
        assert_eq!(process.properties["command"], "distrobox");
        assert_eq!(
            process.properties["arguments"],
            serde_json::json!([
                "enter",
                "--name",
                "khutulun-default-shop-db-0",
                "--",
                "busybox",
                "httpd",
                "-f",
                "-p",
                "$WEB_PORT"
            ])
        );
        assert_eq!(process.properties["environment"]["WEB_PORT"], "20080");
        assert_eq!(process.properties["environment"]["GREETING"], "hello");
        assert_eq!(process.properties["working_directory"], "/srv/site");
        assert_eq!(process.properties["restart"], "always");
        assert!(process.requirements.is_empty());
        assert_eq!(
            plan.exec(),
            ExecSource::Inside {
                program: "distrobox".into(),
                arguments: ["enter", "--name", "khutulun-default-shop-db-0", "--"]
                    .map(String::from)
                    .to_vec(),
                interactive_at: None,
            }
        );
    }

    #[test]
    fn an_archive_or_a_directory_is_imported_for_the_box_alone() {
        let mut with_archive = spec(
            serde_json::json!({"image": {"artifact": "rootfs"}, "command": ["true"]}),
            Vec::new(),
        );
        with_archive.artifacts.insert(
            "rootfs".into(),
            crate::delegates::protocol::Artifact {
                types: vec![crate::delegates::protocol::TypeRef::khutulun(
                    types::SYSTEM_IMAGE,
                )],
                file: "debian.tar".into(),
                location: ArtifactLocation::File {
                    path: "/srv/debian.tar".into(),
                },
            },
        );
        let directory = spec(
            serde_json::json!({"image": {"directory": "/srv/debian"}, "command": ["true"]}),
            Vec::new(),
        );
        for (spec, source) in [
            (
                with_archive,
                ImageSource::Archive(ArtifactLocation::File {
                    path: "/srv/debian.tar".into(),
                }),
            ),
            (directory, ImageSource::Directory("/srv/debian".into())),
        ] {
            let plan = BoxPlan::of(&spec).unwrap();
            assert_eq!(plan.source, source);
            assert!(plan.imports_image());
            assert_eq!(plan.image, "localhost/khutulun-default-shop-db-0:khutulun");
            assert_eq!(plan.image, BoxName::of(&spec).imported_image());
        }
    }

    #[test]
    fn a_command_with_quotes_or_a_variable_with_spaces_reaches_the_box_intact() {
        let plain = ["busybox", "httpd", "-p", "$PORT", "(x)"].map(String::from);
        let port = BTreeMap::from([("PORT".to_owned(), "20080".to_owned())]);
        assert_eq!(entered_command(&plain, &port), plain);
        let quoted = ["sh", "-c", r#"echo "it's $(date)""#].map(String::from);
        let spaced = BTreeMap::from([("GREETING".to_owned(), "hello there".to_owned())]);
        for (command, environment, expected) in [
            (
                &quoted[..],
                &port,
                r#"export PORT='20080'; exec 'sh' '-c' 'echo "it'\''s $(date)"'"#,
            ),
            (
                &plain[..],
                &spaced,
                "export GREETING='hello there'; exec 'busybox' 'httpd' '-p' '$PORT' '(x)'",
            ),
        ] {
            let entered = entered_command(command, environment);
            assert_eq!(entered[..2], ["sh", "-c"]);
            assert!(!entered[2].contains(['\'', '"']), "{}", entered[2]);
            // What `sh -c` makes of the script is the exports and the command, quoted.
            let output = std::process::Command::new("sh")
                .args(["-c", &entered[2].replace("eval", "printf %s")])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
        }
        // Run, it gives the program its arguments and variables as they were.
        let script = entered_command(
            &[
                "sh".into(),
                "-c".into(),
                r#"printf '%s|%s' "$GREETING" "$1""#.into(),
                "sh".into(),
                "a  b".into(),
            ],
            &spaced,
        );
        let output = std::process::Command::new(&script[0])
            .args(&script[1..])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            "hello there|a  b"
        );
    }

    #[test]
    fn what_a_box_cannot_be_is_explained() {
        let cases = [
            (
                serde_json::json!({"image": {"reference": "debian"}}),
                "give it a command",
            ),
            (
                serde_json::json!({"image": {"reference": "debian"}, "command": ["true"], "ephemeral": true}),
                "ephemeral is for nspawn",
            ),
            (
                serde_json::json!({"image": {"reference": "debian", "directory": "/srv"}, "command": ["true"]}),
                "exactly one of reference, artifact, directory and url",
            ),
            (
                serde_json::json!({"image": {"directory": "srv"}, "command": ["true"]}),
                "absolute path",
            ),
            (
                serde_json::json!({"image": {"url": "https://example.com/r.tar"}, "command": ["true"]}),
                "from a URL",
            ),
            (
                serde_json::json!({"image": {"artifact": "rootfs"}, "command": ["true"]}),
                "which the node does not have",
            ),
        ];
        for (properties, expected) in cases {
            let error = BoxPlan::of(&spec(properties, Vec::new()))
                .unwrap_err()
                .to_string();
            assert!(error.contains("shop/db-0"), "{error}");
            assert!(error.contains(expected), "{error}");
        }
    }
}
