//! The typed mirror of Khutulun's TOSCA profile (`profiles/khutulun/`).
//!
//! The code dispatches on the type names in [`types`] and reads the property sets below from
//! the JSON values the TOSCA processor produces. The profile and this mirror agree by
//! construction: a test parses the profile's YAML and checks that every name here exists with
//! the properties the structs read.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use super::protocol::{DelegateError, Properties};

/// The profile's name, as templates import it (`imports: [{ profile: khutulun }]`).
pub const PROFILE: &str = "khutulun";

/// Names of the profile's types that the code relies on.
pub mod types {
    /// Node type: the root of every Khutulun node type.
    pub const ROOT: &str = "Root";
    /// Node type: anything that runs (process, container, VM); has the `connection`, `listen`,
    /// `storage` and `host` requirements.
    pub const WORKLOAD: &str = "Workload";
    /// Node type: a bare executable or script.
    pub const PROCESS: &str = "Process";
    /// Node type: something its own Lifecycle scripts install and run (no delegate).
    pub const SOFTWARE: &str = "Software";
    /// Node type: a process that must run as a systemd user unit.
    pub const SYSTEMD_PROCESS: &str = "SystemdProcess";
    /// Node type: an OCI container.
    pub const CONTAINER: &str = "Container";
    /// Node type: a pod of OCI containers sharing a network namespace.
    pub const POD: &str = "Pod";
    /// Node type: a system container (nspawn, Distrobox).
    pub const SYSTEM_CONTAINER: &str = "SystemContainer";
    /// Node type: a virtual machine.
    pub const VIRTUAL_MACHINE: &str = "VirtualMachine";
    /// Node type: a load balancer in front of backends.
    pub const LOAD_BALANCER: &str = "LoadBalancer";
    /// Node type: the root of IP endpoints (address and port).
    pub const ENDPOINT: &str = "Endpoint";
    /// Node type: a known IP endpoint Khutulun does not manage.
    pub const IP_ENDPOINT: &str = "IPEndpoint";
    /// Node type: a TCP or UDP port reserved on the host.
    pub const PORT: &str = "Port";
    /// Node type: the root of directories.
    pub const DIRECTORY: &str = "Directory";
    /// Node type: a directory on the host's filesystem.
    pub const LOCAL_DIRECTORY: &str = "LocalDirectory";
    /// Node type: a networked directory mounted on the host.
    pub const NETWORK_DIRECTORY: &str = "NetworkDirectory";

    /// Node type: a TCP port reserved on the host.
    pub const TCP_PORT: &str = "TCPPort";
    /// Node type: a UDP port reserved on the host.
    pub const UDP_PORT: &str = "UDPPort";

    /// Artifact type: an OCI or Docker image archive, as `podman save` writes it.
    pub const OCI_IMAGE_ARCHIVE: &str = "OCIImageArchive";
    /// Artifact type: a root filesystem for a system container.
    pub const SYSTEM_IMAGE: &str = "SystemImage";

    /// Interface type: the operations the agent runs around a delegate's lifecycle.
    pub const LIFECYCLE: &str = "Lifecycle";

    /// Relationship type: the source uses the target endpoint as a client.
    pub const CONNECTS_TO: &str = "ConnectsTo";
    /// Relationship type: the source serves on the target endpoint.
    pub const BINDS_TO: &str = "BindsTo";
    /// Relationship type: the source gets the target directory.
    pub const ATTACHES_TO: &str = "AttachesTo";
    /// Relationship type: the source runs inside the target (a container, a VM).
    pub const HOSTED_ON: &str = "HostedOn";

    /// Policy type: which delegate runs the targets.
    pub const DELEGATION: &str = "Delegation";
    /// Policy type: how many instances of the targets.
    pub const REDUNDANCY: &str = "Redundancy";
    /// Policy type: the targets' instances share a host.
    pub const COLOCATION: &str = "Colocation";
    /// Policy type: the targets' instances avoid sharing a host.
    pub const SEPARATION: &str = "Separation";
    /// Policy type: which hosts the targets may run on.
    pub const PLACEMENT: &str = "Placement";
    /// Policy type: one instance on each selected host.
    pub const DISTRIBUTION: &str = "Distribution";
}

/// Which kind of TOSCA type a property set belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeKind {
    /// `node_types`.
    Node,
    /// `relationship_types`.
    Relationship,
}

impl TypeKind {
    /// The top-level keyname the profile defines these types under.
    pub fn section(self) -> &'static str {
        match self {
            TypeKind::Node => "node_types",
            TypeKind::Relationship => "relationship_types",
        }
    }
}

/// A set of properties of one profile type, as the code reads it. The test in this module
/// checks every implementation against the profile's YAML.
pub trait PropertySet: Serialize + DeserializeOwned + Default {
    /// The kind of type the properties belong to.
    const KIND: TypeKind;
    /// The type's name in the profile (the properties of its ancestors count too).
    const TYPE: &'static str;
    /// Every property the struct reads, with its TOSCA type as the profile declares it.
    const PROPERTIES: &'static [(&'static str, &'static str)];

    /// Reads the set from the processor's evaluated values; `instance` names the owner in the
    /// error.
    fn from_properties(properties: &Properties, instance: &str) -> Result<Self, DelegateError> {
        serde_json::from_value(serde_json::Value::Object(properties.clone())).map_err(|error| {
            DelegateError::InvalidProperties {
                instance: instance.to_owned(),
                message: format!("the properties of a {} are not valid: {error}", Self::TYPE),
            }
        })
    }
}

/// When a workload that exited is started again (the profile's `RestartPolicy`, systemd's
/// `Restart=` values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never.
    No,
    /// After a clean exit (code 0).
    OnSuccess,
    /// After an unclean exit code or a signal.
    #[default]
    OnFailure,
    /// After a signal.
    OnAbnormal,
    /// After any exit.
    Always,
}

impl RestartPolicy {
    /// Whether a workload that ended cleanly (code 0, a guest that powered off) starts again.
    pub fn after_success(self) -> bool {
        matches!(self, RestartPolicy::OnSuccess | RestartPolicy::Always)
    }

    /// Whether a workload that failed (an error code, a signal, a crashed guest) starts again.
    pub fn after_failure(self) -> bool {
        !matches!(self, RestartPolicy::No | RestartPolicy::OnSuccess)
    }

    /// The value of systemd's `Restart=`.
    pub fn systemd_name(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnSuccess => "on-success",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::OnAbnormal => "on-abnormal",
            RestartPolicy::Always => "always",
        }
    }

    /// Whether a process that ended this way is started again: `code` is its exit code, or
    /// `None` when a signal killed it.
    pub fn restarts_after(self, code: Option<i32>) -> bool {
        match self {
            RestartPolicy::No => false,
            RestartPolicy::OnSuccess => code == Some(0),
            RestartPolicy::OnFailure => code != Some(0),
            RestartPolicy::OnAbnormal => code.is_none(),
            RestartPolicy::Always => true,
        }
    }
}

/// The number and the unit of a scalar written `"<number> <unit>"` (the space is optional, the
/// unit may be empty).
fn number_and_unit(text: &str) -> Option<(f64, &str)> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    Some((number.trim().parse().ok()?, unit.trim()))
}

/// A length of time (the profile's `TimeSpan` scalar): read from `"<number> <unit>"` (units
/// ms, s, m, h) or from a plain number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeSpan(pub Duration);

impl Default for TimeSpan {
    fn default() -> Self {
        TimeSpan(Duration::from_secs(1))
    }
}

impl TimeSpan {
    /// Parses `"<number> <unit>"` (the space is optional).
    pub fn parse(text: &str) -> Option<TimeSpan> {
        let (number, unit) = number_and_unit(text)?;
        let seconds_per_unit = match unit {
            "ms" => 0.001,
            "s" | "" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        Duration::try_from_secs_f64(number * seconds_per_unit)
            .ok()
            .map(TimeSpan)
    }
}

impl Serialize for TimeSpan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{} s", self.0.as_secs_f64()))
    }
}

impl<'de> Deserialize<'de> for TimeSpan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Number(n) => n
                .as_f64()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .map(TimeSpan)
                .ok_or_else(|| de::Error::custom("a time span must not be negative")),
            serde_json::Value::String(s) => TimeSpan::parse(&s).ok_or_else(|| {
                de::Error::custom(format!(
                    "{s:?} is not a time span like \"500 ms\", \"2 s\", \"1 m\""
                ))
            }),
            other => Err(de::Error::custom(format!(
                "expected a time span, found {other}"
            ))),
        }
    }
}

/// Unix permission bits (the profile's `FileMode`, written in octal like `"0750"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileMode(pub u32);

impl Default for FileMode {
    fn default() -> Self {
        FileMode(0o750)
    }
}

impl Serialize for FileMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{:04o}", self.0))
    }
}

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        u32::from_str_radix(&text, 8)
            .ok()
            .filter(|mode| *mode <= 0o7777)
            .map(FileMode)
            .ok_or_else(|| {
                de::Error::custom(format!("{text:?} is not an octal mode like \"0750\""))
            })
    }
}

/// The transport protocol of a port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// Who can reach a port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    /// Instances of the cluster only.
    #[default]
    Internal,
    /// Clients outside the cluster, on the host's address.
    Published,
    /// Clients outside the cluster, through the cluster's ingress.
    Ingress,
}

/// A string-typed TOSCA value that may arrive as a number or boolean once a `$get_attribute`
/// is resolved (a port number in a command line): taken as its text.
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        other => Err(de::Error::custom(format!(
            "expected a string, found {other}"
        ))),
    }
}

fn lenient_strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    struct Text(#[serde(deserialize_with = "lenient_string")] String);
    let list = Option::<Vec<Text>>::deserialize(deserializer)?;
    Ok(list.unwrap_or_default().into_iter().map(|t| t.0).collect())
}

fn lenient_string_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    struct Text(#[serde(deserialize_with = "lenient_string")] String);
    let map = Option::<BTreeMap<String, Text>>::deserialize(deserializer)?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect())
}

/// The properties of a `Process` (and `SystemdProcess`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessProperties {
    /// The program, as a path or a name looked up in PATH.
    pub command: String,
    /// Its arguments.
    #[serde(default, deserialize_with = "lenient_strings")]
    pub arguments: Vec<String>,
    /// Environment variables from the template.
    #[serde(default, deserialize_with = "lenient_string_map")]
    pub environment: BTreeMap<String, String>,
    /// The directory it starts in.
    #[serde(default)]
    pub working_directory: Option<String>,
    /// The user it runs as.
    #[serde(default)]
    pub user: Option<String>,
    /// When it is started again.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// How long to wait before starting it again.
    #[serde(default)]
    pub restart_delay: TimeSpan,
}

impl PropertySet for ProcessProperties {
    const KIND: TypeKind = TypeKind::Node;
    const TYPE: &'static str = types::PROCESS;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[
        ("command", "string"),
        ("arguments", "list"),
        ("environment", "map"),
        ("working_directory", "string"),
        ("user", "string"),
        ("restart", "RestartPolicy"),
        ("restart_delay", "TimeSpan"),
    ];
}

/// One health check of a workload (the profile's `HealthCheck`): exactly one of `http`, `tcp`
/// and `command`, tried every `interval`. Its defaults are the profile's (a test checks they
/// agree): a check whose value was computed at run time arrives without them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// A URL to GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// The statuses an HTTP check accepts; empty means any 2xx or 3xx.
    #[serde(default)]
    pub status: Vec<u16>,
    /// An `address:port` to connect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    /// A program and its arguments, run where the workload runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// How often it is tried.
    #[serde(default = "HealthCheck::default_interval")]
    pub interval: TimeSpan,
    /// How long one try may take.
    #[serde(default = "HealthCheck::default_timeout")]
    pub timeout: TimeSpan,
    /// How long after a start failures do not count.
    #[serde(default = "HealthCheck::default_start_period")]
    pub start_period: TimeSpan,
    /// Successes in a row that make the instance healthy.
    #[serde(default = "HealthCheck::default_healthy_threshold")]
    pub healthy_threshold: u32,
    /// Failures in a row that make it unhealthy.
    #[serde(default = "HealthCheck::default_unhealthy_threshold")]
    pub unhealthy_threshold: u32,
}

impl HealthCheck {
    fn default_interval() -> TimeSpan {
        TimeSpan(Duration::from_secs(5))
    }

    fn default_timeout() -> TimeSpan {
        TimeSpan(Duration::from_secs(2))
    }

    fn default_start_period() -> TimeSpan {
        TimeSpan(Duration::ZERO)
    }

    fn default_healthy_threshold() -> u32 {
        1
    }

    fn default_unhealthy_threshold() -> u32 {
        3
    }
}

/// The properties every `Workload` has that the runtime itself reads (its delegate reads the
/// rest).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadProperties {
    /// Its health checks by name.
    #[serde(default)]
    pub checks: BTreeMap<String, HealthCheck>,
}

impl PropertySet for WorkloadProperties {
    const KIND: TypeKind = TypeKind::Node;
    const TYPE: &'static str = types::WORKLOAD;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[("checks", "map")];
}

/// How a load balancer spreads connections (the profile's `LoadBalancer.algorithm`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BalanceAlgorithm {
    /// Each backend in turn.
    #[default]
    RoundRobin,
    /// The backend with the fewest connections.
    LeastConnections,
    /// The same client address to the same backend.
    SourceHash,
}

/// The properties of a `LoadBalancer`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancerProperties {
    /// How connections are spread.
    #[serde(default)]
    pub algorithm: BalanceAlgorithm,
    /// How often each backend is checked.
    #[serde(default)]
    pub check_interval: TimeSpan,
    /// A path to GET as the check, instead of a TCP connection.
    #[serde(default)]
    pub check_path: Option<String>,
    /// Failed checks in a row after which a backend gets nothing.
    #[serde(default = "LoadBalancerProperties::default_check_failures")]
    pub check_failures: u32,
    /// When HAProxy is started again.
    #[serde(default)]
    pub restart: RestartPolicy,
}

impl LoadBalancerProperties {
    fn default_check_failures() -> u32 {
        2
    }
}

impl Default for LoadBalancerProperties {
    fn default() -> Self {
        LoadBalancerProperties {
            algorithm: BalanceAlgorithm::default(),
            check_interval: TimeSpan::default(),
            check_path: None,
            check_failures: Self::default_check_failures(),
            restart: RestartPolicy::default(),
        }
    }
}

impl PropertySet for LoadBalancerProperties {
    const KIND: TypeKind = TypeKind::Node;
    const TYPE: &'static str = types::LOAD_BALANCER;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[
        ("algorithm", "string"),
        ("check_interval", "TimeSpan"),
        ("check_path", "string"),
        ("check_failures", "integer"),
        ("restart", "RestartPolicy"),
    ];
}

/// Where an OCI image comes from (the profile's `ImageReference`): exactly one of the two.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageReference {
    /// A registry reference, e.g. `localhost/web:1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The name of one of the node's artifacts, an `OCIImageArchive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
}

/// A file a workload needs (the profile's `FileReference` and `DiskImageReference`): exactly
/// one of a path on the host or an artifact of the node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileReference {
    /// A file on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The name of one of the node's artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
}

/// A cloud-init NoCloud seed (the profile's `CloudInit`): the files cloud-init in a guest
/// reads from a disk labelled `cidata`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudInit {
    /// The `user-data` file.
    pub user_data: String,
    /// The `meta-data` file, when not the default one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_data: Option<String>,
    /// The `network-config` file, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_config: Option<String>,
}

/// An amount of memory or storage in bytes (the profile's `Size` scalar): read from a number
/// of bytes or from `"<number> <unit>"` (B, kB, KiB, MB, MiB, GB, GiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl Default for Size {
    fn default() -> Self {
        Size(512 << 20)
    }
}

impl Size {
    /// Parses `"<number> <unit>"` (the space is optional; no unit means bytes).
    pub fn parse(text: &str) -> Option<Size> {
        let (number, unit) = number_and_unit(text)?;
        let bytes_per_unit: u64 = match unit {
            "B" | "" => 1,
            "kB" => 1000,
            "KiB" => 1 << 10,
            "MB" => 1_000_000,
            "MiB" => 1 << 20,
            "GB" => 1_000_000_000,
            "GiB" => 1 << 30,
            _ => return None,
        };
        let bytes = number * bytes_per_unit as f64;
        (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(Size(bytes as u64))
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{} B", self.0))
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Number(n) => n
                .as_u64()
                .map(Size)
                .ok_or_else(|| de::Error::custom("a size is a whole number of bytes")),
            serde_json::Value::String(s) => Size::parse(&s).ok_or_else(|| {
                de::Error::custom(format!("{s:?} is not a size like \"512 MiB\" or \"2 GiB\""))
            }),
            other => Err(de::Error::custom(format!("expected a size, found {other}"))),
        }
    }
}

/// The properties of a `VirtualMachine`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VirtualMachineProperties {
    /// The disk it boots.
    #[serde(default)]
    pub image: Option<FileReference>,
    /// A kernel to boot directly.
    #[serde(default)]
    pub kernel: Option<FileReference>,
    /// The kernel's initial RAM disk.
    #[serde(default)]
    pub initrd: Option<FileReference>,
    /// The kernel's command line.
    #[serde(default = "default_kernel_arguments")]
    pub kernel_arguments: String,
    /// When a guest that powered off or crashed is started again.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// Its memory.
    #[serde(default)]
    pub memory: Size,
    /// Its virtual CPUs.
    #[serde(default = "one")]
    pub cpus: u32,
    /// A cloud-init seed for the guest.
    #[serde(default)]
    pub cloud_init: Option<CloudInit>,
    /// A host bridge to attach the guest to, instead of the user-mode network.
    #[serde(default)]
    pub bridge: Option<String>,
}

fn default_kernel_arguments() -> String {
    "console=ttyS0".into()
}

fn one() -> u32 {
    1
}

impl Default for VirtualMachineProperties {
    fn default() -> Self {
        VirtualMachineProperties {
            image: None,
            kernel: None,
            initrd: None,
            kernel_arguments: default_kernel_arguments(),
            restart: RestartPolicy::default(),
            memory: Size::default(),
            cpus: 1,
            cloud_init: None,
            bridge: None,
        }
    }
}

impl PropertySet for VirtualMachineProperties {
    const KIND: TypeKind = TypeKind::Node;
    const TYPE: &'static str = types::VIRTUAL_MACHINE;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[
        ("image", "DiskImageReference"),
        ("kernel", "FileReference"),
        ("initrd", "FileReference"),
        ("kernel_arguments", "string"),
        ("restart", "RestartPolicy"),
        ("memory", "Size"),
        ("cpus", "integer"),
        ("cloud_init", "CloudInit"),
        ("bridge", "string"),
    ];
}

/// The properties of a `Container`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerProperties {
    /// Where its image comes from.
    pub image: ImageReference,
    /// The OCI runtime (`runc`, `crun`, `kata`…); Podman's default when `None`.
    #[serde(default)]
    pub runtime: Option<String>,
    /// The program to run instead of the image's entry point.
    #[serde(default)]
    pub command: Option<String>,
    /// Its arguments (instead of the image's command).
    #[serde(default, deserialize_with = "lenient_strings")]
    pub arguments: Vec<String>,
    /// Environment variables from the template.
    #[serde(default, deserialize_with = "lenient_string_map")]
    pub environment: BTreeMap<String, String>,
    /// The directory it starts in, inside the container.
    #[serde(default)]
    pub working_directory: Option<String>,
    /// The user it runs as, inside the container.
    #[serde(default)]
    pub user: Option<String>,
    /// When it is started again.
    #[serde(default)]
    pub restart: RestartPolicy,
}

impl PropertySet for ContainerProperties {
    const KIND: TypeKind = TypeKind::Node;
    const TYPE: &'static str = types::CONTAINER;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[
        ("image", "ImageReference"),
        ("runtime", "string"),
        ("command", "string"),
        ("arguments", "list"),
        ("environment", "map"),
        ("working_directory", "string"),
        ("user", "string"),
        ("restart", "RestartPolicy"),
    ];
}

/// One container of a pod (the profile's `PodContainer`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PodContainer {
    /// Where its image comes from.
    pub image: ImageReference,
    /// The program to run instead of the image's entry point.
    #[serde(default)]
    pub command: Option<String>,
    /// Its arguments (instead of the image's command).
    #[serde(default, deserialize_with = "lenient_strings")]
    pub arguments: Vec<String>,
    /// Its own environment variables, added to the pod's.
    #[serde(default, deserialize_with = "lenient_string_map")]
    pub environment: BTreeMap<String, String>,
    /// The directory it starts in, inside the container.
    #[serde(default)]
    pub working_directory: Option<String>,
}

/// The properties of a `Pod`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PodProperties {
    /// Its containers by name.
    pub containers: BTreeMap<String, PodContainer>,
    /// The OCI runtime of its containers; Podman's default when `None`.
    #[serde(default)]
    pub runtime: Option<String>,
    /// When its containers are started again.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// Environment variables for every container.
    #[serde(default, deserialize_with = "lenient_string_map")]
    pub environment: BTreeMap<String, String>,
}

impl PropertySet for PodProperties {
    const KIND: TypeKind = TypeKind::Node;
    const TYPE: &'static str = types::POD;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[
        ("containers", "map"),
        ("runtime", "string"),
        ("restart", "RestartPolicy"),
        ("environment", "map"),
    ];
}

/// The properties of a `Port` (and `TCPPort`, `UDPPort`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PortProperties {
    /// TCP or UDP.
    #[serde(default)]
    pub protocol: Protocol,
    /// The port wanted; 0 picks a free one from the host's range.
    #[serde(default)]
    pub port: u16,
    /// The address the port is reached at.
    #[serde(default)]
    pub address: Option<String>,
    /// Who can reach it.
    #[serde(default)]
    pub exposure: Exposure,
    /// For an ingress port: whether Firewalld's permanent configuration gets the opening too
    /// (by default only the running firewall does).
    #[serde(default)]
    pub permanent: bool,
}

impl PropertySet for PortProperties {
    const KIND: TypeKind = TypeKind::Node;
    const TYPE: &'static str = types::PORT;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[
        ("protocol", "Protocol"),
        ("port", "PortNumber"),
        ("address", "string"),
        ("exposure", "Exposure"),
        ("permanent", "boolean"),
    ];
}

/// The properties of an `IPEndpoint` (an endpoint Khutulun does not run).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IpEndpointProperties {
    /// Its address or host name.
    pub address: String,
    /// Its port.
    pub port: u16,
    /// TCP or UDP.
    #[serde(default)]
    pub protocol: Protocol,
}

impl PropertySet for IpEndpointProperties {
    const KIND: TypeKind = TypeKind::Node;
    const TYPE: &'static str = types::IP_ENDPOINT;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[
        ("address", "string"),
        ("port", "PortNumber"),
        ("protocol", "Protocol"),
    ];
}

/// The properties of a `LocalDirectory`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LocalDirectoryProperties {
    /// Where it is; `None` for a directory in the instance's private state.
    #[serde(default)]
    pub path: Option<String>,
    /// Whether it is removed when the instance is deleted.
    #[serde(default)]
    pub temporary: bool,
    /// Its owning user.
    #[serde(default)]
    pub owner: Option<String>,
    /// Its owning group.
    #[serde(default)]
    pub group: Option<String>,
    /// Its permission bits.
    #[serde(default)]
    pub mode: FileMode,
}

impl PropertySet for LocalDirectoryProperties {
    const KIND: TypeKind = TypeKind::Node;
    const TYPE: &'static str = types::LOCAL_DIRECTORY;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[
        ("path", "string"),
        ("temporary", "boolean"),
        ("owner", "string"),
        ("group", "string"),
        ("mode", "FileMode"),
    ];
}

/// The properties of a `NetworkDirectory`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkDirectoryProperties {
    /// What to mount (`sshfs://[user@]server[:port]/path` or `nfs://server[:port]/export`).
    pub source: String,
    /// The mount point; `None` for a directory in the instance's private state.
    #[serde(default)]
    pub path: Option<String>,
    /// Mount options, one per entry.
    #[serde(default, deserialize_with = "lenient_strings")]
    pub options: Vec<String>,
    /// The private key sshfs logs in with.
    #[serde(default)]
    pub identity_file: Option<String>,
}

impl PropertySet for NetworkDirectoryProperties {
    const KIND: TypeKind = TypeKind::Node;
    const TYPE: &'static str = types::NETWORK_DIRECTORY;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[
        ("source", "string"),
        ("path", "string"),
        ("options", "list"),
        ("identity_file", "string"),
    ];
}

/// Where a system container's root filesystem comes from (`SystemImageReference`): exactly one
/// of the three, which the profile's validation already checked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemImageReference {
    /// A root filesystem directory on the host.
    #[serde(default)]
    pub directory: Option<String>,
    /// The name of one of the node's artifacts.
    #[serde(default)]
    pub artifact: Option<String>,
    /// The URL of a root filesystem archive.
    #[serde(default)]
    pub url: Option<String>,
    /// An OCI image reference (distrobox only: its boxes are Podman containers).
    #[serde(default)]
    pub reference: Option<String>,
}

/// The properties of a `SystemContainer`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemContainerProperties {
    /// Its root filesystem.
    pub image: SystemImageReference,
    /// The program and its arguments; empty to boot the container's own init.
    #[serde(default, deserialize_with = "lenient_strings")]
    pub command: Vec<String>,
    /// Environment variables from the template.
    #[serde(default, deserialize_with = "lenient_string_map")]
    pub environment: BTreeMap<String, String>,
    /// Whether writes to the root filesystem are thrown away when it stops.
    #[serde(default)]
    pub ephemeral: bool,
    /// When it is started again.
    #[serde(default)]
    pub restart: RestartPolicy,
}

impl PropertySet for SystemContainerProperties {
    const KIND: TypeKind = TypeKind::Node;
    const TYPE: &'static str = types::SYSTEM_CONTAINER;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[
        ("image", "SystemImageReference"),
        ("command", "list"),
        ("environment", "map"),
        ("ephemeral", "boolean"),
        ("restart", "RestartPolicy"),
    ];
}

/// The properties of a `ConnectsTo` relationship.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectsToProperties {
    /// The environment variables' prefix instead of the requirement's name.
    #[serde(default)]
    pub variable: Option<String>,
}

impl PropertySet for ConnectsToProperties {
    const KIND: TypeKind = TypeKind::Relationship;
    const TYPE: &'static str = types::CONNECTS_TO;
    const PROPERTIES: &'static [(&'static str, &'static str)] = &[("variable", "string")];
}

/// The properties of an `AttachesTo` relationship.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AttachesToProperties {
    /// The environment variable's prefix instead of the requirement's name.
    #[serde(default)]
    pub variable: Option<String>,
    /// Whether the source may only read the directory.
    #[serde(default)]
    pub read_only: bool,
}

impl PropertySet for AttachesToProperties {
    const KIND: TypeKind = TypeKind::Relationship;
    const TYPE: &'static str = types::ATTACHES_TO;
    const PROPERTIES: &'static [(&'static str, &'static str)] =
        &[("variable", "string"), ("read_only", "boolean")];
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::tosca::source::FileId;
    use crate::tosca::value::Value;
    use crate::tosca::yaml;

    /// Every type definition of the profile, by section (`node_types`, …) and name.
    struct Profile {
        sections: BTreeMap<String, BTreeMap<String, Value>>,
    }

    impl Profile {
        fn load() -> Profile {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/khutulun");
            let mut sections: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .expect("profiles/khutulun exists")
                .map(|entry| entry.expect("readable entry").path())
                .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
                .collect();
            files.sort();
            assert!(files.len() > 1, "the profile has several files");
            for (index, path) in files.iter().enumerate() {
                let text = std::fs::read_to_string(path).expect("readable profile file");
                let file = yaml::parse(&text, FileId(index as u32))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(
                    file.get("tosca_definitions_version")
                        .and_then(Value::as_str),
                    Some("tosca_2_0"),
                    "{}",
                    path.display()
                );
                assert_eq!(
                    file.get("profile").and_then(Value::as_str),
                    Some(PROFILE),
                    "{}",
                    path.display()
                );
                for (key, value) in file.as_map().expect("a map") {
                    let key = key.as_str().expect("string keys");
                    if !key.ends_with("_types") {
                        continue;
                    }
                    for (name, definition) in value.as_map().unwrap_or_default() {
                        let name = name.as_str().expect("type names are strings").to_owned();
                        let previous = sections
                            .entry(key.to_owned())
                            .or_default()
                            .insert(name.clone(), definition.clone());
                        assert!(previous.is_none(), "{key} {name} is defined twice");
                    }
                }
            }
            Profile { sections }
        }

        fn definition(&self, section: &str, name: &str) -> Option<&Value> {
            self.sections.get(section)?.get(name)
        }

        /// The type's properties with their definitions, its ancestors' included (the most
        /// derived definition wins).
        fn properties(&self, section: &str, name: &str) -> BTreeMap<String, Value> {
            let mut chain = Vec::new();
            let mut current = Some(name.to_owned());
            while let Some(name) = current {
                let definition = self
                    .definition(section, &name)
                    .unwrap_or_else(|| panic!("{section} {name} is not in the profile"));
                assert!(chain.len() < 32, "{section} {name}: derivation cycle");
                chain.push(definition.clone());
                current = definition
                    .get("derived_from")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            let mut properties = BTreeMap::new();
            for definition in chain.iter().rev() {
                for (key, value) in definition
                    .get("properties")
                    .and_then(Value::as_map)
                    .unwrap_or_default()
                {
                    properties.insert(key.as_str().expect("name").to_owned(), value.clone());
                }
            }
            properties
        }
    }

    #[test]
    fn every_type_name_the_code_uses_is_in_the_profile() {
        let profile = Profile::load();
        let expected = [
            ("node_types", types::ROOT),
            ("node_types", types::WORKLOAD),
            ("node_types", types::PROCESS),
            ("node_types", types::SOFTWARE),
            ("interface_types", types::LIFECYCLE),
            ("node_types", types::SYSTEMD_PROCESS),
            ("node_types", types::CONTAINER),
            ("node_types", types::POD),
            ("node_types", types::SYSTEM_CONTAINER),
            ("node_types", types::VIRTUAL_MACHINE),
            ("node_types", types::LOAD_BALANCER),
            ("node_types", types::ENDPOINT),
            ("node_types", types::IP_ENDPOINT),
            ("node_types", types::PORT),
            ("node_types", types::DIRECTORY),
            ("node_types", types::LOCAL_DIRECTORY),
            ("node_types", types::NETWORK_DIRECTORY),
            ("node_types", types::TCP_PORT),
            ("node_types", types::UDP_PORT),
            ("artifact_types", types::OCI_IMAGE_ARCHIVE),
            ("artifact_types", types::SYSTEM_IMAGE),
            ("relationship_types", types::CONNECTS_TO),
            ("relationship_types", types::ATTACHES_TO),
            ("relationship_types", types::HOSTED_ON),
            ("policy_types", types::DELEGATION),
            ("policy_types", types::REDUNDANCY),
            ("policy_types", types::COLOCATION),
            ("policy_types", types::SEPARATION),
            ("policy_types", types::PLACEMENT),
            ("policy_types", types::DISTRIBUTION),
        ];
        for (section, name) in expected {
            assert!(
                profile.definition(section, name).is_some(),
                "{section} {name} is missing from the profile"
            );
        }
    }

    #[test]
    fn every_parent_type_exists_in_its_section() {
        let profile = Profile::load();
        for (section, definitions) in &profile.sections {
            for (name, definition) in definitions {
                if let Some(parent) = definition.get("derived_from").and_then(Value::as_str) {
                    let builtin = section == "data_types"
                        && [
                            "string", "integer", "float", "boolean", "scalar", "map", "list",
                        ]
                        .contains(&parent);
                    assert!(
                        builtin || profile.definition(section, parent).is_some(),
                        "{section} {name} derives from unknown {parent}"
                    );
                }
            }
        }
    }

    fn check<T: PropertySet>(profile: &Profile) {
        let section = T::KIND.section();
        let declared = profile.properties(section, T::TYPE);
        let serialized = serde_json::to_value(T::default()).expect("serialisable");
        let read: BTreeSet<&str> = serialized
            .as_object()
            .expect("a struct")
            .keys()
            .map(String::as_str)
            .collect();
        let listed: BTreeSet<&str> = T::PROPERTIES.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            read,
            listed,
            "{} PROPERTIES lists what the struct reads",
            T::TYPE
        );
        for (name, tosca_type) in T::PROPERTIES {
            let definition = declared
                .get(*name)
                .unwrap_or_else(|| panic!("{section} {} has no property {name}", T::TYPE));
            assert_eq!(
                definition.get("type").and_then(Value::as_str),
                Some(*tosca_type),
                "{section} {} property {name}",
                T::TYPE
            );
        }
        // The profile's defaults must be values the code can read.
        let defaults: Properties = declared
            .iter()
            .filter_map(|(name, definition)| {
                let default = definition
                    .get("default")
                    .or_else(|| definition.get("value"))?;
                Some((name.clone(), default.to_json()))
            })
            .collect();
        let mut with_required = defaults.clone();
        for (name, definition) in &declared {
            let required = definition
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if required && !with_required.contains_key(name) {
                // A required property without a default: give it a value of its type.
                let sample = match definition.get("type").and_then(Value::as_str) {
                    Some("PortNumber") => serde_json::json!(8080),
                    Some("SystemImageReference") => serde_json::json!({"directory": "/"}),
                    Some("ImageReference") => serde_json::json!({"reference": "sample"}),
                    Some("map") => serde_json::json!({}),
                    _ => serde_json::json!("sample"),
                };
                with_required.insert(name.clone(), sample);
            }
        }
        T::from_properties(&with_required, "test/x-0")
            .unwrap_or_else(|e| panic!("{} defaults {defaults:?}: {e}", T::TYPE));
    }

    #[test]
    fn every_property_set_matches_the_profile() {
        let profile = Profile::load();
        check::<WorkloadProperties>(&profile);
        check::<ProcessProperties>(&profile);
        check::<LoadBalancerProperties>(&profile);
        check::<PortProperties>(&profile);
        check::<IpEndpointProperties>(&profile);
        check::<LocalDirectoryProperties>(&profile);
        check::<NetworkDirectoryProperties>(&profile);
        check::<SystemContainerProperties>(&profile);
        check::<ConnectsToProperties>(&profile);
        check::<AttachesToProperties>(&profile);
        check::<ContainerProperties>(&profile);
        check::<PodProperties>(&profile);
        check::<VirtualMachineProperties>(&profile);
    }

    #[test]
    fn health_check_defaults_are_the_profiles() {
        let profile = Profile::load();
        let declared = profile.properties("data_types", "HealthCheck");
        let defaults: Properties = declared
            .iter()
            .filter_map(|(name, definition)| {
                Some((name.clone(), definition.get("default")?.to_json()))
            })
            .collect();
        assert!(defaults.contains_key("interval"), "{defaults:?}");
        let mut with_profile_defaults = defaults.clone();
        with_profile_defaults.insert("tcp".into(), "127.0.0.1:1".into());
        let mut bare = Properties::new();
        bare.insert("tcp".into(), "127.0.0.1:1".into());
        let read = |properties: Properties| -> HealthCheck {
            serde_json::from_value(serde_json::Value::Object(properties)).unwrap()
        };
        assert_eq!(read(with_profile_defaults), read(bare));
    }

    #[test]
    fn sizes_are_read_in_their_units() {
        assert_eq!(Size::parse("512 MiB"), Some(Size(512 << 20)));
        assert_eq!(Size::parse("2GiB"), Some(Size(2 << 30)));
        assert_eq!(Size::parse("1.5 kB"), Some(Size(1500)));
        assert_eq!(Size::parse("100"), Some(Size(100)));
        assert_eq!(Size::parse("3 parsecs"), None);
        assert_eq!(Size::parse("-1 MiB"), None);
        let read: Size = serde_json::from_value(serde_json::json!(4096)).unwrap();
        assert_eq!(read, Size(4096));
    }

    #[test]
    fn profile_defaults_read_as_the_code_expects() {
        let profile = Profile::load();
        let process = profile.properties("node_types", types::PROCESS);
        let restart: RestartPolicy =
            serde_json::from_value(process["restart"].get("default").unwrap().to_json()).unwrap();
        assert_eq!(restart, RestartPolicy::OnFailure);
        let delay: TimeSpan =
            serde_json::from_value(process["restart_delay"].get("default").unwrap().to_json())
                .unwrap();
        assert_eq!(delay.0, Duration::from_secs(1));
        let directory = profile.properties("node_types", types::LOCAL_DIRECTORY);
        let mode: FileMode =
            serde_json::from_value(directory["mode"].get("default").unwrap().to_json()).unwrap();
        assert_eq!(mode.0, 0o750);
    }

    #[test]
    fn time_spans_read_with_units_or_as_seconds() {
        assert_eq!(
            TimeSpan::parse("500 ms").unwrap().0,
            Duration::from_millis(500)
        );
        assert_eq!(TimeSpan::parse("2s").unwrap().0, Duration::from_secs(2));
        assert_eq!(TimeSpan::parse("1.5 m").unwrap().0, Duration::from_secs(90));
        assert!(TimeSpan::parse("2 fortnights").is_none());
        assert!(TimeSpan::parse("-1 s").is_none());
        let read: TimeSpan = serde_json::from_value(serde_json::json!(3)).unwrap();
        assert_eq!(read.0, Duration::from_secs(3));
    }

    #[test]
    fn restart_policies_follow_systemd() {
        assert!(RestartPolicy::OnFailure.restarts_after(Some(1)));
        assert!(RestartPolicy::OnFailure.restarts_after(None));
        assert!(!RestartPolicy::OnFailure.restarts_after(Some(0)));
        assert!(RestartPolicy::OnAbnormal.restarts_after(None));
        assert!(!RestartPolicy::OnAbnormal.restarts_after(Some(3)));
        assert!(RestartPolicy::OnSuccess.restarts_after(Some(0)));
        assert!(!RestartPolicy::No.restarts_after(None));
        assert!(RestartPolicy::Always.restarts_after(Some(0)));
    }

    #[test]
    fn process_arguments_take_resolved_numbers_as_text() {
        let properties = serde_json::json!({
            "command": "python3",
            "arguments": ["-m", "http.server", 20001],
            "environment": {"GREETING": "hi", "N": 3},
        });
        let read = ProcessProperties::from_properties(properties.as_object().unwrap(), "svc/web-0")
            .unwrap();
        assert_eq!(read.arguments, ["-m", "http.server", "20001"]);
        assert_eq!(read.environment["N"], "3");
        let missing = ProcessProperties::from_properties(&Properties::new(), "svc/web-0");
        let message = missing.unwrap_err().to_string();
        assert!(
            message.contains("svc/web-0") && message.contains("command"),
            "{message}"
        );
    }
}

#[cfg(test)]
mod processor_tests {
    use crate::tosca::loader::{LoadOptions, load, load_text};
    use crate::tosca::problem::Problems;
    use crate::tosca::source::Sources;
    use crate::tosca::types;

    /// Loads a TOSCA file with Khutulun's loader and builds its type registry; the problems.
    fn check(entry: &str, text: Option<&str>) -> (Problems, Sources) {
        let sources = Sources::default();
        let mut problems = Problems::new();
        let loaded = match text {
            Some(text) => load_text(
                entry,
                text,
                &LoadOptions::default(),
                &sources,
                &mut problems,
            ),
            None => load(entry, &LoadOptions::default(), &sources, &mut problems),
        };
        if let Some(loaded) = loaded {
            types::from_loaded(&loaded, &mut problems);
        }
        (problems, sources)
    }

    /// A template that uses every type of the profile as its documentation says.
    const EVERY_TYPE: &str = include_str!("profile_every_type.yaml");

    fn problems_of(text: &str) -> Vec<(String, String)> {
        let report =
            crate::tosca::validate_text("every-type.yaml", text, &crate::tosca::Options::default());
        report
            .problems
            .iter()
            .map(|problem| (problem.code.to_string(), problem.path.to_string()))
            .collect()
    }

    #[test]
    fn a_template_using_every_type_is_valid() {
        assert_eq!(problems_of(EVERY_TYPE), Vec::<(String, String)>::new());
    }

    #[test]
    fn the_profile_refuses_what_the_delegates_could_not_use() {
        let cases = [
            (
                "port: 5353",
                "port: 70000",
                "node_templates.udp.properties.port",
            ),
            (
                "mode: \"0700\"",
                "mode: rwx",
                "node_templates.data.properties.mode",
            ),
            (
                "restart: always",
                "restart: sometimes",
                "node_templates.worker.properties.restart",
            ),
            (
                "restart_delay: 500 ms",
                "restart_delay: 2 fortnights",
                "node_templates.worker.properties.restart_delay",
            ),
            (
                "exposure: published",
                "exposure: public",
                "node_templates.udp.properties.exposure",
            ),
            (
                "permanent: true",
                "permanent: maybe",
                "node_templates.ingress.properties.permanent",
            ),
            (
                "image: { reference: \"localhost/web:1\" }",
                "image: { reference: \"localhost/web:1\", artifact: web }",
                "node_templates.web.properties.image",
            ),
            (
                "hosts: { names: [ alpha, beta ] }",
                "hosts: { names: [ alpha ], count: 2 }",
                "where.properties.hosts",
            ),
            (
                "type: SystemdProcess",
                "type: SystemdProces",
                "node_templates.unit.type",
            ),
        ];
        for (good, bad, path) in cases {
            assert!(EVERY_TYPE.contains(good), "{good}");
            let problems = problems_of(&EVERY_TYPE.replacen(good, bad, 1));
            assert!(
                problems.iter().any(|(_, at)| at.ends_with(path)),
                "{bad}: expected a problem at {path}, got {problems:?}"
            );
        }
    }

    fn profile_entry() -> String {
        format!(
            "{}/profiles/khutulun/profile.yaml",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    #[test]
    fn the_profile_is_valid_tosca_for_our_processor() {
        let (problems, sources) = check(&profile_entry(), None);
        assert!(problems.is_empty(), "{}", problems.render_text(&sources));
    }

    #[test]
    fn a_template_importing_the_built_in_profile_is_valid() {
        let text = "tosca_definitions_version: tosca_2_0\nimports:\n  - profile: khutulun\n";
        let (problems, sources) = check("template.yaml", Some(text));
        assert!(problems.is_empty(), "{}", problems.render_text(&sources));
    }

    #[test]
    fn a_broken_copy_of_the_profile_is_caught_so_the_tests_above_can_fail() {
        let copy = tempfile::tempdir().unwrap();
        let original = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/khutulun");
        for entry in std::fs::read_dir(&original).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.replace("derived_from: Workload", "derived_from: Workloda");
            std::fs::write(copy.path().join(path.file_name().unwrap()), text).unwrap();
        }
        let entry = copy.path().join("profile.yaml");
        let (problems, _) = check(entry.to_str().unwrap(), None);
        assert!(!problems.is_empty());
    }
}
