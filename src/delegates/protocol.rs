//! The contract between the runtime and every delegate.
//!
//! A NodeInstance actor makes its node instance real by sending [`DelegateMsg`]s to the
//! delegate that runs the instance's node type. Which delegate that is comes from
//! [`delegate_for`] (the node type and its ancestors, matched against Khutulun's profile);
//! [`crate::delegates::Delegates::for_kind`] then gives the actor to talk to.
//!
//! The lifecycle, as the runtime drives it (dependencies first on deploy, last on delete):
//!
//! ```text
//!  Create(spec)            → attributes   reserve / prepare (port reserved, directory made)
//!  Start(spec, attributes) → attributes   run it (process started, pid/unit reported)
//!  Status(spec, attributes)→ Observation  is it still there and healthy?
//!  Adopt(spec, attributes) → Observation  after an agent restart: re-attach to what runs
//!  Stop(spec, attributes)  → attributes   stop running it, keep what Create made
//!  Delete(spec, attributes)→ ()           remove everything Create made (idempotent)
//!  Logs(spec, attributes)  → LogSource    where the instance's output goes
//!  Exec(spec, attributes)  → ExecSource   how to run a command in it (`service exec`)
//! ```
//!
//! Attributes are what the delegate reports (e.g. `pid`, `unit`, `address`, `port`, `path`):
//! the runtime stores them after every call that returns them and passes the stored set back on
//! every later call, so a delegate keeps nothing it cannot rebuild from them. Every call is
//! idempotent from the runtime's point of view: `Delete` on something already gone is `Ok`.
//!
//! Calling a delegate, with the helpers here (they turn a dead actor into a
//! [`DelegateError::Unreachable`]):
//!
//! ```no_run
//! # async fn example(delegates: &khutulun::delegates::Delegates,
//! #                  spec: khutulun::delegates::protocol::InstanceSpec)
//! #     -> Result<(), khutulun::delegates::protocol::DelegateError> {
//! use khutulun::delegates::protocol::{self, delegate_for};
//! let kind = delegate_for(&spec.types).expect("a Khutulun node type");
//! let delegate = delegates.for_kind(kind)?;
//! let created = protocol::create(&delegate, spec.clone()).await?;
//! let started = protocol::start(&delegate, spec.clone(), created).await?;
//! println!("pid {:?}", started.get("pid"));
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ractor::{DerivedActorRef, RpcReplyPort};
use serde::{Deserialize, Serialize};

use super::profile::{PROFILE, types};

/// What delegates report about an instance and get back on every later call: JSON values by
/// attribute name, as the TOSCA processor and the store hold them.
pub type Attributes = serde_json::Map<String, serde_json::Value>;

/// The property values of a node instance, evaluated by the TOSCA processor.
pub type Properties = serde_json::Map<String, serde_json::Value>;

/// A TOSCA type by its profile and name: the processor's own [`TypeRef`], re-exported so the
/// runtime and the delegates name types the same way.
pub use crate::tosca::instance::model::TypeRef;

/// Where an artifact's file is: the processor's own [`ArtifactLocation`], re-exported so the
/// delegates read artifacts the way the processor located them.
pub use crate::tosca::instance::model::ArtifactLocation;

impl TypeRef {
    /// A type of Khutulun's own profile.
    pub fn khutulun(name: &str) -> Self {
        TypeRef {
            profile: Some(PROFILE.to_owned()),
            name: name.to_owned(),
        }
    }

    /// Whether this is the Khutulun profile's type `name`.
    pub fn is_khutulun(&self, name: &str) -> bool {
        self.profile.as_deref() == Some(PROFILE) && self.name == name
    }
}

/// Whether any of `types` (a type and its ancestors) is the Khutulun profile's type `name`.
pub fn is_a(types: &[TypeRef], name: &str) -> bool {
    types.iter().any(|t| t.is_khutulun(name))
}

/// One fulfilled requirement of the instance: what it points at and what that target reports.
/// Delegates read these to wire instances together (a process that requires a connection to a
/// port gets `<REQUIREMENT>_HOST` and `<REQUIREMENT>_PORT`; one that requires storage gets the
/// directory's path).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    /// The requirement's name in the source node template (e.g. `connection`, `storage`).
    pub requirement: String,
    /// The target node instance's id (e.g. `web-port-0`).
    pub target: String,
    /// The target's node template name.
    pub target_node: String,
    /// The target's node type and its ancestors, most derived first.
    pub target_types: Vec<TypeRef>,
    /// The target instance's attributes as its delegate reported them (e.g. `address`, `port`,
    /// `path`); the runtime creates targets first, so these are set.
    pub target_attributes: Attributes,
    /// The relationship's type and its ancestors, most derived first (may be empty: delegates
    /// then go by the target's types).
    pub relationship_types: Vec<TypeRef>,
    /// The relationship's evaluated properties (e.g. `variable` to rename an environment variable).
    pub relationship_properties: Properties,
}

/// One of the node's artifacts (a file packed with the template, e.g. an image archive).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// Its artifact type and ancestors, most derived first.
    pub types: Vec<TypeRef>,
    /// `file` as the template wrote it, for messages.
    pub file: String,
    /// Where its file is.
    pub location: ArtifactLocation,
}

/// What a delegate needs to make one node instance real.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// The service's namespace. Absent in specs written before namespaces reached the
    /// delegates: read as the default one.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The deployed service's name.
    pub service: String,
    /// The instance's id within the service (e.g. `web-0`).
    pub instance: String,
    /// The node template's name (e.g. `web`).
    pub node: String,
    /// The node type and its ancestors, most derived first.
    pub types: Vec<TypeRef>,
    /// The instance's evaluated properties.
    pub properties: Properties,
    /// The instance's fulfilled requirements, in template order.
    pub requirements: Vec<Dependency>,
    /// This host's private directory for this instance (log files, pid files); the delegate
    /// creates it when it needs it.
    pub state_dir: PathBuf,
    /// The node's artifacts by name (an image archive a container is made from). Absent in
    /// specs written before artifacts reached the delegates: read as none.
    #[serde(default)]
    pub artifacts: BTreeMap<String, Artifact>,
}

fn default_namespace() -> String {
    crate::state::records::DEFAULT_NAMESPACE.to_owned()
}

impl InstanceSpec {
    /// `namespace/service/instance`, the instance's name in messages and logs, and the key
    /// delegates keep it under (port owners, supervised processes): unique on a host.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.service, self.instance)
    }

    /// The name of the instance's workload outside Khutulun (unit, container, pod); see
    /// [`super::naming`].
    pub fn workload_name(&self) -> String {
        super::naming::workload_name(&self.namespace, &self.service, &self.instance)
    }

    /// Removes the instance's private directory, the last step of a delete (one that is gone
    /// already is fine).
    pub fn remove_state_dir(&self) -> Result<(), DelegateError> {
        match std::fs::remove_dir_all(&self.state_dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(DelegateError::io(
                format!("remove directory {}", self.state_dir.display()),
                e,
            )),
        }
    }
}

/// What a delegate saw when it looked at an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstanceHealth {
    /// It runs (or, for a passive resource such as a port or directory, it exists).
    Running,
    /// It exists but does not run (stopped on purpose, or exited cleanly and not restarted).
    Stopped,
    /// It exists but is broken; the reason is one sentence.
    Failed {
        /// Why, in one sentence.
        reason: String,
    },
    /// Nothing of it is left (process gone, unit gone, directory removed).
    Missing,
    /// It ended and its supervisor is starting it again by itself (e.g. a unit systemd
    /// restarts): not failed, and soon running again.
    Restarting {
        /// How it ended, in one sentence.
        reason: String,
    },
}

/// The answer to [`DelegateMsg::Status`] and [`DelegateMsg::Adopt`]: the health, and the
/// attributes as they are now (a restarted process has a new pid: store these).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// What the delegate saw.
    pub health: InstanceHealth,
    /// The instance's current attributes.
    pub attributes: Attributes,
}

/// Where an instance's output can be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogSource {
    /// A file the workload's standard output and error are appended to.
    File(PathBuf),
    /// A command that prints the workload's output (e.g. `podman logs NAME`), for workloads
    /// whose output is kept by another program.
    Command {
        /// The program, as a name looked up in PATH or a path.
        program: String,
        /// Its arguments to print what was written so far.
        arguments: Vec<String>,
        /// Its arguments to print that and go on printing new output.
        follow_arguments: Vec<String>,
        /// Where, in either list, options in `podman logs`'s spelling go (`--tail N`,
        /// `--since TIME`, `--timestamps`), which the program takes.
        options_at: usize,
    },
    /// The kind of resource has no output (a port, a directory).
    None,
}

/// How a command is run in an instance (`service exec`): the CLI runs it, on the instance's
/// host, with its standard input and output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecSource {
    /// As the workload itself runs: with this whole environment, in this directory.
    Beside {
        /// The environment (PATH, the requirements' variables, the template's own).
        environment: std::collections::BTreeMap<String, String>,
        /// The working directory.
        directory: PathBuf,
    },
    /// Inside it, through a program: `program arguments… COMMAND…` (`podman exec NAME`).
    Inside {
        /// The program, as a name looked up in PATH or a path.
        program: String,
        /// Its arguments before the command.
        arguments: Vec<String>,
        /// Where in `arguments` the CLI adds `--interactive` (and `--tty` when its input is a
        /// terminal), for a program that takes them (`podman exec`).
        interactive_at: Option<usize>,
    },
    /// The kind of resource runs nothing a command could join (a port, a directory).
    None,
}

/// What a command run beside a process keeps of its caller's environment (the process's own
/// environment has no `HOME`, which depends on who runs it).
const KEPT_ENVIRONMENT: [&str; 5] = ["HOME", "USER", "TERM", "LANG", "LOGNAME"];

/// The values in this process's environment of the variables a command run beside a process
/// keeps (`HOME`, `USER`, `TERM`, `LANG`, `LOGNAME`), for [`ExecSource::command`].
pub fn kept_environment() -> Vec<(&'static str, String)> {
    (KEPT_ENVIRONMENT.iter())
        .filter_map(|name| std::env::var(name).ok().map(|value| (*name, value)))
        .collect()
}

/// A command's exit code as a shell gives it: its own, or 128 + the signal that killed it.
pub fn shell_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1)
}

impl ExecSource {
    /// The process that runs `command` (program first) in the instance, with `options` (e.g.
    /// `--interactive`) where the program takes them; `None` when the instance runs nothing
    /// a command can join. Beside a workload, the command gets only the workload's
    /// environment and `kept` of the caller's.
    pub fn command(
        self,
        command: &[String],
        options: &[String],
        kept: &[(&str, String)],
    ) -> Option<std::process::Command> {
        let (program, rest) = command.split_first()?;
        match self {
            ExecSource::Beside {
                environment,
                directory,
            } => {
                let mut process = std::process::Command::new(program);
                process
                    .args(rest)
                    .env_clear()
                    .envs(kept.iter().map(|(name, value)| (*name, value)))
                    .envs(environment)
                    .current_dir(directory);
                Some(process)
            }
            ExecSource::Inside {
                program: through,
                mut arguments,
                interactive_at,
            } => {
                if let Some(at) = interactive_at {
                    arguments.splice(at..at, options.iter().cloned());
                }
                let mut process = std::process::Command::new(through);
                process.args(arguments).args(command);
                Some(process)
            }
            ExecSource::None => None,
        }
    }
}

/// Why a delegate could not do what it was asked; one sentence each, for people.
#[derive(Debug, thiserror::Error)]
pub enum DelegateError {
    /// The instance's properties do not say what the delegate needs.
    #[error("{instance}: {message}")]
    InvalidProperties {
        /// `service/instance`.
        instance: String,
        /// What is wrong with them.
        message: String,
    },
    /// Something the delegate needs on this host is not there (e.g. no systemd user manager).
    #[error("{0}")]
    Unavailable(String),
    /// This kind of resource has no delegate yet.
    #[error("{0} is not implemented yet")]
    NotImplemented(String),
    /// A resource ran out (e.g. no free port left in the configured range).
    #[error("{0}")]
    Exhausted(String),
    /// The operating system refused an operation.
    #[error("could not {action}: {source}")]
    Io {
        /// What was being done, e.g. "create directory /srv/data".
        action: String,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The operation failed for another reason, said in one sentence.
    #[error("{0}")]
    Failed(String),
    /// The delegate actor is gone or did not answer.
    #[error("the delegate ({0}) did not answer")]
    Unreachable(String),
    /// The operation did not finish within its deadline (a hung engine or D-Bus call).
    #[error("{instance}: the {delegate} delegate did not finish {operation} within {} s", .after.as_secs_f64())]
    TimedOut {
        /// `namespace/service/instance`.
        instance: String,
        /// The delegate's name.
        delegate: String,
        /// The operation.
        operation: Operation,
        /// The deadline that passed.
        after: Duration,
    },
}

impl DelegateError {
    /// An [`DelegateError::Io`] for `action`.
    pub fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        DelegateError::Io {
            action: action.into(),
            source,
        }
    }
}

/// The operations of the protocol, named for deadlines and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// [`DelegateMsg::Create`].
    Create,
    /// [`DelegateMsg::Start`].
    Start,
    /// [`DelegateMsg::Status`].
    Status,
    /// [`DelegateMsg::Adopt`].
    Adopt,
    /// [`DelegateMsg::Stop`].
    Stop,
    /// [`DelegateMsg::Delete`].
    Delete,
    /// [`DelegateMsg::Logs`].
    Logs,
    /// [`DelegateMsg::Exec`].
    Exec,
}

impl Operation {
    /// How long the runtime waits for the operation unless the agent is configured shorter:
    /// long enough for what the slowest delegate does for real (loading an image archive,
    /// unpacking a root filesystem, stopping a process that takes its 15 s of grace), short
    /// enough that a hung engine fails its instance instead of stalling it for ever.
    pub fn default_deadline(self) -> Duration {
        let seconds = match self {
            Operation::Create => 300,
            Operation::Start | Operation::Delete => 120,
            Operation::Adopt | Operation::Stop => 60,
            Operation::Status => 30,
            Operation::Logs | Operation::Exec => 10,
        };
        Duration::from_secs(seconds)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Create => "create",
            Operation::Start => "start",
            Operation::Status => "status",
            Operation::Adopt => "adopt",
            Operation::Stop => "stop",
            Operation::Delete => "delete",
            Operation::Logs => "logs",
            Operation::Exec => "exec",
        })
    }
}

/// How long delegate operations may take on this agent: each operation's default, or the
/// agent's cap (`khutulun agent --delegate-timeout`) when that is shorter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deadlines {
    /// The longest any operation may take, if the agent was given one.
    pub cap: Option<Duration>,
}

impl Deadlines {
    /// The deadline of `operation`.
    pub fn of(&self, operation: Operation) -> Duration {
        let default = operation.default_deadline();
        self.cap.map_or(default, |cap| cap.min(default))
    }

    /// Runs `call`, an operation on `spec`'s instance, and turns a missed
    /// deadline into [`DelegateError::TimedOut`] (the call is abandoned; its late answer is
    /// dropped).
    pub async fn bound<T>(
        &self,
        operation: Operation,
        spec: &InstanceSpec,
        call: impl std::future::Future<Output = Result<T, DelegateError>>,
    ) -> Result<T, DelegateError> {
        let after = self.of(operation);
        tokio::time::timeout(after, call)
            .await
            .unwrap_or_else(|_| Err(timed_out(Caller::of(spec), operation, after)))
    }
}

/// Who a call was about, for its timeout's message.
struct Caller {
    /// `namespace/service/instance`.
    instance: String,
    /// The delegate of the instance's type.
    delegate: String,
}

impl Caller {
    fn of(spec: &InstanceSpec) -> Caller {
        Caller {
            instance: spec.qualified_name(),
            delegate: delegate_for(&spec.types)
                .map_or("its", DelegateKind::name)
                .to_owned(),
        }
    }
}

fn timed_out(caller: Caller, operation: Operation, after: Duration) -> DelegateError {
    DelegateError::TimedOut {
        instance: caller.instance,
        delegate: caller.delegate,
        operation,
        after,
    }
}

/// The reply port of a delegate call.
pub type Reply<T> = RpcReplyPort<Result<T, DelegateError>>;

/// The lifecycle messages every delegate answers (see the module documentation for the order).
pub enum DelegateMsg {
    /// Prepare the instance (reserve, create); reply with its attributes.
    Create {
        /// The instance.
        spec: InstanceSpec,
        /// Its attributes after creation.
        reply: Reply<Attributes>,
    },
    /// Run the instance; reply with its attributes (all of them, not only the new ones).
    Start {
        /// The instance.
        spec: InstanceSpec,
        /// What `Create` reported.
        attributes: Attributes,
        /// Its attributes once running.
        reply: Reply<Attributes>,
    },
    /// Look at the instance now.
    Status {
        /// The instance.
        spec: InstanceSpec,
        /// What the runtime stored last.
        attributes: Attributes,
        /// What the delegate saw.
        reply: Reply<Observation>,
    },
    /// Re-attach to an instance started before this agent (re)started: check it is still the
    /// same process/unit/resource and take over supervising it (restarting it per its policy
    /// when it died meanwhile).
    Adopt {
        /// The instance.
        spec: InstanceSpec,
        /// What the runtime stored last.
        attributes: Attributes,
        /// What the delegate found.
        reply: Reply<Observation>,
    },
    /// Stop running the instance but keep what `Create` made; reply with its attributes.
    Stop {
        /// The instance.
        spec: InstanceSpec,
        /// What the runtime stored last.
        attributes: Attributes,
        /// Its attributes once stopped.
        reply: Reply<Attributes>,
    },
    /// Remove everything of the instance (stopping it first if it runs). Already gone is `Ok`.
    Delete {
        /// The instance.
        spec: InstanceSpec,
        /// What the runtime stored last.
        attributes: Attributes,
        /// Done.
        reply: Reply<()>,
    },
    /// Where the instance's output is.
    Logs {
        /// The instance.
        spec: InstanceSpec,
        /// What the runtime stored last.
        attributes: Attributes,
        /// The source to read or follow.
        reply: Reply<LogSource>,
    },
    /// How to run a command in the instance.
    Exec {
        /// The instance.
        spec: InstanceSpec,
        /// What the runtime stored last.
        attributes: Attributes,
        /// How.
        reply: Reply<ExecSource>,
    },
}

impl DelegateMsg {
    /// The instance the operation is on, for a delegate that runs it as another kind (a
    /// load balancer as a process).
    pub fn spec_mut(&mut self) -> &mut InstanceSpec {
        match self {
            DelegateMsg::Create { spec, .. }
            | DelegateMsg::Start { spec, .. }
            | DelegateMsg::Status { spec, .. }
            | DelegateMsg::Adopt { spec, .. }
            | DelegateMsg::Stop { spec, .. }
            | DelegateMsg::Delete { spec, .. }
            | DelegateMsg::Logs { spec, .. }
            | DelegateMsg::Exec { spec, .. } => spec,
        }
    }

    /// Answers the operation with `error` without doing it.
    pub fn refuse(self, error: DelegateError) {
        // Whoever asked may have stopped waiting: nothing to do then.
        match self {
            DelegateMsg::Create { reply, .. }
            | DelegateMsg::Start { reply, .. }
            | DelegateMsg::Stop { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            DelegateMsg::Status { reply, .. } | DelegateMsg::Adopt { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            DelegateMsg::Delete { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            DelegateMsg::Logs { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            DelegateMsg::Exec { reply, .. } => {
                let _ = reply.send(Err(error));
            }
        }
    }
}

// Local only: never sent to another host (ractor's `cluster` feature is on, see Cargo.toml).
impl ractor::Message for DelegateMsg {}

/// A handle to a delegate actor that accepts [`DelegateMsg`] (its own message enum may accept
/// more, for other delegates).
pub type DelegateRef = DerivedActorRef<DelegateMsg>;

/// The delegates Khutulun knows, one actor per kind on every host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DelegateKind {
    /// Bare processes (run as a systemd user unit where a user manager is reachable), and
    /// load balancers (HAProxy, run as a process).
    Process,
    /// Transient systemd user units (used by the process delegate).
    Systemd,
    /// TCP/UDP port reservations and known IP endpoints.
    IpPort,
    /// Local directories, and networked ones mounted for the instances that attach them.
    Directory,
    /// OCI containers and pods with Podman.
    Podman,
    /// OCI containers with Docker.
    Docker,
    /// System containers with systemd-nspawn.
    Nspawn,
    /// System containers with Distrobox.
    Distrobox,
    /// Virtual machines with libvirt.
    Libvirt,
    /// Published and ingress ports opened in Firewalld.
    Firewalld,
}

impl DelegateKind {
    /// Every kind, in a stable order (for `khutulun delegate list`).
    pub const ALL: [DelegateKind; 10] = [
        DelegateKind::Process,
        DelegateKind::Systemd,
        DelegateKind::IpPort,
        DelegateKind::Directory,
        DelegateKind::Podman,
        DelegateKind::Docker,
        DelegateKind::Nspawn,
        DelegateKind::Distrobox,
        DelegateKind::Libvirt,
        DelegateKind::Firewalld,
    ];

    /// The kind's name, as the Delegation policy's `delegate` property spells it.
    pub fn name(self) -> &'static str {
        match self {
            DelegateKind::Process => "process",
            DelegateKind::Systemd => "systemd",
            DelegateKind::IpPort => "ipport",
            DelegateKind::Directory => "directory",
            DelegateKind::Podman => "podman",
            DelegateKind::Docker => "docker",
            DelegateKind::Nspawn => "nspawn",
            DelegateKind::Distrobox => "distrobox",
            DelegateKind::Libvirt => "libvirt",
            DelegateKind::Firewalld => "firewalld",
        }
    }
}

impl fmt::Display for DelegateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A delegate name that Khutulun does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "there is no delegate named {0:?} (known: process, systemd, ipport, directory, podman, docker, nspawn, distrobox, libvirt, firewalld)"
)]
pub struct UnknownDelegate(pub String);

impl FromStr for DelegateKind {
    type Err = UnknownDelegate;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DelegateKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| UnknownDelegate(s.to_owned()))
    }
}

/// Which delegate runs a node of these types (the node type and its ancestors, most derived
/// first), or `None` when none of them is a Khutulun type that a delegate runs (an abstract type
/// such as `Root`, or a type from another profile). A Delegation policy may override the answer.
pub fn delegate_for(types: &[TypeRef]) -> Option<DelegateKind> {
    types.iter().find_map(|t| {
        if t.profile.as_deref() != Some(PROFILE) {
            return None;
        }
        let kind = match t.name.as_str() {
            types::PROCESS | types::SYSTEMD_PROCESS | types::LOAD_BALANCER => DelegateKind::Process,
            types::PORT | types::IP_ENDPOINT => DelegateKind::IpPort,
            types::LOCAL_DIRECTORY | types::NETWORK_DIRECTORY => DelegateKind::Directory,
            types::CONTAINER | types::POD => DelegateKind::Podman,
            types::SYSTEM_CONTAINER => DelegateKind::Nspawn,
            types::VIRTUAL_MACHINE => DelegateKind::Libvirt,
            _ => return None,
        };
        Some(kind)
    })
}

fn unreachable(delegate: &DelegateRef) -> DelegateError {
    DelegateError::Unreachable(
        delegate
            .get_name()
            .unwrap_or_else(|| format!("actor {}", delegate.get_id())),
    )
}

/// Sends one operation and waits for its answer, at most the operation's default deadline:
/// no caller of these helpers can hang on a delegate.
async fn call<T: Send + 'static>(
    delegate: &DelegateRef,
    operation: Operation,
    caller: Caller,
    build: impl FnOnce(Reply<T>) -> DelegateMsg,
) -> Result<T, DelegateError> {
    let after = operation.default_deadline();
    match delegate.call(build, Some(after)).await {
        Ok(ractor::rpc::CallResult::Success(result)) => result,
        Ok(ractor::rpc::CallResult::Timeout) => Err(timed_out(caller, operation, after)),
        Ok(_) | Err(_) => Err(unreachable(delegate)),
    }
}

/// Sends [`DelegateMsg::Create`] and waits for the answer.
pub async fn create(
    delegate: &DelegateRef,
    spec: InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let caller = Caller::of(&spec);
    call(delegate, Operation::Create, caller, |reply| {
        DelegateMsg::Create { spec, reply }
    })
    .await
}

/// Sends [`DelegateMsg::Start`] and waits for the answer.
pub async fn start(
    delegate: &DelegateRef,
    spec: InstanceSpec,
    attributes: Attributes,
) -> Result<Attributes, DelegateError> {
    let caller = Caller::of(&spec);
    call(delegate, Operation::Start, caller, |reply| {
        DelegateMsg::Start {
            spec,
            attributes,
            reply,
        }
    })
    .await
}

/// Sends [`DelegateMsg::Status`] and waits for the answer.
pub async fn status(
    delegate: &DelegateRef,
    spec: InstanceSpec,
    attributes: Attributes,
) -> Result<Observation, DelegateError> {
    let caller = Caller::of(&spec);
    call(delegate, Operation::Status, caller, |reply| {
        DelegateMsg::Status {
            spec,
            attributes,
            reply,
        }
    })
    .await
}

/// Sends [`DelegateMsg::Adopt`] and waits for the answer.
pub async fn adopt(
    delegate: &DelegateRef,
    spec: InstanceSpec,
    attributes: Attributes,
) -> Result<Observation, DelegateError> {
    let caller = Caller::of(&spec);
    call(delegate, Operation::Adopt, caller, |reply| {
        DelegateMsg::Adopt {
            spec,
            attributes,
            reply,
        }
    })
    .await
}

/// Sends [`DelegateMsg::Stop`] and waits for the answer.
pub async fn stop(
    delegate: &DelegateRef,
    spec: InstanceSpec,
    attributes: Attributes,
) -> Result<Attributes, DelegateError> {
    let caller = Caller::of(&spec);
    call(delegate, Operation::Stop, caller, |reply| {
        DelegateMsg::Stop {
            spec,
            attributes,
            reply,
        }
    })
    .await
}

/// Sends [`DelegateMsg::Delete`] and waits for the answer.
pub async fn delete(
    delegate: &DelegateRef,
    spec: InstanceSpec,
    attributes: Attributes,
) -> Result<(), DelegateError> {
    let caller = Caller::of(&spec);
    call(delegate, Operation::Delete, caller, |reply| {
        DelegateMsg::Delete {
            spec,
            attributes,
            reply,
        }
    })
    .await
}

/// Sends [`DelegateMsg::Logs`] and waits for the answer.
pub async fn logs(
    delegate: &DelegateRef,
    spec: InstanceSpec,
    attributes: Attributes,
) -> Result<LogSource, DelegateError> {
    let caller = Caller::of(&spec);
    call(delegate, Operation::Logs, caller, |reply| {
        DelegateMsg::Logs {
            spec,
            attributes,
            reply,
        }
    })
    .await
}

/// Sends [`DelegateMsg::Exec`] and waits for the answer.
pub async fn exec(
    delegate: &DelegateRef,
    spec: InstanceSpec,
    attributes: Attributes,
) -> Result<ExecSource, DelegateError> {
    let caller = Caller::of(&spec);
    call(delegate, Operation::Exec, caller, |reply| {
        DelegateMsg::Exec {
            spec,
            attributes,
            reply,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(names: &[&str]) -> Vec<TypeRef> {
        names.iter().map(|n| TypeRef::khutulun(n)).collect()
    }

    #[test]
    fn the_most_derived_khutulun_type_decides() {
        assert_eq!(
            delegate_for(&chain(&["Process", "Workload", "Root"])),
            Some(DelegateKind::Process)
        );
        assert_eq!(
            delegate_for(&chain(&["Port", "Endpoint", "Root"])),
            Some(DelegateKind::IpPort)
        );
        assert_eq!(
            delegate_for(&chain(&["LocalDirectory", "Directory", "Root"])),
            Some(DelegateKind::Directory)
        );
    }

    #[test]
    fn a_template_type_derived_from_a_khutulun_type_uses_its_ancestor() {
        let mut types = vec![TypeRef {
            profile: None,
            name: "WebServer".into(),
        }];
        types.extend(chain(&["SystemdProcess", "Process", "Workload", "Root"]));
        assert_eq!(delegate_for(&types), Some(DelegateKind::Process));
    }

    #[test]
    fn abstract_and_foreign_types_have_no_delegate() {
        assert_eq!(delegate_for(&chain(&["Workload", "Root"])), None);
        let foreign = vec![TypeRef {
            profile: Some("other".into()),
            name: "Process".into(),
        }];
        assert_eq!(delegate_for(&foreign), None);
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in DelegateKind::ALL {
            assert_eq!(kind.name().parse::<DelegateKind>(), Ok(kind));
        }
        assert!("kubernetes".parse::<DelegateKind>().is_err());
    }
}
