//! The root supervisor: starts the Host actor and starts it again whenever it fails (the Host
//! reloads everything from the store); when the agent stops, it stops the Host.

use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::host::{HOST_ACTOR_NAME, Host, HostArgs};

/// The root supervisor.
pub struct Root;

/// The root has no messages of its own: it only supervises.
#[derive(Debug)]
pub enum RootMsg {}

// Local only.
impl ractor::Message for RootMsg {}

async fn spawn_host(myself: &ActorRef<RootMsg>, args: &HostArgs) -> Result<(), ActorProcessingErr> {
    Actor::spawn_linked(
        Some(HOST_ACTOR_NAME.to_owned()),
        Host,
        args.clone(),
        myself.get_cell(),
    )
    .await?;
    Ok(())
}

impl Actor for Root {
    type Msg = RootMsg;
    type State = HostArgs;
    type Arguments = HostArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: HostArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        spawn_host(&myself, &args).await?;
        Ok(args)
    }

    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        _args: &mut HostArgs,
    ) -> Result<(), ActorProcessingErr> {
        // Stopping the Host lets it stop membership cleanly (the others then see this host
        // leave at once); what the Host leaves running stops with the process.
        myself
            .stop_children_and_wait(
                Some("the agent stops".into()),
                Some(std::time::Duration::from_secs(5)),
            )
            .await;
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        args: &mut HostArgs,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(_, error) => {
                tracing::error!(%error, "the host actor failed; restarting it");
                // Its name is free once it is gone; retry briefly while it unregisters.
                let mut attempts = 0;
                while let Err(error) = spawn_host(&myself, args).await {
                    attempts += 1;
                    if attempts > 50 {
                        return Err(error);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
            SupervisionEvent::ActorTerminated(_, _, reason) => {
                tracing::info!(?reason, "the host actor stopped; stopping the agent");
                myself.stop(reason);
            }
            _ => {}
        }
        Ok(())
    }
}
