//! The typed mirror of Khutulun's TOSCA profile (`profiles/khutulun/`).
//!
//! The code dispatches on the type names in [`types`] and reads the property sets below from
//! the JSON values the TOSCA processor produces. The profile and this mirror agree by
//! construction: a test parses the profile's YAML and checks that every name here exists with
//! the properties the structs read.

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
