//! What the Host actor is asked: one message per request of the control channel (translated
//! from the wire by [`HostMsg::of_request`]), each with where its answer goes, and the
//! messages its own tasks send back.

use std::path::PathBuf;

use indexmap::IndexMap;
use ractor::RpcReplyPort;

use crate::control::protocol::{InstanceAction, Reply, Request};
use crate::state::RegistryKind;
use crate::state::records::OnFailure;

use super::super::RuntimeError;
use super::deploy::Prepared;

/// Where a request's answer goes.
pub type Answer = RpcReplyPort<Reply>;

/// The Host actor's messages.
pub enum HostMsg {
    /// Time to read the plans for services with instances here (see `host/catch_up.rs`).
    CatchUp,
    /// What the plans said (`None`: they could not be read this time).
    CaughtUp(Option<Vec<super::catch_up::News>>),
    /// Another host changed a plan this host may have a part in: read the plans now.
    Nudged,
    /// Another host asks for this host's part of a service (never passed on further).
    Part {
        /// What it asks.
        part: crate::actors::peer::Part,
        /// The answer, for this host's instances only.
        reply: Answer,
    },
    /// Is the agent there?
    Ping {
        /// This host's name and version.
        reply: Answer,
    },
    /// Compile a template and deploy it as a new service.
    Deploy {
        /// The deploy as asked.
        deploy: super::deploy::Deploy,
        /// The new service's status.
        reply: Answer,
    },
    /// `service plan`: what updating a service to a template would change.
    Plan {
        /// The template, service and inputs, as a deploy would take them.
        deploy: super::deploy::Deploy,
        /// What would change.
        reply: Answer,
    },
    /// A deploy's template was compiled beside the Host: record the service and start it.
    Compiled {
        /// The new service's records, or why there are none.
        prepared: Box<Result<Prepared, RuntimeError>>,
        /// The deploy's answer.
        reply: Answer,
    },
    /// `service update`: compile the template beside the Host and begin the update.
    Update {
        /// The template, service and inputs, as a deploy would take them.
        deploy: super::deploy::Deploy,
        /// How many instances are made again at once.
        max_parallel: u32,
        /// What the update changes.
        reply: Answer,
    },
    /// An update's template was compiled beside the Host: record it and restart the service's
    /// actor on it.
    UpdateCompiled {
        /// The update's records, or why there are none.
        prepared: Box<Result<super::update::PreparedUpdate, RuntimeError>>,
        /// The update's answer.
        reply: Answer,
    },
    /// Delete a service (refused while others select it, unless `force`).
    Delete {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Delete even when other services select its nodes.
        force: bool,
        /// Those that selected them.
        reply: Answer,
    },
    /// The services of a namespace, or of all.
    ListServices {
        /// The namespace; `None` for all.
        namespace: Option<String>,
        /// One summary per service.
        reply: Answer,
    },
    /// One service's last changes of state.
    Events {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Its events.
        reply: Answer,
    },
    /// One service's status.
    Status {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Its status.
        reply: Answer,
    },
    /// One service's status once it changed since version `after`.
    Watch {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The version last seen.
        after: u64,
        /// Its status and version.
        reply: Answer,
    },
    /// Stop, start or restart a service's instances (or one of them).
    Control {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What to do.
        action: InstanceAction,
        /// One instance, or all.
        instance: Option<String>,
        /// Answer once done.
        wait: bool,
        /// The instances it applied to.
        reply: Answer,
    },
    /// Where a service's instances (or one of them) write their output.
    Logs {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// One instance, or all.
        instance: Option<String>,
        /// The log files and commands.
        reply: Answer,
    },
    /// How a command runs in one instance of a service here.
    Exec {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The instance.
        instance: String,
        /// How.
        reply: Answer,
    },
    /// Run a command in an instance of a service on another host, through that host.
    ExecThere {
        /// What to run, where.
        ask: crate::control::protocol::ExecAsk,
        /// How it ended.
        reply: Answer,
    },
    /// Register a template, profile or delegate.
    Register {
        /// Which registry.
        kind: RegistryKind,
        /// The file or CSAR.
        path: PathBuf,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Done.
        reply: Answer,
    },
    /// The entries of a registry.
    ListRegistry {
        /// Which registry.
        kind: RegistryKind,
        /// Its entries.
        reply: Answer,
    },
    /// Remove a registry entry.
    Delist {
        /// Which registry.
        kind: RegistryKind,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Done.
        reply: Answer,
    },
    /// This host leaves the cluster.
    Leave {
        /// Done: it left and its agent stops.
        reply: Answer,
    },
    /// Drain a host, or undrain it.
    DrainHost {
        /// The host.
        name: String,
        /// Drain, or take instances again.
        drained: bool,
        /// Done.
        reply: Answer,
    },
    /// The cluster's hosts as this one sees them.
    ListHosts {
        /// One row per host.
        reply: Answer,
    },
    /// Which delegates can work on this host.
    ListDelegates {
        /// One row per delegate.
        reply: Answer,
    },
}

impl HostMsg {
    /// The message that carries out a request of the control channel.
    pub fn of_request(request: Request, reply: Answer) -> HostMsg {
        match request {
            Request::Ping => HostMsg::Ping { reply },
            Request::Deploy {
                template,
                namespace,
                name,
                inputs,
                on_failure,
            } => HostMsg::Deploy {
                deploy: deploy(template, namespace, name, inputs, on_failure),
                reply,
            },
            Request::Delete {
                namespace,
                name,
                force,
            } => HostMsg::Delete {
                namespace,
                name,
                force,
                reply,
            },
            Request::ListServices { namespace } => HostMsg::ListServices { namespace, reply },
            Request::Events { namespace, name } => HostMsg::Events {
                namespace,
                name,
                reply,
            },
            Request::Status { namespace, name } => HostMsg::Status {
                namespace,
                name,
                reply,
            },
            Request::Watch {
                namespace,
                name,
                after,
            } => HostMsg::Watch {
                namespace,
                name,
                after,
                reply,
            },
            Request::Control {
                namespace,
                name,
                action,
                instance,
                wait,
            } => HostMsg::Control {
                namespace,
                name,
                action,
                instance,
                wait,
                reply,
            },
            Request::Logs {
                namespace,
                name,
                instance,
            } => HostMsg::Logs {
                namespace,
                name,
                instance,
                reply,
            },
            Request::Exec {
                namespace,
                name,
                instance,
            } => HostMsg::Exec {
                namespace,
                name,
                instance,
                reply,
            },
            Request::ExecThere(ask) => HostMsg::ExecThere { ask, reply },
            Request::Register {
                kind,
                path,
                namespace,
                name,
            } => HostMsg::Register {
                kind,
                path,
                namespace,
                name,
                reply,
            },
            Request::ListRegistry { kind } => HostMsg::ListRegistry { kind, reply },
            Request::Delist {
                kind,
                namespace,
                name,
            } => HostMsg::Delist {
                kind,
                namespace,
                name,
                reply,
            },
            Request::ListHosts => HostMsg::ListHosts { reply },
            Request::Leave => HostMsg::Leave { reply },
            Request::DrainHost { name, drained } => HostMsg::DrainHost {
                name,
                drained,
                reply,
            },
            Request::ListDelegates => HostMsg::ListDelegates { reply },
            Request::Update {
                template,
                namespace,
                name,
                inputs,
                max_parallel,
            } => HostMsg::Update {
                deploy: deploy(template, namespace, name, inputs, OnFailure::default()),
                max_parallel,
                reply,
            },
            Request::Plan {
                template,
                namespace,
                name,
                inputs,
            } => HostMsg::Plan {
                deploy: deploy(template, namespace, name, inputs, OnFailure::default()),
                reply,
            },
        }
    }
}

fn deploy(
    template: String,
    namespace: String,
    name: String,
    inputs: IndexMap<String, serde_json::Value>,
    on_failure: OnFailure,
) -> super::deploy::Deploy {
    super::deploy::Deploy {
        template,
        namespace,
        name,
        inputs,
        on_failure,
    }
}

// Local only: never sent to another host.
impl ractor::Message for HostMsg {}
