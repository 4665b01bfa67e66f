//! The typed messages of the control channel: a [`Request`] with its token in, a
//! [`Reply`] out, each one JSON document on one line.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::state::MemberState;
use crate::state::records::{
    Health, HostRecord, InstanceState, OnFailure, RegistryEntry, ServicePhase,
};

/// What travels from the CLI to the agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The secret from the agent's token file.
    pub token: String,
    /// What is asked.
    pub request: Request,
}

/// What the CLI can ask the agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Is the agent there? Answered with [`Response::Pong`].
    Ping,
    /// Compile a template and deploy it as a new service.
    Deploy {
        /// The template: an absolute path to a YAML file or CSAR, or a registered template's
        /// `namespace/name`.
        template: String,
        /// The service's namespace.
        namespace: String,
        /// The service's name.
        name: String,
        /// Input values by name.
        inputs: IndexMap<String, serde_json::Value>,
        /// What a failed deploy leaves behind.
        #[serde(default)]
        on_failure: OnFailure,
    },
    /// Delete a service: its instances, then its records. Refused while other services select
    /// its node instances, unless `force`.
    Delete {
        /// The namespace.
        namespace: String,
        /// The service.
        name: String,
        /// Delete even when other services select its node instances (they then point at
        /// nothing).
        #[serde(default)]
        force: bool,
    },
    /// The services of one namespace, or of all of them.
    ListServices {
        /// The namespace; every namespace when absent.
        #[serde(default)]
        namespace: Option<String>,
    },
    /// One service's last changes of state, oldest first.
    Events {
        /// The namespace.
        namespace: String,
        /// The service.
        name: String,
    },
    /// Update a service to a template: only the instances whose definition changed are made
    /// again, one after another (`max_parallel` at once), each once ready; the update rolls
    /// back when one fails.
    Update {
        /// The template, as for a deploy.
        template: String,
        /// The service's namespace.
        namespace: String,
        /// The service.
        name: String,
        /// Input values by name.
        inputs: IndexMap<String, serde_json::Value>,
        /// How many instances are made again at once.
        max_parallel: u32,
    },
    /// What updating a service to a template would change, without changing it.
    Plan {
        /// The template, as for a deploy.
        template: String,
        /// The service's namespace.
        namespace: String,
        /// The service.
        name: String,
        /// Input values by name.
        inputs: IndexMap<String, serde_json::Value>,
    },
    /// One service's instances and outputs.
    Status {
        /// The namespace.
        namespace: String,
        /// The service.
        name: String,
    },
    /// One service's status once it differs from `after` (a version an earlier answer gave),
    /// or after a second without change: the agent pushes changes, the CLI does not poll.
    Watch {
        /// The namespace.
        namespace: String,
        /// The service.
        name: String,
        /// The version last seen (0: none).
        after: u64,
    },
    /// Stop, start or restart a service's instances on their hosts (or one of them).
    Control {
        /// The namespace.
        namespace: String,
        /// The service.
        name: String,
        /// What to do.
        action: InstanceAction,
        /// One instance, or all.
        instance: Option<String>,
        /// Answer once it is done (else at once).
        wait: bool,
    },
    /// Where a service's instances write their output.
    Logs {
        /// The namespace.
        namespace: String,
        /// The service.
        name: String,
        /// One instance, or all.
        instance: Option<String>,
    },
    /// How to run a command in one instance (on this host).
    Exec {
        /// The namespace.
        namespace: String,
        /// The service.
        name: String,
        /// The instance.
        instance: String,
    },
    /// Run a command in an instance on another host (the answer to [`Request::Exec`] said
    /// where): that host runs it and sends back its output and exit code.
    ExecThere(ExecAsk),
    /// Register a template or profile from a file or CSAR (the agent reads it).
    Register {
        /// Templates or profiles.
        kind: crate::state::RegistryKind,
        /// An absolute path.
        path: PathBuf,
        /// The namespace.
        namespace: String,
        /// The name to register it under.
        name: String,
    },
    /// Every entry of a registry.
    ListRegistry {
        /// Which registry.
        kind: crate::state::RegistryKind,
    },
    /// Remove a registry entry.
    Delist {
        /// Which registry.
        kind: crate::state::RegistryKind,
        /// The namespace.
        namespace: String,
        /// The name.
        name: String,
    },
    /// Every host of the cluster.
    ListHosts,
    /// This host leaves the cluster: drained, then once its instances run elsewhere, its
    /// records removed and its agent stopped.
    Leave,
    /// Moves every instance off a host and keeps new ones away (`drained: false` undoes it).
    DrainHost {
        /// The host.
        name: String,
        /// Drain, or take instances again.
        drained: bool,
    },
    /// The delegates of this host.
    ListDelegates,
}

/// One host as `host list` shows it: its record in the store and how the answering host's
/// membership sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostSummary {
    /// The host's record.
    #[serde(flatten)]
    pub record: HostRecord,
    /// Alive, suspect or down as membership sees it; unknown when membership has not heard of
    /// it (or the answering agent runs without `--listen`).
    pub membership: MemberState,
    /// Which life of the host's agent membership knows (see `HostIdentity`), when it knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// When the answering host last saw it come up or go down (RFC 3339), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// How many instances the services' plans place on it.
    #[serde(default)]
    pub instances: u32,
    /// Whether the answering host has an authenticated session with it, so host-to-host
    /// messages reach it (always, for itself).
    #[serde(default)]
    pub linked: bool,
}

/// What the agent answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum Response {
    /// The agent is there.
    Pong {
        /// Its host name.
        host: String,
        /// Its version.
        version: String,
    },
    /// A service was recorded and its instances are being made real.
    Deployed {
        /// Its status right after recording.
        status: ServiceStatus,
    },
    /// Deletion has started; the service disappears when its instances are gone.
    Deleting {
        /// The other services' nodes that selected the service's instances and now point at
        /// nothing (only when deletion was forced).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        orphaned: Vec<Selection>,
    },
    /// Every service.
    Services {
        /// One line each.
        services: Vec<ServiceSummary>,
    },
    /// One service.
    Status {
        /// Its status.
        status: ServiceStatus,
    },
    /// The instances a stop, start or restart applied to (done, when it was waited for).
    Controlled {
        /// Their ids.
        instances: Vec<String>,
    },
    /// One service as it changed.
    Watched {
        /// Its status.
        status: ServiceStatus,
        /// Its version: ask again with it to hear of the next change.
        version: u64,
    },
    /// A service's last changes of state, oldest first.
    Events {
        /// Each instance's (at most 20 each).
        events: Vec<ServiceEvent>,
    },
    /// An update began (nothing to do when the difference is empty): what it adds, changes
    /// and removes.
    Updating {
        /// Instance by instance.
        diff: crate::tosca::instance::diff::InstantiationDiff,
    },
    /// What an update would add, change and remove.
    Planned {
        /// Instance by instance.
        diff: crate::tosca::instance::diff::InstantiationDiff,
    },
    /// How to run a command in an instance: the CLI runs it.
    Exec {
        /// How.
        how: crate::delegates::protocol::ExecSource,
    },
    /// The instance runs on another host: ask again with [`Request::ExecThere`].
    ExecElsewhere {
        /// Its host.
        host: String,
    },
    /// A command run on another host ended.
    Executed(Executed),
    /// Log files by instance.
    Logs {
        /// One per instance whose output is in a file.
        logs: Vec<LogFile>,
        /// One per instance whose output a command prints (a container's).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        commands: Vec<LogCommand>,
        /// One per instance on another host: the end of its output so far, sent by that host.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        output: Vec<LogOutput>,
        /// Why the output of some instances is missing (their host did not answer).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        missing: Vec<String>,
    },
    /// A registry entry was written.
    Registered {
        /// The entry.
        entry: RegistryEntry,
    },
    /// Registry entries.
    Registry {
        /// The entries.
        entries: Vec<RegistryEntry>,
    },
    /// A registry entry was removed.
    Delisted,
    /// A host was drained or undrained.
    Drained,
    /// This host left the cluster; its agent stops now.
    Left,
    /// Every host.
    Hosts {
        /// One per host record, with its membership state.
        hosts: Vec<HostSummary>,
    },
    /// This host's delegates.
    Delegates {
        /// One per known kind.
        delegates: Vec<DelegateSummary>,
    },
}

/// A node of one service that stands for a node instance of another (a `select` directive's
/// choice), so the other service cannot go without leaving it pointing at nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The selecting service.
    pub service: String,
    /// Its node instance that stands for the selected one.
    pub instance: String,
    /// The selected instance, in the service being deleted.
    pub selects: String,
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} (selecting {})",
            self.instance, self.service, self.selects
        )
    }
}

/// Why a request failed: one sentence (or the TOSCA processor's rendering of its problems).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// What kind of failure, for exit codes and scripts.
    pub kind: FailureKind,
    /// For people.
    pub message: String,
}

/// The kinds of [`Failure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The token was wrong.
    Unauthorized,
    /// The request could not be understood.
    BadRequest,
    /// The template or its inputs are wrong.
    InvalidTemplate,
    /// What was asked about does not exist.
    NotFound,
    /// It exists already.
    Conflict,
    /// The agent or the store failed.
    Internal,
}

/// The agent's answer to one request.
pub type Reply = Result<Response, Failure>;

/// One row of `service list`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceSummary {
    /// The namespace.
    pub namespace: String,
    /// The service.
    pub name: String,
    /// Active or deleting; absent when its records cannot be read (see `problem`).
    pub phase: Option<ServicePhase>,
    /// Why its records cannot be read (with the file's path); absent when they can. One
    /// unreadable service never hides the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Where it came from.
    pub template: String,
    /// How many instances.
    pub instances: usize,
    /// How many of them run.
    pub running: usize,
    /// How many failed.
    pub failed: usize,
}

/// What `service stop|start|restart` asks of instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceAction {
    /// Stop them, keeping what they have; they stay stopped until started.
    Stop,
    /// Start stopped ones again.
    Start,
    /// Stop them, then start them again.
    Restart,
}

/// `service status`: the service, its instances and its outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// The service.
    pub name: String,
    /// The namespace.
    pub namespace: String,
    /// Active, deleting or failed.
    pub phase: ServicePhase,
    /// Why its deploy failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What a failed deploy leaves behind.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// The update under way: `updating`, or `rolling back: <why it failed>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
    /// Its instances, dependencies first.
    pub instances: Vec<InstanceStatus>,
    /// Output values by name (an output that cannot be evaluated yet is `null`).
    pub outputs: IndexMap<String, serde_json::Value>,
}

/// One instance in [`ServiceStatus`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// The instance id.
    pub id: String,
    /// Its node template.
    pub node: String,
    /// Its host.
    pub host: String,
    /// Why the scheduler put it on that host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<String>,
    /// Its host is down as the answering agent sees it: the recorded state may no longer hold
    /// (until a failover moves the instance, or the host returns).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_down: bool,
    /// Where it is in its life.
    pub state: InstanceState,
    /// What its health checks concluded, when its node has checks and it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// What its delegate reported.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it entered its state (RFC 3339), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Its workload started so recently that its agent has not yet seen it keep running for
    /// its settle time: a deploy or an update waits for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub settling: bool,
}

impl InstanceStatus {
    /// Whether it is as a deploy wants it: running, and healthy if it has health checks.
    pub fn is_ready(&self) -> bool {
        let healthy = self.health.is_none_or(|h| h == Health::Healthy);
        self.state == InstanceState::Running && healthy && !self.settling
    }
}

/// An instance's state as people read it: a running instance with health checks says what
/// they found (`unhealthy`, `running (healthy)`, `running (health unknown)`).
pub fn state_label(state: InstanceState, health: Option<Health>) -> String {
    match (state, health) {
        (InstanceState::Running, Some(Health::Unhealthy)) => "unhealthy".into(),
        (InstanceState::Running, Some(health)) => format!("running ({})", health.name()),
        (state, _) => state.to_string(),
    }
}

/// Where one instance's output is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogFile {
    /// The instance.
    pub instance: String,
    /// The file its output is appended to.
    pub path: PathBuf,
}

/// One change of an instance's state, for `service events`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceEvent {
    /// When (RFC 3339).
    pub at: String,
    /// The instance.
    pub instance: String,
    /// Its host now.
    pub host: String,
    /// The state it entered.
    pub state: InstanceState,
    /// Its health then, when it has health checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Why, when something said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A command to run in an instance on another host, with its input. Input and output
/// travel as base64 (they may be any bytes), each at most [`EXEC_CAP`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecAsk {
    /// The namespace.
    pub namespace: String,
    /// The service.
    pub name: String,
    /// The instance.
    pub instance: String,
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Its whole input, base64.
    #[serde(default)]
    pub input: String,
}

/// The most input a command run on another host is given, and the most of each of its
/// outputs sent back (what is past it is counted, not sent).
pub const EXEC_CAP: usize = 256 * 1024;

/// How a command run on another host ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Executed {
    /// The host that ran it.
    pub host: String,
    /// Its exit code, as a shell gives it (128 + the signal that killed it).
    pub code: i32,
    /// Its output, base64 (at most [`EXEC_CAP`] bytes).
    pub stdout: String,
    /// Its error output, base64 (at most [`EXEC_CAP`] bytes).
    pub stderr: String,
    /// How many bytes of output and error output were left out past the cap.
    #[serde(default)]
    pub left_out: u64,
}

/// The end of one instance's output so far, as its host sent it (the instance runs elsewhere).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogOutput {
    /// The instance.
    pub instance: String,
    /// Its host.
    pub host: String,
    /// Its output (at most the last 256 KiB).
    pub text: String,
}

/// A command that prints one instance's output (e.g. `podman logs NAME`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogCommand {
    /// The instance.
    pub instance: String,
    /// The program.
    pub program: String,
    /// Its arguments to print the output so far.
    pub arguments: Vec<String>,
    /// Its arguments to print that and go on printing new output.
    pub follow_arguments: Vec<String>,
    /// Where, in either list, `--tail N`, `--since TIME` and `--timestamps` go.
    pub options_at: usize,
}

/// One row of `delegate list`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DelegateSummary {
    /// The delegate's name.
    pub name: String,
    /// Whether it can work on this host (its actor runs and what it needs answers).
    pub running: bool,
    /// When it cannot, what is missing, in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
