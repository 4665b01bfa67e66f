//! The docker delegate's actor: it keeps no state of its own (every call finds the container
//! again by name and labels), so it answers each call from a task of its own and a slow image
//! load never holds up another instance.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::connection::{Connection, DockerSocket};
use super::message::DockerMsg;
use super::{lifecycle, pod};
use crate::delegates::profile::types;
use crate::delegates::protocol::{
    Attributes, DelegateError, DelegateMsg, InstanceSpec, Observation, is_a,
};

/// What the docker delegate needs.
#[derive(Clone, Debug, Default)]
pub struct DockerConfig {
    /// The Docker API socket (`unix:///path`); `None` finds it from the environment
    /// (`$DOCKER_HOST`, else dockerd's socket, else Podman's).
    pub socket: Option<String>,
}

/// The docker delegate.
pub struct DockerDelegate;

/// The docker delegate's state: the client of the API socket, or why there is none (every
/// call then fails with that reason; the agent itself runs on).
pub struct DockerState {
    connection: Result<Arc<Connection>, String>,
}

impl Actor for DockerDelegate {
    type Msg = DockerMsg;
    type State = DockerState;
    type Arguments = DockerConfig;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        config: DockerConfig,
    ) -> Result<Self::State, ActorProcessingErr> {
        let socket = match &config.socket {
            Some(uri) => DockerSocket::at(uri),
            None => DockerSocket::from_environment(),
        };
        Ok(DockerState {
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
        let connection = state.connection.clone();
        match message {
            DockerMsg::Lifecycle(message) => {
                tokio::spawn(answer(connection, *message));
            }
            DockerMsg::Available { reply } => {
                let connection = connection.map_err(DelegateError::Unavailable);
                tokio::spawn(async move {
                    let _ = reply.send(available(connection).await);
                });
            }
        }
        Ok(())
    }
}

/// How long a ping may take before `delegate list` says the Docker API does not answer.
const PING_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether the API answers a ping within [`PING_DEADLINE`].
async fn available(
    connection: Result<Arc<Connection>, DelegateError>,
) -> Result<(), DelegateError> {
    let connection = connection?;
    match tokio::time::timeout(PING_DEADLINE, connection.check()).await {
        Ok(answer) => answer.map(|_| ()),
        Err(_) => Err(DelegateError::Unavailable(format!(
            "the Docker API at {} did not answer a ping within {} s",
            connection.socket().uri(),
            PING_DEADLINE.as_secs()
        ))),
    }
}

/// What the docker delegate runs: `Container` and `Pod` nodes.
#[derive(Clone, Copy)]
enum Workload {
    Container,
    Pod,
}

/// The workload `spec` is, or a refusal of what the docker delegate does not run.
fn workload(spec: &InstanceSpec) -> Result<Workload, DelegateError> {
    if is_a(&spec.types, types::POD) {
        return Ok(Workload::Pod);
    }
    if is_a(&spec.types, types::CONTAINER) {
        return Ok(Workload::Container);
    }
    let kind = spec
        .types
        .first()
        .map_or("node of this type", |t| t.name.as_str());
    Err(DelegateError::NotImplemented(format!(
        "{}: running a {kind} with Docker (the docker delegate runs Container and Pod nodes)",
        spec.qualified_name(),
    )))
}

/// Carries out one lifecycle call and replies (`connection` is the client, or why there is
/// none).
async fn answer(connection: Result<Arc<Connection>, String>, message: DelegateMsg) {
    let usable = |spec: &InstanceSpec| {
        let workload = workload(spec)?;
        let connection = connection.clone().map_err(DelegateError::Unavailable)?;
        Ok::<_, DelegateError>((workload, connection))
    };
    match message {
        DelegateMsg::Create { spec, reply } => {
            let result = async {
                match usable(&spec)? {
                    (Workload::Container, c) => lifecycle::create(&c, &spec).await,
                    (Workload::Pod, c) => pod::create(&c, &spec).await,
                }
            };
            let _ = reply.send(result.await);
        }
        DelegateMsg::Start { spec, reply, .. } => {
            let result = async {
                match usable(&spec)? {
                    (Workload::Container, c) => lifecycle::start(&c, &spec).await,
                    (Workload::Pod, c) => pod::start(&c, &spec).await,
                }
            };
            let _ = reply.send(result.await);
        }
        DelegateMsg::Status {
            spec,
            attributes,
            reply,
        } => {
            let _ = reply.send(observe(usable(&spec), &spec, &attributes, false).await);
        }
        DelegateMsg::Adopt {
            spec,
            attributes,
            reply,
        } => {
            let _ = reply.send(observe(usable(&spec), &spec, &attributes, true).await);
        }
        DelegateMsg::Stop {
            spec,
            attributes,
            reply,
        } => {
            let result = async {
                match usable(&spec)? {
                    (Workload::Container, c) => lifecycle::stop(&c, &spec, &attributes).await,
                    (Workload::Pod, c) => pod::stop(&c, &spec, &attributes).await,
                }
            };
            let _ = reply.send(result.await);
        }
        DelegateMsg::Delete { spec, reply, .. } => {
            let result = async {
                match usable(&spec)? {
                    (Workload::Container, c) => lifecycle::delete(&c, &spec).await,
                    (Workload::Pod, c) => pod::delete(&c, &spec).await,
                }
            };
            let _ = reply.send(result.await);
        }
        DelegateMsg::Logs { spec, reply, .. } => {
            let _ = reply.send(usable(&spec).and_then(|usable| match usable {
                (Workload::Container, c) => Ok(lifecycle::logs(&c, &spec)),
                (Workload::Pod, c) => pod::logs(&c, &spec),
            }));
        }
        DelegateMsg::Exec { spec, reply, .. } => {
            let _ = reply.send(usable(&spec).and_then(|usable| match usable {
                (Workload::Container, c) => Ok(lifecycle::exec(&c, &spec)),
                (Workload::Pod, c) => pod::exec(&c, &spec),
            }));
        }
    }
}

/// `Status` or, with `adopt`, `Adopt` of the workload `usable` says.
async fn observe(
    usable: Result<(Workload, Arc<Connection>), DelegateError>,
    spec: &InstanceSpec,
    attributes: &Attributes,
    adopt: bool,
) -> Result<Observation, DelegateError> {
    match usable? {
        (Workload::Container, c) => lifecycle::observe(&c, spec, attributes, adopt).await,
        (Workload::Pod, c) => pod::observe(&c, spec, attributes, adopt).await,
    }
}
