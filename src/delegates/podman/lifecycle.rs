//! The lifecycle of one container instance against Podman's API: the calls of
//! [`ContainerEngine`] in libpod's words, and the lifecycle entry points, which connect and
//! then follow the shared lifecycle ([`crate::delegates::oci`]).

use podman_api::Podman;
use podman_api::api::Container;
use podman_api::models::InspectContainerData;
use podman_api::opts::{
    ContainerDeleteOpts, ContainerListFilter, ContainerListOpts, ContainerStopOpts,
};

use super::connection::{Connection, failed, is_not_found, is_not_modified};
use super::health::ContainerState;
use super::image;
use super::plan::{ContainerIdentity, ContainerPlan};
use crate::delegates::oci::{self, ContainerEngine, Found};
use crate::delegates::protocol::{
    Attributes, DelegateError, ExecSource, InstanceSpec, LogSource, Observation,
};

/// The container as Podman's inspection shows it.
fn found(data: &InspectContainerData) -> Found {
    Found {
        id: data.id.clone().unwrap_or_default(),
        name: data
            .name
            .clone()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned(),
        state: data
            .state
            .as_ref()
            .map(ContainerState::of)
            .unwrap_or_default(),
        runtime: data.oci_runtime.clone(),
    }
}

fn handle(podman: &Podman, id: &str) -> Container {
    podman.containers().get(id)
}

pub(super) async fn inspect(podman: &Podman, id: &str) -> Result<Found, DelegateError> {
    handle(podman, id)
        .inspect()
        .await
        .map(|data| found(&data))
        .map_err(|e| failed(format!("inspect container {id}"), e))
}

/// Podman's API, as the container lifecycle uses it.
pub(super) struct PodmanEngine<'a>(pub(super) &'a Podman);

impl ContainerEngine for PodmanEngine<'_> {
    fn name(&self) -> &'static str {
        "Podman"
    }

    fn runtime_hint(&self) -> &'static str {
        "install it and list it under [engine.runtimes] in containers.conf"
    }

    async fn find(&self, identity: &ContainerIdentity) -> Result<Option<Found>, DelegateError> {
        let podman = self.0;
        match handle(podman, &identity.name).inspect().await {
            Ok(data) => {
                let labels = data.config.as_ref().and_then(|c| c.labels.clone());
                if !identity.owns(|key| labels.as_ref()?.get(key).map(String::as_str)) {
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
        let opts =
            ContainerListOpts::builder()
                .all(true)
                .filter(identity.labels.iter().map(|(key, value)| {
                    ContainerListFilter::LabelKeyVal(key.clone(), value.clone())
                }))
                .build();
        let listed = podman
            .containers()
            .list(&opts)
            .await
            .map_err(|e| failed(format!("list the containers of {}", identity.instance), e))?;
        let Some(id) = listed.into_iter().find_map(|c| c.id) else {
            return Ok(None);
        };
        match handle(podman, &id).inspect().await {
            Ok(data) => Ok(Some(found(&data))),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(failed(format!("inspect container {id}"), error)),
        }
    }

    async fn create(&self, plan: &ContainerPlan) -> Result<Found, DelegateError> {
        let identity = &plan.identity;
        let image = image::ensure(self.0, &identity.instance, &plan.image).await?;
        let created = self
            .0
            .containers()
            .create(&plan.create_opts(&image))
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
        match handle(self.0, id).start(None).await {
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
        match handle(self.0, &container.id)
            .stop(&ContainerStopOpts::default())
            .await
        {
            Ok(()) => Ok(()),
            Err(error) if is_not_modified(&error) || is_not_found(&error) => Ok(()),
            Err(error) => Err(failed(format!("stop container {}", container.name), error)),
        }
    }

    async fn remove(&self, id: &str) -> Result<(), DelegateError> {
        let opts = ContainerDeleteOpts::builder()
            .force(true)
            .volumes(true)
            .build();
        match handle(self.0, id).delete(&opts).await {
            Ok(()) => Ok(()),
            Err(error) if is_not_found(&error) => Ok(()),
            Err(error) => Err(failed(format!("remove container {id}"), error)),
        }
    }
}

/// Creates the plan's container anew (see [`oci::create_fresh`]).
pub(super) async fn create_container(
    podman: &Podman,
    plan: &ContainerPlan,
) -> Result<Found, DelegateError> {
    oci::create_fresh(&PodmanEngine(podman), plan).await
}

/// `Create`: the image is there and the container exists, not started.
pub async fn create(
    connection: &Connection,
    spec: &InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let plan = ContainerPlan::of(spec)?;
    oci::create(&PodmanEngine(connection.check().await?), &plan).await
}

/// `Start`: the container runs (it is created first when it is missing).
pub async fn start(
    connection: &Connection,
    spec: &InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let plan = ContainerPlan::of(spec)?;
    oci::start(&PodmanEngine(connection.check().await?), &plan).await
}

/// `Status` and `Adopt` (see [`oci::observe`]).
pub async fn observe(
    connection: &Connection,
    spec: &InstanceSpec,
    attributes: &Attributes,
    adopt: bool,
) -> Result<Observation, DelegateError> {
    let engine = PodmanEngine(connection.check().await?);
    oci::observe(&engine, spec, attributes, adopt).await
}

/// `Stop`: the container no longer runs, but stays.
pub async fn stop(
    connection: &Connection,
    spec: &InstanceSpec,
    attributes: &Attributes,
) -> Result<Attributes, DelegateError> {
    oci::stop(&PodmanEngine(connection.check().await?), spec, attributes).await
}

/// `Delete`: no container is left (nor the instance's private directory).
pub async fn delete(connection: &Connection, spec: &InstanceSpec) -> Result<(), DelegateError> {
    oci::delete(&PodmanEngine(connection.check().await?), spec).await
}

/// `podman exec` into the instance's container.
pub fn exec(connection: &Connection, spec: &InstanceSpec) -> ExecSource {
    let name = ContainerIdentity::of(spec).name;
    ExecSource::Inside {
        program: "podman".into(),
        arguments: vec![
            "--url".into(),
            connection.socket().uri(),
            "exec".into(),
            name,
        ],
        interactive_at: Some(3),
    }
}

/// `Logs`: `podman logs` of the container, through the socket the delegate uses.
pub fn logs(connection: &Connection, spec: &InstanceSpec) -> LogSource {
    let name = ContainerIdentity::of(spec).name;
    // Options go after `logs` and before the name: podman takes no options after it.
    let command = |follow: bool| -> Vec<String> {
        let mut arguments = vec!["--url".into(), connection.socket().uri(), "logs".into()];
        if follow {
            arguments.push("--follow".into());
        }
        arguments.push(name.clone());
        arguments
    };
    LogSource::Command {
        program: "podman".into(),
        arguments: command(false),
        follow_arguments: command(true),
        options_at: 3,
    }
}
