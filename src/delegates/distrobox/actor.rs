//! The distrobox delegate's actor: makes and removes the box itself, and turns every call about
//! what runs in it into the same call about the process that runs `distrobox enter`, sent to
//! the process delegate. Each call is carried out in a task of its own, so a slow image import
//! holds up no other box.

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::engine;
use super::message::DistroboxMsg;
use super::plan::{BoxName, BoxPlan};
use crate::delegates::protocol::{self, DelegateError, DelegateMsg, DelegateRef, InstanceSpec};
use crate::delegates::systemd::{self, SystemdMsg};

/// The distrobox delegate. Its state is what it runs boxes with; everything else is rebuilt
/// from the instance and its attributes on every call.
pub struct DistroboxDelegate;

/// What the distrobox delegate runs boxes with.
#[derive(Clone)]
pub struct DistroboxConfig {
    /// The process delegate, which runs `distrobox enter` as a unit.
    pub process: DelegateRef,
    /// The systemd delegate, asked whether a user manager answers (boxes' commands need units).
    pub systemd: ActorRef<SystemdMsg>,
}

impl Actor for DistroboxDelegate {
    type Msg = DistroboxMsg;
    type State = DistroboxConfig;
    type Arguments = DistroboxConfig;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        config: DistroboxConfig,
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
            DistroboxMsg::Available { reply } => {
                tokio::spawn(async move {
                    let _ = reply.send(available(&config.systemd).await);
                });
            }
            DistroboxMsg::Lifecycle(message) => {
                tokio::spawn(lifecycle(*message, config.process));
            }
        }
        Ok(())
    }
}

/// Carries out one lifecycle call and answers it.
async fn lifecycle(message: DelegateMsg, process: DelegateRef) {
    let process = &process;
    match message {
        DelegateMsg::Create { spec, reply } => {
            let result = async {
                let plan = BoxPlan::of(&spec)?;
                if let Some(missing) = engine::missing() {
                    return Err(DelegateError::Unavailable(format!(
                        "{}: {missing}",
                        plan.id.instance
                    )));
                }
                let created = protocol::create(process, plan.process_spec(&spec)).await?;
                engine::make(&plan).await?;
                Ok(plan.attributes(created))
            };
            let _ = reply.send(result.await);
        }
        DelegateMsg::Start {
            spec,
            attributes,
            reply,
        } => {
            let started = forward(&spec, async |s| {
                protocol::start(process, s, attributes).await
            });
            let _ = reply.send(started.await.map(|(plan, made)| plan.attributes(made)));
        }
        DelegateMsg::Status {
            spec,
            attributes,
            reply,
        } => {
            let seen = forward(&spec, async |s| {
                protocol::status(process, s, attributes).await
            });
            let _ = reply.send(seen.await.map(|(plan, seen)| plan.observation(seen)));
        }
        DelegateMsg::Adopt {
            spec,
            attributes,
            reply,
        } => {
            let seen = forward(&spec, async |s| {
                protocol::adopt(process, s, attributes).await
            });
            let _ = reply.send(seen.await.map(|(plan, seen)| plan.observation(seen)));
        }
        DelegateMsg::Stop {
            spec,
            attributes,
            reply,
        } => {
            let result = async {
                let stop = async |s| protocol::stop(process, s, attributes).await;
                let (plan, stopped) = forward(&spec, stop).await?;
                engine::stop(&plan.id).await?;
                Ok(plan.attributes(stopped))
            };
            let _ = reply.send(result.await);
        }
        DelegateMsg::Delete {
            spec,
            attributes,
            reply,
        } => {
            // A box whose plan can no longer be made is still deleted: its name is enough.
            let forwarded = match BoxPlan::of(&spec) {
                Ok(plan) => plan.process_spec(&spec),
                Err(_) => BoxPlan::leftover_spec(&spec),
            };
            let result = async {
                protocol::delete(process, forwarded, attributes).await?;
                engine::remove(&BoxName::of(&spec)).await
            };
            let _ = reply.send(result.await);
        }
        DelegateMsg::Logs {
            spec,
            attributes,
            reply,
        } => {
            let logs = forward(&spec, async |s| {
                protocol::logs(process, s, attributes).await
            });
            let _ = reply.send(logs.await.map(|(_, logs)| logs));
        }
        DelegateMsg::Exec { spec, reply, .. } => {
            let _ = reply.send(BoxPlan::of(&spec).map(|plan| plan.exec()));
        }
    }
}

/// Whether boxes can run here: distrobox and Podman installed, the agent not root, and a user
/// manager answering to run their commands as units.
async fn available(systemd: &ActorRef<SystemdMsg>) -> Result<(), DelegateError> {
    if let Some(missing) = engine::missing() {
        return Err(DelegateError::Unavailable(missing));
    }
    systemd::units_needed(systemd, "a distrobox's command runs as a systemd user unit").await
}

/// Makes the box's plan and sends `call` the process instance that runs its command.
async fn forward<T>(
    spec: &InstanceSpec,
    call: impl AsyncFnOnce(InstanceSpec) -> Result<T, DelegateError>,
) -> Result<(BoxPlan, T), DelegateError> {
    let plan = BoxPlan::of(spec)?;
    let answer = call(plan.process_spec(spec)).await?;
    Ok((plan, answer))
}
