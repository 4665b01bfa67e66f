//! The libvirt delegate's actor: it keeps no state of its own (every call finds the domain
//! again by name and metadata) and runs each call on a blocking thread, since the libvirt
//! library blocks; a slow call never holds up another instance.

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::domain::{Accelerator, DomainPlan};
use super::lifecycle::{self, Hypervisor};
use super::message::LibvirtMsg;
use crate::delegates::profile::types;
use crate::delegates::protocol::{
    DelegateError, DelegateMsg, ExecSource, InstanceSpec, LogSource, is_a,
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

impl Actor for LibvirtDelegate {
    type Msg = LibvirtMsg;
    type State = Hypervisor;
    type Arguments = LibvirtConfig;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        config: LibvirtConfig,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(Hypervisor {
            uri: config.uri,
            accelerator: config.accelerator,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        hypervisor: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let hypervisor = hypervisor.clone();
        match message {
            LibvirtMsg::Lifecycle(message) => {
                tokio::task::spawn_blocking(move || answer(&hypervisor, *message));
            }
            LibvirtMsg::Available { reply } => {
                tokio::task::spawn_blocking(move || {
                    let _ = reply.send(hypervisor.check());
                });
            }
        }
        Ok(())
    }
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
fn answer(hypervisor: &Hypervisor, message: DelegateMsg) {
    match message {
        DelegateMsg::Create { spec, reply } => {
            let _ = reply.send(plan_of(&spec).and_then(|p| lifecycle::create(hypervisor, &p)));
        }
        DelegateMsg::Start { spec, reply, .. } => {
            let _ = reply.send(plan_of(&spec).and_then(|p| lifecycle::start(hypervisor, &p)));
        }
        DelegateMsg::Status {
            spec,
            attributes,
            reply,
        } => {
            let observed =
                plan_of(&spec).and_then(|p| lifecycle::observe(hypervisor, &p, false, &attributes));
            let _ = reply.send(observed);
        }
        DelegateMsg::Adopt {
            spec,
            attributes,
            reply,
        } => {
            let observed =
                plan_of(&spec).and_then(|p| lifecycle::observe(hypervisor, &p, true, &attributes));
            let _ = reply.send(observed);
        }
        DelegateMsg::Stop { spec, reply, .. } => {
            let _ = reply.send(plan_of(&spec).and_then(|p| lifecycle::stop(hypervisor, &p)));
        }
        DelegateMsg::Delete { spec, reply, .. } => {
            let _ = reply.send(plan_of(&spec).and_then(|p| lifecycle::delete(hypervisor, &p)));
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
