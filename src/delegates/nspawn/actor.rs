//! The nspawn delegate's actor: turns each lifecycle call about a system container into the
//! same call about the process that runs `systemd-nspawn`, sent to the process delegate.

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::machine::{self, MachinePlan, nspawn_installed};
use super::message::NspawnMsg;
use crate::delegates::protocol::{self, DelegateError, DelegateMsg, DelegateRef, InstanceSpec};
use crate::delegates::systemd::{self, SystemdMsg};

/// The nspawn delegate. Its state is what it runs containers with; everything else is rebuilt
/// from the instance and its attributes on every call.
pub struct NspawnDelegate;

/// What the nspawn delegate runs containers with.
#[derive(Clone)]
pub struct NspawnConfig {
    /// The process delegate, which runs `systemd-nspawn` as a unit.
    pub process: DelegateRef,
    /// The systemd delegate, asked whether a user manager answers (containers need units).
    pub systemd: ActorRef<SystemdMsg>,
}

impl Actor for NspawnDelegate {
    type Msg = NspawnMsg;
    type State = NspawnConfig;
    type Arguments = NspawnConfig;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        config: NspawnConfig,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(config)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        config: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let message = match message {
            NspawnMsg::Lifecycle(message) => message,
            NspawnMsg::Available { reply } => {
                let systemd = config.systemd.clone();
                tokio::spawn(async move {
                    let _ = reply.send(available(&systemd).await);
                });
                return Ok(());
            }
        };
        let process = &config.process;
        match *message {
            DelegateMsg::Create { spec, reply } => {
                let result = forward(&spec, Check::Unpack, async |s| {
                    protocol::create(process, s).await
                })
                .await
                .map(|(plan, created)| plan.attributes(created));
                let _ = reply.send(result);
            }
            DelegateMsg::Start {
                spec,
                attributes,
                reply,
            } => {
                let result = forward(&spec, Check::Image, async |s| {
                    protocol::start(process, s, attributes).await
                })
                .await
                .map(|(plan, started)| plan.attributes(started));
                let _ = reply.send(result);
            }
            DelegateMsg::Status {
                spec,
                attributes,
                reply,
            } => {
                let result = forward(&spec, Check::Nothing, async |s| {
                    protocol::status(process, s, attributes).await
                })
                .await
                .map(|(plan, seen)| plan.observation(seen));
                let _ = reply.send(result);
            }
            DelegateMsg::Adopt {
                spec,
                attributes,
                reply,
            } => {
                let result = forward(&spec, Check::Nothing, async |s| {
                    protocol::adopt(process, s, attributes).await
                })
                .await
                .map(|(plan, seen)| plan.observation(seen));
                let _ = reply.send(result);
            }
            DelegateMsg::Stop {
                spec,
                attributes,
                reply,
            } => {
                let result = forward(&spec, Check::Nothing, async |s| {
                    protocol::stop(process, s, attributes).await
                })
                .await
                .map(|(plan, stopped)| plan.attributes(stopped));
                let _ = reply.send(result);
            }
            DelegateMsg::Delete {
                spec,
                attributes,
                reply,
            } => {
                // A container whose plan can no longer be made (its image is refused) is still
                // deleted: the process delegate needs only its name and directory for that.
                let forwarded = match MachinePlan::of(&spec) {
                    Ok(plan) => plan.process_spec(&spec),
                    Err(_) => MachinePlan::leftover_spec(&spec),
                };
                let _ = reply.send(protocol::delete(process, forwarded, attributes).await);
            }
            DelegateMsg::Logs {
                spec,
                attributes,
                reply,
            } => {
                let result = forward(&spec, Check::Nothing, async |s| {
                    protocol::logs(process, s, attributes).await
                })
                .await
                .map(|(_, logs)| logs);
                let _ = reply.send(result);
            }
            DelegateMsg::Exec {
                attributes, reply, ..
            } => {
                let _ = reply.send(machine::exec(&attributes));
            }
        }
        Ok(())
    }
}

/// Whether `systemd-nspawn` is installed and a user manager answers to run it as a unit.
async fn available(systemd: &ActorRef<SystemdMsg>) -> Result<(), DelegateError> {
    if !nspawn_installed() {
        return Err(DelegateError::Unavailable(
            "systemd-nspawn is not installed on this host (Debian: apt-get install systemd-container)".into(),
        ));
    }
    systemd::units_needed(systemd, "system containers run as systemd user units").await
}

/// What to check (or prepare) on the host before a call.
enum Check {
    /// Unpack the image if it is an artifact, then check as for [`Check::Image`].
    Unpack,
    /// That `systemd-nspawn` is installed and the image is a root filesystem (before running).
    Image,
    /// Nothing (looking at or stopping what runs needs neither).
    Nothing,
}

/// Makes the container's plan and sends `call` the process instance that runs it.
async fn forward<T>(
    spec: &InstanceSpec,
    check: Check,
    call: impl AsyncFnOnce(InstanceSpec) -> Result<T, DelegateError>,
) -> Result<(MachinePlan, T), DelegateError> {
    let plan = MachinePlan::of(spec)?;
    if let Check::Unpack = check {
        let unpacking = plan.clone();
        tokio::task::spawn_blocking(move || unpacking.unpack())
            .await
            .map_err(|e| DelegateError::Failed(format!("{}: {e}", plan.instance)))??;
    }
    if let Check::Unpack | Check::Image = check {
        plan.check()?;
    }
    let answer = call(plan.process_spec(spec)).await?;
    Ok((plan, answer))
}
