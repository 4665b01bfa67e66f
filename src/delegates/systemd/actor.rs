//! The systemd delegate's actor: one connection to the user manager (made again when the bus
//! drops it), requests served concurrently (the unit state lives in systemd, not here).

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tracing::info;

use super::bus::SystemdBus;
use super::message::SystemdMsg;
use crate::delegates::protocol::DelegateError;

/// The systemd delegate.
pub struct SystemdDelegate;

/// The connection, made when first needed and made again after it failed.
pub struct SystemdState {
    bus: Option<SystemdBus>,
}

impl SystemdState {
    async fn bus(&mut self) -> Result<SystemdBus, DelegateError> {
        // A closed connection is made again by the next call on it; dropping it here also
        // makes `Available` check that a manager still answers.
        if let Some(bus) = &self.bus
            && !bus.is_closed()
        {
            return Ok(bus.clone());
        }
        let bus = SystemdBus::connect().await?;
        info!(
            version = bus.version(),
            "connected to the systemd user manager"
        );
        self.bus = Some(bus.clone());
        Ok(bus)
    }
}

impl Actor for SystemdDelegate {
    type Msg = SystemdMsg;
    type State = SystemdState;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        _arguments: (),
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(SystemdState { bus: None })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let bus = state.bus().await;
        match message {
            SystemdMsg::Available { reply } => {
                let _ = reply.send(bus.map(|bus| bus.version().to_owned()));
            }
            SystemdMsg::Run { unit, reply } => match bus {
                Ok(bus) => {
                    tokio::spawn(async move {
                        let _ = reply.send(bus.run(&unit).await);
                    });
                }
                Err(error) => {
                    let _ = reply.send(Err(error));
                }
            },
            SystemdMsg::Status { name, reply } => match bus {
                Ok(bus) => {
                    tokio::spawn(async move {
                        let _ = reply.send(bus.status(&name).await);
                    });
                }
                Err(error) => {
                    let _ = reply.send(Err(error));
                }
            },
            SystemdMsg::Remove { name, reply } => match bus {
                Ok(bus) => {
                    tokio::spawn(async move {
                        let _ = reply.send(bus.remove(&name).await);
                    });
                }
                Err(error) => {
                    let _ = reply.send(Err(error));
                }
            },
        }
        Ok(())
    }
}
