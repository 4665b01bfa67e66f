//! The directory delegate's actor: answers lifecycle calls with the functions of `ops`.

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::message::DirectoryMsg;
use super::ops::{self, DirectoryPlan};
use crate::delegates::protocol::{Attributes, DelegateMsg, LogSource};

/// The directory delegate. It keeps no state: everything is on the filesystem and in the
/// attributes it is given.
pub struct DirectoryDelegate;

impl Actor for DirectoryDelegate {
    type Msg = DirectoryMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        _arguments: (),
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        _state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let DirectoryMsg::Lifecycle(message) = message;
        let message = *message;
        match message {
            DelegateMsg::Create { spec, reply } => {
                let result = DirectoryPlan::of(&spec, &Attributes::new())
                    .and_then(|plan| ops::create(&plan));
                let _ = reply.send(result);
            }
            DelegateMsg::Start {
                spec,
                attributes,
                reply,
            }
            | DelegateMsg::Stop {
                spec,
                attributes,
                reply,
            } => {
                let result = DirectoryPlan::of(&spec, &attributes).map(|plan| plan.attributes());
                let _ = reply.send(result);
            }
            DelegateMsg::Status {
                spec,
                attributes,
                reply,
            }
            | DelegateMsg::Adopt {
                spec,
                attributes,
                reply,
            } => {
                let result = DirectoryPlan::of(&spec, &attributes).map(|plan| ops::observe(&plan));
                let _ = reply.send(result);
            }
            DelegateMsg::Delete {
                spec,
                attributes,
                reply,
            } => {
                let result = match DirectoryPlan::of(&spec, &attributes) {
                    Ok(plan) => tokio::task::spawn_blocking(move || ops::delete(&plan))
                        .await
                        .map_err(|e| ActorProcessingErr::from(e.to_string()))?,
                    Err(error) => Err(error),
                };
                let _ = reply.send(result);
            }
            DelegateMsg::Logs { reply, .. } => {
                let _ = reply.send(Ok(LogSource::None));
            }
        }
        Ok(())
    }
}
