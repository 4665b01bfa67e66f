//! The lifecycle of one container instance, against Podman's API: create (image first), start,
//! look at it, adopt it, stop it, delete it. Everything is found again from the container's
//! name and labels, so nothing is kept between calls.

use podman_api::Podman;
use podman_api::api::Container;
use podman_api::models::InspectContainerData;
use podman_api::opts::{
    ContainerDeleteOpts, ContainerListFilter, ContainerListOpts, ContainerRestartPolicy,
    ContainerStopOpts,
};
use tracing::{info, warn};

use super::connection::{Connection, failed, is_not_found, is_not_modified};
use super::health::{self, ContainerState};
use super::image;
use super::plan::{ContainerIdentity, ContainerPlan};
use crate::delegates::protocol::{
    Attributes, DelegateError, ExecSource, InstanceHealth, InstanceSpec, LogSource, Observation,
};

/// The instance's container as Podman shows it.
pub(super) struct Found {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) state: ContainerState,
    /// The OCI runtime Podman runs it with.
    runtime: Option<String>,
}

impl Found {
    fn of(data: &InspectContainerData) -> Found {
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

    fn attributes(&self) -> Attributes {
        let mut attributes = Attributes::new();
        attributes.insert("container_id".into(), self.id.clone().into());
        attributes.insert("name".into(), self.name.clone().into());
        attributes
    }
}

fn handle(podman: &Podman, id: &str) -> Container {
    podman.containers().get(id)
}

/// The instance's container: the one of its name (refused when Khutulun did not make it), else
/// one that carries its labels (renamed by hand); `None` when there is none.
async fn find(
    podman: &Podman,
    identity: &ContainerIdentity,
) -> Result<Option<Found>, DelegateError> {
    match handle(podman, &identity.name).inspect().await {
        Ok(data) => {
            let labels = data.config.as_ref().and_then(|c| c.labels.clone());
            if !identity.owns(|key| labels.as_ref()?.get(key).map(String::as_str)) {
                return Err(DelegateError::Failed(format!(
                    "{}: a container named {} exists that Khutulun did not make for it (it lacks its labels {}); remove or rename it",
                    identity.instance,
                    identity.name,
                    identity
                        .labels
                        .iter()
                        .map(|(key, value)| format!("{key}={value}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            return Ok(Some(Found::of(&data)));
        }
        Err(error) if is_not_found(&error) => {}
        Err(error) => {
            return Err(failed(
                format!("inspect container {}", identity.name),
                error,
            ));
        }
    }
    let opts = ContainerListOpts::builder()
        .all(true)
        .filter(
            identity
                .labels
                .iter()
                .map(|(key, value)| ContainerListFilter::LabelKeyVal(key.clone(), value.clone())),
        )
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
        Ok(data) => Ok(Some(Found::of(&data))),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(failed(format!("inspect container {id}"), error)),
    }
}

pub(super) async fn inspect(podman: &Podman, id: &str) -> Result<Found, DelegateError> {
    handle(podman, id)
        .inspect()
        .await
        .map(|data| Found::of(&data))
        .map_err(|e| failed(format!("inspect container {id}"), e))
}

/// Removes the container (stopping it first); already gone is fine.
async fn remove(podman: &Podman, id: &str) -> Result<(), DelegateError> {
    let opts = ContainerDeleteOpts::builder()
        .force(true)
        .volumes(true)
        .build();
    match handle(podman, id).delete(&opts).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(failed(format!("remove container {id}"), error)),
    }
}

/// Makes the image present and creates the container anew (a container left by an earlier
/// attempt is removed first, so the container always matches the spec).
pub(super) async fn create_container(
    podman: &Podman,
    plan: &ContainerPlan,
) -> Result<Found, DelegateError> {
    let identity = &plan.identity;
    if let Some(earlier) = find(podman, identity).await? {
        info!(instance = %identity.instance, container = %earlier.name, "removing the container an earlier deploy left");
        remove(podman, &earlier.id).await?;
    }
    let image = image::ensure(podman, &identity.instance, &plan.image).await?;
    let created = podman
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
    let container = inspect(podman, &created.id).await?;
    // Podman's API falls back to its default runtime when it does not know the one asked for;
    // a container meant to be isolated (kata) must not run under another runtime unnoticed.
    if let Some(wanted) = &plan.runtime
        && container.runtime.as_deref() != Some(wanted.as_str())
    {
        remove(podman, &container.id).await?;
        return Err(DelegateError::Unavailable(format!(
            "{}: Podman has no OCI runtime {wanted:?} (it would have run container {} with {}); install it and list it under [engine.runtimes] in containers.conf",
            identity.instance,
            identity.name,
            container
                .runtime
                .as_deref()
                .unwrap_or("its default runtime")
        )));
    }
    Ok(container)
}

/// `Create`: the image is there and the container exists, not started.
pub async fn create(
    connection: &Connection,
    spec: &InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let plan = ContainerPlan::of(spec)?;
    let podman = connection.check().await?;
    Ok(create_container(podman, &plan).await?.attributes())
}

async fn start_container(
    podman: &Podman,
    identity: &ContainerIdentity,
    id: &str,
) -> Result<Found, DelegateError> {
    match handle(podman, id).start(None).await {
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
    inspect(podman, id).await
}

/// `Start`: the container runs (it is created first when it is missing).
pub async fn start(
    connection: &Connection,
    spec: &InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let plan = ContainerPlan::of(spec)?;
    let podman = connection.check().await?;
    let container = match find(podman, &plan.identity).await? {
        Some(container) => container,
        None => create_container(podman, &plan).await?,
    };
    if container.state.is_running() {
        return Ok(container.attributes());
    }
    Ok(start_container(podman, &plan.identity, &container.id)
        .await?
        .attributes())
}

pub(super) fn missing(identity: &ContainerIdentity, attributes: &Attributes) -> Observation {
    let mut attributes = attributes.clone();
    attributes.remove("container_id");
    attributes.insert("name".into(), identity.name.clone().into());
    Observation {
        health: InstanceHealth::Missing,
        attributes,
    }
}

/// `Status` (and, with `adopt`, `Adopt`): what the container is doing now. Adopting a container
/// that ended while no agent looked, and that its policy restarts, starts it again (Podman
/// restarts containers itself, but not across a reboot of the host); one that is gone is made
/// again and started.
pub async fn observe(
    connection: &Connection,
    spec: &InstanceSpec,
    attributes: &Attributes,
    adopt: bool,
) -> Result<Observation, DelegateError> {
    let identity = ContainerIdentity::of(spec);
    // A container made from properties that are no longer valid is looked at all the same.
    let plan = ContainerPlan::of(spec).ok();
    let restart = plan
        .as_ref()
        .map_or(ContainerRestartPolicy::No, |plan| plan.restart);
    let podman = connection.check().await?;
    let mut container = match find(podman, &identity).await? {
        Some(container) => container,
        // Gone while no agent looked (removed by hand, or with the host's storage): made and
        // started again when its policy restarts it, as Podman would have restarted it.
        None if adopt && restart != ContainerRestartPolicy::No => {
            let Some(plan) = plan else {
                return Ok(missing(&identity, attributes));
            };
            warn!(instance = %identity.instance, container = %identity.name, "it is gone: making and starting it again");
            let created = create_container(podman, &plan).await?;
            start_container(podman, &identity, &created.id).await?
        }
        None => return Ok(missing(&identity, attributes)),
    };
    if adopt
        && container.state.has_ended()
        && health::restarts_after(restart, container.state.exit_code.unwrap_or(0))
    {
        warn!(instance = %identity.instance, container = %container.name, "it ended while the agent was away: starting it again");
        container = start_container(podman, &identity, &container.id).await?;
    }
    Ok(Observation {
        health: health::health(
            &container.name,
            &container.state,
            restart,
            chrono::Utc::now(),
        ),
        attributes: container.attributes(),
    })
}

/// `Stop`: the container no longer runs, but stays.
pub async fn stop(
    connection: &Connection,
    spec: &InstanceSpec,
    attributes: &Attributes,
) -> Result<Attributes, DelegateError> {
    let identity = ContainerIdentity::of(spec);
    let podman = connection.check().await?;
    let Some(container) = find(podman, &identity).await? else {
        return Ok(missing(&identity, attributes).attributes);
    };
    match handle(podman, &container.id)
        .stop(&ContainerStopOpts::default())
        .await
    {
        Ok(()) => {}
        Err(error) if is_not_modified(&error) || is_not_found(&error) => {}
        Err(error) => return Err(failed(format!("stop container {}", container.name), error)),
    }
    Ok(container.attributes())
}

/// `Delete`: no container is left (nor the instance's private directory).
pub async fn delete(connection: &Connection, spec: &InstanceSpec) -> Result<(), DelegateError> {
    let identity = ContainerIdentity::of(spec);
    let podman = connection.check().await?;
    // The one of its name, then any other that carries its labels.
    for _ in 0..8 {
        match find(podman, &identity).await? {
            Some(container) => remove(podman, &container.id).await?,
            None => break,
        }
    }
    if let Some(container) = find(podman, &identity).await? {
        return Err(DelegateError::Failed(format!(
            "{}: container {} is still there after removing it",
            identity.instance, container.name
        )));
    }
    match std::fs::remove_dir_all(&spec.state_dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DelegateError::io(
            format!("remove directory {}", spec.state_dir.display()),
            e,
        )),
    }
}

/// `Logs`: `podman logs` of the container, through the socket the delegate uses.
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
