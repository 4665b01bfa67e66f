//! The nspawn delegate's actor: turns each lifecycle call about a system container into the
//! same call about the process that runs `systemd-nspawn`, sent to the process delegate.

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::machine::MachinePlan;
use super::message::NspawnMsg;
use crate::delegates::protocol::{self, DelegateError, DelegateMsg, DelegateRef, InstanceSpec};

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
        let process = &*process;
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
        }
        Ok(())
    }
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
