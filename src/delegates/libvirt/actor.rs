//! The libvirt delegate's actor: it keeps no state of its own (every call finds the domain
//! again by name and metadata) and carries out each call in a run of the helper process
//! ([`helper`](super::helper)) on a task of its own, so a slow call never holds up another
//! instance.

use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::domain::{Accelerator, DomainPlan};
use super::helper::{self, Call, Request};
use super::message::LibvirtMsg;
use crate::delegates::profile::types;
use crate::delegates::protocol::{
    DelegateError, DelegateMsg, ExecSource, InstanceSpec, LogSource, Operation, is_a,
};

/// The URI of the system's QEMU driver, where libvirt runs guests as root.
pub const SYSTEM_URI: &str = "qemu:///system";

/// What the libvirt delegate needs.
#[derive(Clone, Debug)]
pub struct LibvirtConfig {
    /// The libvirt URI ([`SYSTEM_URI`] by default).
    pub uri: String,
    /// How guests run: KVM, or TCG where KVM is missing or does not work.
    pub accelerator: Accelerator,
}

impl Default for LibvirtConfig {
    fn default() -> Self {
        LibvirtConfig {
            uri: SYSTEM_URI.into(),
            accelerator: Accelerator::of_host(),
        }
    }
}

/// The libvirt delegate.
pub struct LibvirtDelegate;

/// How long `delegate list` waits to learn whether libvirt answers.
const CHECK_DEADLINE: Duration = Duration::from_secs(10);

impl Actor for LibvirtDelegate {
    type Msg = LibvirtMsg;
    type State = LibvirtConfig;
    type Arguments = LibvirtConfig;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        config: LibvirtConfig,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(config)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        config: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let config = config.clone();
        match message {
            LibvirtMsg::Lifecycle(message) => {
                tokio::spawn(async move { answer(&config, *message).await });
            }
            LibvirtMsg::Available { reply } => {
                tokio::spawn(async move {
                    let _ = reply.send(ask(&config, Request::Check, CHECK_DEADLINE).await);
                });
            }
        }
        Ok(())
    }
}

/// Runs the helper for `request` within `deadline`.
async fn ask<T: serde::de::DeserializeOwned>(
    config: &LibvirtConfig,
    request: Request,
    deadline: Duration,
) -> Result<T, DelegateError> {
    let call = Call {
        uri: config.uri.clone(),
        accelerator: config.accelerator,
        request,
    };
    helper::run(&call, deadline).await
}

/// Runs the helper for `operation` on `spec` once the spec is known to plan a domain; the
/// helper plans it again on its side (planning is pure).
async fn carry_out<T: serde::de::DeserializeOwned>(
    config: &LibvirtConfig,
    operation: Operation,
    spec: InstanceSpec,
    request: impl FnOnce(Box<InstanceSpec>) -> Request,
) -> Result<T, DelegateError> {
    plan_of(&spec)?;
    ask(
        config,
        request(Box::new(spec)),
        operation.default_deadline(),
    )
    .await
}

/// The plan of a `VirtualMachine` instance; anything else is refused.
fn plan_of(spec: &InstanceSpec) -> Result<DomainPlan, DelegateError> {
    if !is_a(&spec.types, types::VIRTUAL_MACHINE) {
        return Err(DelegateError::NotImplemented(format!(
            "{}: running a {} with libvirt (the libvirt delegate runs VirtualMachine nodes)",
            spec.qualified_name(),
            spec.types.first().map_or("node", |t| t.name.as_str())
        )));
    }
    DomainPlan::of(spec)
}

/// Carries out one lifecycle call and replies.
async fn answer(config: &LibvirtConfig, message: DelegateMsg) {
    match message {
        DelegateMsg::Create { spec, reply } => {
            let _ = reply.send(carry_out(config, Operation::Create, spec, Request::Create).await);
        }
        DelegateMsg::Start { spec, reply, .. } => {
            let _ = reply.send(carry_out(config, Operation::Start, spec, Request::Start).await);
        }
        DelegateMsg::Status {
            spec,
            attributes,
            reply,
        } => {
            let observe = |spec| Request::Observe {
                spec,
                adopt: false,
                recorded: attributes,
            };
            let _ = reply.send(carry_out(config, Operation::Status, spec, observe).await);
        }
        DelegateMsg::Adopt {
            spec,
            attributes,
            reply,
        } => {
            let observe = |spec| Request::Observe {
                spec,
                adopt: true,
                recorded: attributes,
            };
            let _ = reply.send(carry_out(config, Operation::Adopt, spec, observe).await);
        }
        DelegateMsg::Stop { spec, reply, .. } => {
            let _ = reply.send(carry_out(config, Operation::Stop, spec, Request::Stop).await);
        }
        DelegateMsg::Delete { spec, reply, .. } => {
            let _ = reply.send(carry_out(config, Operation::Delete, spec, Request::Delete).await);
        }
        DelegateMsg::Logs { spec, reply, .. } => {
            let _ = reply.send(plan_of(&spec).map(|p| LogSource::File(p.serial_log())));
        }
        DelegateMsg::Exec { spec, reply, .. } => {
            // A guest has no way in from the host that needs nothing inside it.
            let _ = reply.send(plan_of(&spec).map(|_| ExecSource::None));
        }
    }
}
