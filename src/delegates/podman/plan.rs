//! What exactly to create for a container instance: its name and labels, where its image comes
//! from, its command, environment, user and directory, its restart policy and OCI runtime, the
//! reserved ports it publishes and the directories it mounts. Pure: it reads the instance
//! spec and builds Podman's create options, so it is tested without Podman.

use std::collections::BTreeMap;
use std::net::IpAddr;

use podman_api::models::{ContainerMount, PortMapping};
use podman_api::opts::{ContainerCreateOpts, ContainerRestartPolicy};

use crate::delegates::profile::{
    ContainerProperties, ImageReference, PropertySet, Protocol, RestartPolicy, types,
};
use crate::delegates::protocol::{ArtifactLocation, DelegateError, InstanceSpec, is_a};
use crate::delegates::wiring::Wiring;

/// The label every Khutulun container carries with its service's namespace.
pub const NAMESPACE_LABEL: &str = "khutulun.namespace";
/// The label every Khutulun container carries with its service's name.
pub const SERVICE_LABEL: &str = "khutulun.service";
/// The label every Khutulun container carries with its instance's id.
pub const INSTANCE_LABEL: &str = "khutulun.instance";
/// The label every Khutulun container carries with its node template's name.
pub const NODE_LABEL: &str = "khutulun.node";

/// The container (or pod) of instance `instance` of `namespace/service`: its workload name,
/// like the systemd delegate's units (see [`crate::delegates::naming`]).
pub fn container_name(namespace: &str, service: &str, instance: &str) -> String {
    crate::delegates::naming::workload_name(namespace, service, instance)
}

/// Where the container's image comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// An image reference: the local image when present, else pulled.
    Reference(String),
    /// An image archive (`podman save`) among the node's artifacts, loaded into Podman.
    Archive {
        /// The artifact's name.
        artifact: String,
        /// Where its file is: on disk, inside the template's CSAR, or built in.
        location: ArtifactLocation,
    },
}

/// A reserved port published on the host: `address:port` on the host goes to the same port
/// in the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedPort {
    /// The host address it is published on.
    pub address: IpAddr,
    /// The port, the same on the host and in the container.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
}

impl PublishedPort {
    /// Podman's mapping: the host address and port to the same port in the container.
    pub fn mapping(&self) -> PortMapping {
        PortMapping {
            container_port: Some(self.port),
            host_ip: Some(self.address.to_string()),
            host_port: Some(self.port),
            protocol: Some(self.protocol.to_string()),
            range: None,
        }
    }
}

/// A host directory mounted into the container at the same path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindMount {
    /// The directory, on the host and in the container.
    pub path: String,
    /// Whether the container may only read it.
    pub read_only: bool,
}

/// Which container is an instance's: its name and labels, known from the instance alone (so
/// a container is found, stopped and removed even when its properties are no longer valid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerIdentity {
    /// `service/instance`, for messages.
    pub instance: String,
    /// The container's name.
    pub name: String,
    /// Its labels, which find it again after an agent restart.
    pub labels: BTreeMap<String, String>,
}

impl ContainerIdentity {
    /// The identity of the instance's container.
    pub fn of(spec: &InstanceSpec) -> ContainerIdentity {
        ContainerIdentity {
            instance: spec.qualified_name(),
            name: spec.workload_name(),
            labels: BTreeMap::from([
                (NAMESPACE_LABEL.to_owned(), spec.namespace.clone()),
                (SERVICE_LABEL.to_owned(), spec.service.clone()),
                (INSTANCE_LABEL.to_owned(), spec.instance.clone()),
                (NODE_LABEL.to_owned(), spec.node.clone()),
            ]),
        }
    }

    /// The refusal to touch a container of the instance's name that lacks its labels.
    pub fn not_ours(&self) -> DelegateError {
        DelegateError::Failed(format!(
            "{}: a container named {} exists that Khutulun did not make for it (it lacks its labels {}); remove or rename it",
            self.instance,
            self.name,
            self.labels
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    /// Whether a container with these labels is this instance's (and not a container of the
    /// same name that Khutulun did not make): it carries every label of the identity.
    pub fn owns<'a>(&self, mut label: impl FnMut(&str) -> Option<&'a str>) -> bool {
        self.labels
            .iter()
            .all(|(key, value)| label(key) == Some(value.as_str()))
    }
}

/// Everything needed to create one container instance.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerPlan {
    /// Which container it is.
    pub identity: ContainerIdentity,
    /// Where its image comes from.
    pub image: ImageSource,
    /// The program instead of the image's entry point.
    pub entrypoint: Option<String>,
    /// The arguments instead of the image's command.
    pub arguments: Vec<String>,
    /// Its environment: what the requirements give, then the template's own.
    pub environment: BTreeMap<String, String>,
    /// The directory it starts in, inside the container.
    pub working_directory: Option<String>,
    /// The user it runs as, inside the container.
    pub user: Option<String>,
    /// Podman's restart policy.
    pub restart: ContainerRestartPolicy,
    /// The OCI runtime, when not Podman's default.
    pub runtime: Option<String>,
    /// The reserved ports it publishes.
    pub ports: Vec<PublishedPort>,
    /// The directories it mounts.
    pub mounts: Vec<BindMount>,
    /// The pod it joins (and shares the network of), when it is one of a pod's containers.
    pub pod: Option<String>,
}

/// Podman's restart policy for the profile's, or why there is none: Podman restarts after a
/// non-zero exit (`on-failure`, which a signal's exit status is too) or always, but it cannot
/// tell a signal from an exit code nor restart after success only.
pub fn podman_restart_policy(policy: RestartPolicy) -> Result<ContainerRestartPolicy, String> {
    match policy {
        RestartPolicy::No => Ok(ContainerRestartPolicy::No),
        RestartPolicy::OnFailure => Ok(ContainerRestartPolicy::OnFailure),
        RestartPolicy::Always => Ok(ContainerRestartPolicy::Always),
        RestartPolicy::OnSuccess | RestartPolicy::OnAbnormal => Err(format!(
            "Podman has no {:?} restart policy; use \"no\", \"on-failure\" or \"always\"",
            policy.systemd_name()
        )),
    }
}

fn text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl ContainerPlan {
    /// Works out the plan from the instance, or says what is wrong with it.
    pub fn of(spec: &InstanceSpec) -> Result<ContainerPlan, DelegateError> {
        let instance = spec.qualified_name();
        let properties = ContainerProperties::from_properties(&spec.properties, &instance)?;
        let invalid = |message: String| DelegateError::InvalidProperties {
            instance: instance.clone(),
            message,
        };
        let image = image_source(spec, &properties.image, &invalid)?;
        let restart = podman_restart_policy(properties.restart).map_err(&invalid)?;
        if let Some(directory) = &properties.working_directory
            && !directory.starts_with('/')
        {
            return Err(invalid(format!(
                "its working directory {directory:?} must be an absolute path"
            )));
        }
        let wiring = Wiring::of(spec)?;
        let mounts = bind_mounts(&wiring);
        let mut environment = wiring.environment;
        environment.extend(properties.environment.clone());
        let ports = published_ports(spec)?;
        Ok(ContainerPlan {
            identity: ContainerIdentity::of(spec),
            image,
            entrypoint: properties.command.filter(|c| !c.is_empty()),
            arguments: properties.arguments,
            environment,
            working_directory: properties.working_directory,
            user: properties.user.filter(|u| !u.is_empty()),
            restart,
            runtime: properties.runtime.filter(|r| !r.is_empty()),
            ports,
            mounts,
            pod: None,
        })
    }

    /// Podman's options to create the container from `image` (a name or id Podman has).
    pub fn create_opts(&self, image: &str) -> ContainerCreateOpts {
        let mut builder = ContainerCreateOpts::builder()
            .name(&self.identity.name)
            .image(image)
            .labels(self.identity.labels.iter())
            .env(self.environment.iter())
            .restart_policy(self.restart);
        if let Some(entrypoint) = &self.entrypoint {
            builder = builder.entrypoint([entrypoint]);
        }
        if !self.arguments.is_empty() {
            builder = builder.command(&self.arguments);
        }
        if let Some(directory) = &self.working_directory {
            builder = builder.work_dir(directory);
        }
        if let Some(user) = &self.user {
            builder = builder.user(user);
        }
        if let Some(runtime) = &self.runtime {
            builder = builder.oci_runtime(runtime);
        }
        if let Some(pod) = &self.pod {
            builder = builder.pod(pod);
        }
        if !self.ports.is_empty() {
            builder = builder.portmappings(self.ports.iter().map(PublishedPort::mapping));
        }
        if !self.mounts.is_empty() {
            builder = builder.mounts(self.mounts.iter().map(|mount| {
                let mut options = vec!["rbind".to_owned()];
                if mount.read_only {
                    options.push("ro".to_owned());
                }
                ContainerMount {
                    destination: Some(mount.path.clone()),
                    options: Some(options),
                    source: Some(mount.path.clone()),
                    _type: Some("bind".to_owned()),
                    uid_mappings: None,
                    gid_mappings: None,
                }
            }));
        }
        builder.build()
    }
}

/// The image source the properties name: exactly one of a reference or an artifact of the
/// node that is an image archive with a file on this host.
pub(super) fn image_source(
    spec: &InstanceSpec,
    image: &ImageReference,
    invalid: &impl Fn(String) -> DelegateError,
) -> Result<ImageSource, DelegateError> {
    match (&image.reference, &image.artifact) {
        (Some(reference), None) if !reference.is_empty() => {
            Ok(ImageSource::Reference(reference.clone()))
        }
        (None, Some(name)) => {
            let artifact = spec.artifacts.get(name).ok_or_else(|| {
                invalid(format!(
                    "its image names the artifact {name:?}, which the node does not have"
                ))
            })?;
            if !artifact.types.is_empty() && !is_a(&artifact.types, types::OCI_IMAGE_ARCHIVE) {
                return Err(invalid(format!(
                    "its image names the artifact {name:?}, which is not an {}",
                    types::OCI_IMAGE_ARCHIVE
                )));
            }
            match &artifact.location {
                ArtifactLocation::Url { url } => Err(DelegateError::Failed(format!(
                    "{}: the image archive {name:?} at {url} is not downloaded (a deploy downloads it into the store's cache)",
                    spec.qualified_name()
                ))),
                location => Ok(ImageSource::Archive {
                    artifact: name.clone(),
                    location: location.clone(),
                }),
            }
        }
        _ => Err(invalid(
            "its image must give exactly one of `reference` or `artifact`".into(),
        )),
    }
}

/// The attached directories as bind mounts at the same path; one attached twice is writable
/// if either asks for it.
pub(super) fn bind_mounts(wiring: &Wiring) -> Vec<BindMount> {
    let mut mounts: Vec<BindMount> = Vec::new();
    for directory in &wiring.directories {
        let path = directory.path.to_string_lossy().into_owned();
        match mounts.iter_mut().find(|mount| mount.path == path) {
            Some(mount) => mount.read_only &= directory.read_only,
            None => mounts.push(BindMount {
                path,
                read_only: directory.read_only,
            }),
        }
    }
    mounts
}

/// The reserved ports (connections to a `Port`) to publish. Connections to other endpoints
/// (an `IPEndpoint`) are only environment variables.
pub fn published_ports(spec: &InstanceSpec) -> Result<Vec<PublishedPort>, DelegateError> {
    let instance = spec.qualified_name();
    let missing = |target: &str, attribute: &str| {
        DelegateError::Failed(format!(
            "{instance}: {target} reports no {attribute} yet, so its port cannot be published"
        ))
    };
    let mut ports: Vec<PublishedPort> = Vec::new();
    for dependency in &spec.requirements {
        if !is_a(&dependency.target_types, types::PORT) {
            continue;
        }
        let attributes = &dependency.target_attributes;
        let address = text(attributes.get("address"))
            .ok_or_else(|| missing(&dependency.target, "address"))?;
        let address: IpAddr = address.parse().map_err(|_| {
            DelegateError::Failed(format!(
                "{instance}: the port {} is reserved at {address:?}, which is not an IP address Podman can publish on",
                dependency.target
            ))
        })?;
        let port = text(attributes.get("port"))
            .and_then(|port| port.parse::<u16>().ok())
            .ok_or_else(|| missing(&dependency.target, "port"))?;
        let udp = text(attributes.get("protocol")).as_deref() == Some("udp")
            || is_a(&dependency.target_types, types::UDP_PORT);
        let published = PublishedPort {
            address,
            port,
            protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
        };
        if !ports.contains(&published) {
            ports.push(published);
        }
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::protocol::{Artifact, Attributes, Dependency, TypeRef};
    use crate::delegates::testing::{self, dependency};

    fn spec(properties: serde_json::Value, requirements: Vec<Dependency>) -> InstanceSpec {
        testing::spec("hello", "web-0", types::CONTAINER, properties, requirements)
    }

    fn create_json(plan: &ContainerPlan, image: &str) -> serde_json::Value {
        serde_json::from_str(&plan.create_opts(image).serialize().unwrap()).unwrap()
    }

    #[test]
    fn a_web_server_publishes_its_port_and_mounts_its_site() {
        let spec = spec(
            serde_json::json!({
                "image": {"reference": "localhost/busybox:test"},
                "command": "/bin/httpd",
                "arguments": ["-f", "-p", 20001],
                "environment": {"GREETING": "hi", "HTTP_HOST": "0.0.0.0"},
                "working_directory": "/srv",
                "user": "nobody",
                "runtime": "kata",
                "restart": "always",
            }),
            vec![
                dependency(
                    "connection",
                    &["TCPPort", "Port", "Endpoint"],
                    serde_json::json!({"address": "127.0.0.1", "port": 20001, "protocol": "tcp"}),
                    serde_json::json!({"variable": "http"}),
                ),
                dependency(
                    "connection",
                    &["IPEndpoint", "Endpoint"],
                    serde_json::json!({"address": "10.0.0.5", "port": 5432}),
                    serde_json::json!({}),
                ),
                dependency(
                    "storage",
                    &["LocalDirectory", "Directory"],
                    serde_json::json!({"path": "/srv/site"}),
                    serde_json::json!({"read_only": true, "variable": "site"}),
                ),
            ],
        );
        let plan = ContainerPlan::of(&spec).unwrap();
        assert_eq!(plan.identity.name, "khutulun-default.hello.web-0");
        let json = create_json(&plan, "localhost/busybox:test");
        assert_eq!(json["name"], "khutulun-default.hello.web-0");
        assert_eq!(json["image"], "localhost/busybox:test");
        assert_eq!(json["entrypoint"], serde_json::json!(["/bin/httpd"]));
        assert_eq!(json["command"], serde_json::json!(["-f", "-p", "20001"]));
        assert_eq!(json["work_dir"], "/srv");
        assert_eq!(json["user"], "nobody");
        assert_eq!(json["oci_runtime"], "kata");
        assert_eq!(json["restart_policy"], "always");
        assert_eq!(json["labels"][SERVICE_LABEL], "hello");
        assert_eq!(json["labels"][INSTANCE_LABEL], "web-0");
        assert_eq!(json["labels"][NODE_LABEL], "web");
        let env = &json["env"];
        assert_eq!(env["HTTP_PORT"], "20001");
        assert_eq!(
            env["HTTP_HOST"], "0.0.0.0",
            "the template's environment wins"
        );
        assert_eq!(env["CONNECTION_HOST"], "10.0.0.5");
        assert_eq!(env["SITE_PATH"], "/srv/site");
        assert_eq!(
            json["portmappings"],
            serde_json::json!([{"container_port": 20001, "host_ip": "127.0.0.1", "host_port": 20001, "protocol": "tcp"}]),
            "only the reserved port is published, not the outside endpoint"
        );
        assert_eq!(
            json["mounts"],
            serde_json::json!([{"destination": "/srv/site", "source": "/srv/site", "type": "bind", "options": ["rbind", "ro"]}])
        );
    }

    #[test]
    fn what_the_template_leaves_out_stays_the_images() {
        let plan = ContainerPlan::of(&spec(
            serde_json::json!({"image": {"reference": "localhost/app:1"}}),
            vec![],
        ))
        .unwrap();
        let json = create_json(&plan, "localhost/app:1");
        for key in [
            "entrypoint",
            "command",
            "work_dir",
            "user",
            "oci_runtime",
            "portmappings",
            "mounts",
        ] {
            assert!(json.get(key).is_none(), "{key} is set: {json}");
        }
        assert_eq!(
            json["restart_policy"], "on-failure",
            "the profile's default"
        );
        let arguments_only = ContainerPlan::of(&spec(
            serde_json::json!({"image": {"reference": "x"}, "arguments": ["--verbose"]}),
            vec![],
        ))
        .unwrap();
        let json = create_json(&arguments_only, "x");
        assert!(json.get("entrypoint").is_none());
        assert_eq!(json["command"], serde_json::json!(["--verbose"]));
    }

    #[test]
    fn a_writable_storage_and_a_udp_port() {
        let plan = ContainerPlan::of(&spec(
            serde_json::json!({"image": {"reference": "x"}}),
            vec![
                dependency(
                    "connection",
                    &["UDPPort", "Port", "Endpoint"],
                    serde_json::json!({"address": "::1", "port": 5353}),
                    serde_json::json!({}),
                ),
                dependency(
                    "storage",
                    &["LocalDirectory", "Directory"],
                    serde_json::json!({"path": "/data"}),
                    serde_json::json!({}),
                ),
            ],
        ))
        .unwrap();
        assert_eq!(
            plan.ports,
            [PublishedPort {
                address: "::1".parse().unwrap(),
                port: 5353,
                protocol: Protocol::Udp
            }]
        );
        assert_eq!(
            plan.mounts,
            [BindMount {
                path: "/data".into(),
                read_only: false
            }]
        );
        let json = create_json(&plan, "x");
        assert_eq!(json["mounts"][0]["options"], serde_json::json!(["rbind"]));
    }

    #[test]
    fn an_image_archive_artifact_is_located() {
        let mut with_artifact = spec(serde_json::json!({"image": {"artifact": "image"}}), vec![]);
        with_artifact.artifacts.insert(
            "image".into(),
            Artifact {
                types: vec![TypeRef::khutulun(types::OCI_IMAGE_ARCHIVE)],
                file: "web.tar".into(),
                location: ArtifactLocation::File {
                    path: "/srv/templates/web.tar".into(),
                },
            },
        );
        assert_eq!(
            ContainerPlan::of(&with_artifact).unwrap().image,
            ImageSource::Archive {
                artifact: "image".into(),
                location: ArtifactLocation::File {
                    path: "/srv/templates/web.tar".into()
                }
            }
        );
        let mut remote = with_artifact.clone();
        remote.artifacts.get_mut("image").unwrap().location = ArtifactLocation::Url {
            url: "https://example.org/web.tar".into(),
        };
        let error = ContainerPlan::of(&remote).unwrap_err();
        assert!(error.to_string().contains("is not downloaded"), "{error}");
        let mut wrong_type = with_artifact.clone();
        wrong_type.artifacts.get_mut("image").unwrap().types = vec![TypeRef::khutulun("DiskImage")];
        let error = ContainerPlan::of(&wrong_type).unwrap_err().to_string();
        assert!(error.contains("not an OCIImageArchive"), "{error}");
    }

    #[test]
    fn bad_images_policies_and_ports_are_explained() {
        let port = |address: &str| {
            dependency(
                "connection",
                &["TCPPort", "Port", "Endpoint"],
                serde_json::json!({"address": address, "port": 1}),
                serde_json::json!({}),
            )
        };
        let cases = [
            (serde_json::json!({}), vec![], "image"),
            (
                serde_json::json!({"image": {"reference": "a", "artifact": "b"}}),
                vec![],
                "exactly one",
            ),
            (
                serde_json::json!({"image": {"artifact": "missing"}}),
                vec![],
                "does not have",
            ),
            (
                serde_json::json!({"image": {"reference": "a"}, "restart": "on-success"}),
                vec![],
                "Podman has no \"on-success\" restart policy",
            ),
            (
                serde_json::json!({"image": {"reference": "a"}, "working_directory": "srv"}),
                vec![],
                "absolute",
            ),
            (
                serde_json::json!({"image": {"reference": "a"}}),
                vec![port("db.example")],
                "not an IP address",
            ),
        ];
        for (properties, requirements, expected) in cases {
            let error = ContainerPlan::of(&spec(properties, requirements))
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("default/hello/web-0: "), "{error}");
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn names_hold_only_what_podman_accepts_and_labels_tell_ours() {
        assert_eq!(
            container_name("default", "team/shop", "api gateway@1"),
            "khutulun-default.team_shop.api_gateway_1"
        );
        let identity = ContainerIdentity::of(&spec(serde_json::json!({"restart": "bad"}), vec![]));
        let ours = Attributes::from_iter([
            (NAMESPACE_LABEL.to_owned(), "default".into()),
            (SERVICE_LABEL.to_owned(), "hello".into()),
            (INSTANCE_LABEL.to_owned(), "web-0".into()),
            (NODE_LABEL.to_owned(), "web".into()),
            ("other".to_owned(), "label".into()),
        ]);
        assert!(identity.owns(|key| ours.get(key).and_then(|v| v.as_str())));
        assert!(!identity.owns(|_| None));
        assert!(!identity.owns(|key| (key == SERVICE_LABEL).then_some("hello")));
    }
}
