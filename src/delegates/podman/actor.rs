//! The podman delegate's actor: it keeps no state of its own (every call finds the container
//! again by name and labels), so it answers each call from a task of its own and a slow image
//! pull never holds up another instance.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::connection::{Connection, PodmanSocket};
use super::lifecycle;
use super::message::PodmanMsg;
use crate::delegates::protocol::{DelegateError, DelegateMsg};

/// What the podman delegate needs.
#[derive(Clone, Debug, Default)]
pub struct PodmanConfig {
    /// Podman's API socket (`unix:///path`); `None` finds it from the environment
    /// (`$CONTAINER_HOST`, else the rootful socket for root, else the user's).
    pub socket: Option<String>,
}

/// The podman delegate.
pub struct PodmanDelegate;

/// The podman delegate's state: the client of the API socket, or why there is none (every
/// call then fails with that reason; the agent itself runs on).
pub struct PodmanState {
    connection: Result<Arc<Connection>, String>,
}

impl Actor for PodmanDelegate {
    type Msg = PodmanMsg;
    type State = PodmanState;
    type Arguments = PodmanConfig;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        config: PodmanConfig,
    ) -> Result<Self::State, ActorProcessingErr> {
        let socket = match &config.socket {
            Some(uri) => PodmanSocket::at(uri),
            None => PodmanSocket::from_environment(),
        };
        Ok(PodmanState {
            connection: socket
                .map(|socket| Arc::new(Connection::new(socket)))
                .map_err(|error| error.to_string()),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let PodmanMsg::Lifecycle(message) = message;
        let connection = state.connection.clone().map_err(DelegateError::Unavailable);
        tokio::spawn(answer(connection, *message));
        Ok(())
    }
}

/// Carries out one lifecycle call and replies.
async fn answer(connection: Result<Arc<Connection>, DelegateError>, message: DelegateMsg) {
    match message {
        DelegateMsg::Create { spec, reply } => {
            let result = match connection {
                Ok(connection) => lifecycle::create(&connection, &spec).await,
                Err(error) => Err(error),
            };
            let _ = reply.send(result);
        }
        DelegateMsg::Start { spec, reply, .. } => {
            let result = match connection {
                Ok(connection) => lifecycle::start(&connection, &spec).await,
                Err(error) => Err(error),
            };
            let _ = reply.send(result);
        }
        DelegateMsg::Status {
            spec,
            attributes,
            reply,
        } => {
            let result = match connection {
                Ok(connection) => lifecycle::observe(&connection, &spec, &attributes, false).await,
                Err(error) => Err(error),
            };
            let _ = reply.send(result);
        }
        DelegateMsg::Adopt {
            spec,
            attributes,
            reply,
        } => {
            let result = match connection {
                Ok(connection) => lifecycle::observe(&connection, &spec, &attributes, true).await,
                Err(error) => Err(error),
            };
            let _ = reply.send(result);
        }
        DelegateMsg::Stop {
            spec,
            attributes,
            reply,
        } => {
            let result = match connection {
                Ok(connection) => lifecycle::stop(&connection, &spec, &attributes).await,
                Err(error) => Err(error),
            };
            let _ = reply.send(result);
        }
        DelegateMsg::Delete { spec, reply, .. } => {
            let result = match connection {
                Ok(connection) => lifecycle::delete(&connection, &spec).await,
                Err(error) => Err(error),
            };
            let _ = reply.send(result);
        }
        DelegateMsg::Logs { spec, reply, .. } => {
            let _ = reply.send(connection.map(|connection| lifecycle::logs(&connection, &spec)));
        }
    }
}
