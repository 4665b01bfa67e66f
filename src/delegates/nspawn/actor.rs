//! The nspawn delegate's actor: turns each lifecycle call about a system container into the
//! same call about the process that runs `systemd-nspawn`, sent to the process delegate.

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::machine::MachinePlan;
use super::message::NspawnMsg;
use crate::delegates::protocol::{self, DelegateMsg, DelegateRef};

/// The nspawn delegate. Its state is the process delegate it runs containers with; everything
/// else is rebuilt from the instance and its attributes on every call.
pub struct NspawnDelegate;

impl Actor for NspawnDelegate {
    type Msg = NspawnMsg;
    type State = DelegateRef;
    type Arguments = DelegateRef;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        process: DelegateRef,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(process)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        process: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let NspawnMsg::Lifecycle(message) = message;
        match *message {
            DelegateMsg::Create { spec, reply } => {
                let result = async {
                    let plan = MachinePlan::of(&spec)?;
                    plan.check()?;
                    let created = protocol::create(process, plan.process_spec(&spec)).await?;
                    Ok(plan.attributes(created))
                }
                .await;
                let _ = reply.send(result);
            }
            DelegateMsg::Start {
                spec,
                attributes,
                reply,
            } => {
                let result = async {
                    let plan = MachinePlan::of(&spec)?;
                    plan.check()?;
                    let started =
                        protocol::start(process, plan.process_spec(&spec), attributes).await?;
                    Ok(plan.attributes(started))
                }
                .await;
                let _ = reply.send(result);
            }
            DelegateMsg::Status {
                spec,
                attributes,
                reply,
            } => {
                let result = async {
                    let plan = MachinePlan::of(&spec)?;
                    let mut seen =
                        protocol::status(process, plan.process_spec(&spec), attributes).await?;
                    seen.attributes = plan.attributes(seen.attributes);
                    Ok(seen)
                }
                .await;
                let _ = reply.send(result);
            }
            DelegateMsg::Adopt {
                spec,
                attributes,
                reply,
            } => {
                let result = async {
                    let plan = MachinePlan::of(&spec)?;
                    let mut seen =
                        protocol::adopt(process, plan.process_spec(&spec), attributes).await?;
                    seen.attributes = plan.attributes(seen.attributes);
                    Ok(seen)
                }
                .await;
                let _ = reply.send(result);
            }
            DelegateMsg::Stop {
                spec,
                attributes,
                reply,
            } => {
                let result = async {
                    let plan = MachinePlan::of(&spec)?;
                    let stopped =
                        protocol::stop(process, plan.process_spec(&spec), attributes).await?;
                    Ok(plan.attributes(stopped))
                }
                .await;
                let _ = reply.send(result);
            }
            DelegateMsg::Delete {
                spec,
                attributes,
                reply,
            } => {
                let forwarded = match MachinePlan::of(&spec) {
                    Ok(plan) => plan.process_spec(&spec),
                    Err(_) => MachinePlan::leftover_spec(&spec),
                };
                let result = protocol::delete(process, forwarded, attributes).await;
                let _ = reply.send(result);
            }
            DelegateMsg::Logs {
                spec,
                attributes,
                reply,
            } => {
                let result = async {
                    let plan = MachinePlan::of(&spec)?;
                    protocol::logs(process, plan.process_spec(&spec), attributes).await
                }
                .await;
                let _ = reply.send(result);
            }
        }
        Ok(())
    }
}
