//! The lifecycle of one container instance against a Docker Engine API: the calls of
//! [`ContainerEngine`] in the Docker API's words, and the lifecycle entry points, which connect
//! and then follow the shared lifecycle ([`crate::delegates::oci`]).

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};

use super::connection::{Connection, failed, is_not_found, is_not_modified};
use super::create::create_body;
use super::image;
use crate::delegates::oci::{self, ContainerEngine, Found};
use crate::delegates::podman::health::ContainerState;
use crate::delegates::podman::{ContainerIdentity, ContainerPlan};
use crate::delegates::protocol::{
    Attributes, DelegateError, ExecSource, InstanceSpec, LogSource, Observation,
};

/// The container as the engine's inspection shows it.
fn found(data: &ContainerInspectResponse) -> Found {
    Found {
        id: data.id.clone().unwrap_or_default(),
        name: data
            .name
            .clone()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        state: data.state.as_ref().map(state_of).unwrap_or_default(),
        runtime: data.host_config.as_ref().and_then(|h| h.runtime.clone()),
    }
}

/// The engine's container state in the words the health rule reads.
fn state_of(state: &bollard::models::ContainerState) -> ContainerState {
    ContainerState {
        status: state.status.map(|s| s.to_string()).unwrap_or_default(),
        exit_code: state.exit_code.and_then(|code| i32::try_from(code).ok()),
        restarting: state.restarting.unwrap_or(false),
        error: state.error.clone().filter(|e| !e.is_empty()),
        // The engine says 0001-01-01 for "never".
        finished_at: state
            .finished_at
            .as_deref()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.with_timezone(&chrono::Utc))
            .filter(|at| at.timestamp() > 0),
    }
}

async fn inspect(docker: &Docker, id: &str) -> Result<Found, DelegateError> {
    docker
        .inspect_container(id, None)
        .await
        .map(|data| found(&data))
        .map_err(|e| failed(format!("inspect container {id}"), e))
}

/// A Docker Engine API, as the container lifecycle uses it.
pub(super) struct DockerEngine<'a>(pub(super) &'a Docker);

impl ContainerEngine for DockerEngine<'_> {
    fn name(&self) -> &'static str {
        "the Docker engine"
    }

    fn runtime_hint(&self) -> &'static str {
        "install it and register it with dockerd (Podman's Docker-compatible API takes no runtime: run such a container with the podman delegate)"
    }

    async fn find(&self, identity: &ContainerIdentity) -> Result<Option<Found>, DelegateError> {
        let docker = self.0;
        match docker.inspect_container(&identity.name, None).await {
            Ok(data) => {
                let labels = data.config.as_ref().and_then(|c| c.labels.as_ref());
                if !identity.owns(|key| labels?.get(key).map(String::as_str)) {
                    return Err(identity.not_ours());
                }
                return Ok(Some(found(&data)));
            }
            Err(error) if is_not_found(&error) => {}
            Err(error) => {
                return Err(failed(
                    format!("inspect container {}", identity.name),
                    error,
                ));
            }
        }
        let labels = identity.labels.iter().map(|(k, v)| format!("{k}={v}"));
        let filters = HashMap::from([("label".to_owned(), labels.collect::<Vec<_>>())]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let listed = docker
            .list_containers(Some(options))
            .await
            .map_err(|e| failed(format!("list the containers of {}", identity.instance), e))?;
        let Some(id) = listed.into_iter().find_map(|c| c.id) else {
            return Ok(None);
        };
        match docker.inspect_container(&id, None).await {
            Ok(data) => Ok(Some(found(&data))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(failed(format!("inspect container {id}"), error)),
        }
    }

    async fn create(&self, plan: &ContainerPlan) -> Result<Found, DelegateError> {
        let identity = &plan.identity;
        let image = image::ensure(self.0, &identity.instance, &plan.image).await?;
        let options = CreateContainerOptionsBuilder::default()
            .name(&identity.name)
            .build();
        let created = self
            .0
            .create_container(
                Some(options),
                create_body(plan, &image, plan.pod.as_deref()),
            )
            .await
            .map_err(|e| {
                failed(
                    format!(
                        "create container {} for {}",
                        identity.name, identity.instance
                    ),
                    e,
                )
            })?;
        inspect(self.0, &created.id).await
    }

    async fn start(&self, identity: &ContainerIdentity, id: &str) -> Result<Found, DelegateError> {
        match self.0.start_container(id, None).await {
            Ok(()) => {}
            Err(error) if is_not_modified(&error) => {}
            Err(error) => {
                return Err(failed(
                    format!(
                        "start container {} for {}",
                        identity.name, identity.instance
                    ),
                    error,
                ));
            }
        }
        inspect(self.0, id).await
    }

    async fn stop(&self, container: &Found) -> Result<(), DelegateError> {
        match self.0.stop_container(&container.id, None).await {
            Ok(()) => Ok(()),
            Err(error) if is_not_modified(&error) || is_not_found(&error) => Ok(()),
            Err(error) => Err(failed(format!("stop container {}", container.name), error)),
        }
    }

    async fn remove(&self, id: &str) -> Result<(), DelegateError> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.0.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(error) if is_not_found(&error) => Ok(()),
            Err(error) => Err(failed(format!("remove container {id}"), error)),
        }
    }
}

/// `Create`: the image is there and the container exists, not started.
pub async fn create(
    connection: &Connection,
    spec: &InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let plan = ContainerPlan::of(spec)?;
    oci::create(&DockerEngine(connection.check().await?), &plan).await
}

/// `Start`: the container runs (it is created first when it is missing).
pub async fn start(
    connection: &Connection,
    spec: &InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let plan = ContainerPlan::of(spec)?;
    oci::start(&DockerEngine(connection.check().await?), &plan).await
}

/// `Status` and `Adopt` (see [`oci::observe`]).
pub async fn observe(
    connection: &Connection,
    spec: &InstanceSpec,
    attributes: &Attributes,
    adopt: bool,
) -> Result<Observation, DelegateError> {
    let engine = DockerEngine(connection.check().await?);
    oci::observe(&engine, spec, attributes, adopt).await
}

/// `Stop`: the container no longer runs, but stays.
pub async fn stop(
    connection: &Connection,
    spec: &InstanceSpec,
    attributes: &Attributes,
) -> Result<Attributes, DelegateError> {
    oci::stop(&DockerEngine(connection.check().await?), spec, attributes).await
}

/// `Delete`: no container is left (nor the instance's private directory).
pub async fn delete(connection: &Connection, spec: &InstanceSpec) -> Result<(), DelegateError> {
    oci::delete(&DockerEngine(connection.check().await?), spec).await
}

/// `docker exec` into the instance's container (through the delegate's socket).
pub fn exec(connection: &Connection, spec: &InstanceSpec) -> ExecSource {
    let (program, socket_flag) = connection.socket().cli();
    ExecSource::Inside {
        program: program.into(),
        arguments: vec![
            socket_flag.into(),
            connection.socket().uri(),
            "exec".into(),
            ContainerIdentity::of(spec).name,
        ],
        interactive_at: Some(3),
    }
}

/// `Logs`: `docker logs` of the container, through the socket the delegate uses.
pub fn logs(connection: &Connection, spec: &InstanceSpec) -> LogSource {
    let name = ContainerIdentity::of(spec).name;
    let (program, socket_flag) = connection.socket().cli();
    // Options go after `logs` and before the name.
    let command = |follow: bool| -> Vec<String> {
        let mut arguments = vec![socket_flag.into(), connection.socket().uri(), "logs".into()];
        if follow {
            arguments.push("--follow".into());
        }
        arguments.push(name.clone());
        arguments
    };
    LogSource::Command {
        program: program.into(),
        arguments: command(false),
        follow_arguments: command(true),
        options_at: 3,
    }
}
