//! The podman delegate's actor: it keeps no state of its own (every call finds the container
//! again by name and labels), so it answers each call from a task of its own and a slow image
//! pull never holds up another instance.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::connection::{Connection, PodmanSocket};
use super::message::PodmanMsg;
use super::{lifecycle, pod_lifecycle};
use crate::delegates::profile::types;
use crate::delegates::protocol::{
    Attributes, DelegateError, DelegateMsg, InstanceSpec, Observation, is_a,
};

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
        let connection = state.connection.clone().map_err(DelegateError::Unavailable);
        match message {
            PodmanMsg::Lifecycle(message) => {
                tokio::spawn(answer(connection, *message));
            }
            PodmanMsg::Available { reply } => {
                tokio::spawn(async move {
                    let _ = reply.send(available(connection).await);
                });
            }
        }
        Ok(())
    }
}

/// How long a ping may take before `delegate list` says Podman's API does not answer.
const PING_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether the API answers a ping within [`PING_DEADLINE`].
async fn available(
    connection: Result<Arc<Connection>, DelegateError>,
) -> Result<(), DelegateError> {
    let connection = connection?;
    match tokio::time::timeout(PING_DEADLINE, connection.check()).await {
        Ok(answer) => answer.map(|_| ()),
        Err(_) => Err(DelegateError::Unavailable(format!(
            "Podman's API at {} did not answer a ping within {} s",
            connection.socket().uri(),
            PING_DEADLINE.as_secs()
        ))),
    }
}

/// What kind of node an instance is, for the podman delegate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// One container.
    Container,
    /// A pod of containers.
    Pod,
}

fn kind_of(spec: &InstanceSpec) -> Result<Kind, DelegateError> {
    if is_a(&spec.types, types::POD) {
        Ok(Kind::Pod)
    } else if is_a(&spec.types, types::CONTAINER) {
        Ok(Kind::Container)
    } else {
        Err(DelegateError::NotImplemented(format!(
            "{}: running a {} with Podman",
            spec.qualified_name(),
            spec.types
                .first()
                .map_or("node of this type", |t| t.name.as_str())
        )))
    }
}

/// Carries out one lifecycle call and replies.
async fn answer(connection: Result<Arc<Connection>, DelegateError>, message: DelegateMsg) {
    match message {
        DelegateMsg::Create { spec, reply } => {
            let result = async {
                let connection = connection?;
                match kind_of(&spec)? {
                    Kind::Container => lifecycle::create(&connection, &spec).await,
                    Kind::Pod => pod_lifecycle::create(&connection, &spec).await,
                }
            };
            let _ = reply.send(result.await);
        }
        DelegateMsg::Start { spec, reply, .. } => {
            let result = async {
                let connection = connection?;
                match kind_of(&spec)? {
                    Kind::Container => lifecycle::start(&connection, &spec).await,
                    Kind::Pod => pod_lifecycle::start(&connection, &spec).await,
                }
            };
            let _ = reply.send(result.await);
        }
        DelegateMsg::Status {
            spec,
            attributes,
            reply,
        } => {
            let _ = reply.send(observe(connection, &spec, &attributes, false).await);
        }
        DelegateMsg::Adopt {
            spec,
            attributes,
            reply,
        } => {
            let _ = reply.send(observe(connection, &spec, &attributes, true).await);
        }
        DelegateMsg::Stop {
            spec,
            attributes,
            reply,
        } => {
            let result = async {
                let connection = connection?;
                match kind_of(&spec)? {
                    Kind::Container => lifecycle::stop(&connection, &spec, &attributes).await,
                    Kind::Pod => pod_lifecycle::stop(&connection, &spec, &attributes).await,
                }
            };
            let _ = reply.send(result.await);
        }
        DelegateMsg::Delete { spec, reply, .. } => {
            let result = async {
                let connection = connection?;
                match kind_of(&spec)? {
                    Kind::Container => lifecycle::delete(&connection, &spec).await,
                    Kind::Pod => pod_lifecycle::delete(&connection, &spec).await,
                }
            };
            let _ = reply.send(result.await);
        }
        DelegateMsg::Logs { spec, reply, .. } => {
            let result = connection.and_then(|connection| match kind_of(&spec)? {
                Kind::Container => Ok(lifecycle::logs(&connection, &spec)),
                Kind::Pod => pod_lifecycle::logs(&connection, &spec),
            });
            let _ = reply.send(result);
        }
        DelegateMsg::Exec { spec, reply, .. } => {
            let result = connection.and_then(|connection| match kind_of(&spec)? {
                Kind::Container => Ok(lifecycle::exec(&connection, &spec)),
                Kind::Pod => pod_lifecycle::exec(&connection, &spec),
            });
            let _ = reply.send(result);
        }
    }
}

async fn observe(
    connection: Result<Arc<Connection>, DelegateError>,
    spec: &InstanceSpec,
    attributes: &Attributes,
    adopt: bool,
) -> Result<Observation, DelegateError> {
    let connection = connection?;
    match kind_of(spec)? {
        Kind::Container => lifecycle::observe(&connection, spec, attributes, adopt).await,
        Kind::Pod => pod_lifecycle::observe(&connection, spec, attributes, adopt).await,
    }
}
