//! The lifecycle of one pod instance, against Podman's API: the pod (which publishes the
//! reserved ports) and its containers are created together, started and stopped together, and
//! removed together; the pod is healthy when every container of it runs.

use podman_api::Podman;
use podman_api::models::InspectPodData;
use podman_api::opts::ContainerRestartPolicy;
use tracing::{info, warn};

use super::connection::{Connection, failed, is_not_found, is_not_modified};
use super::health::{self, restarts_after};
use super::lifecycle::{self, create_container};
use super::plan::ContainerIdentity;
use super::pod_plan::PodPlan;
use crate::delegates::oci::{self, kata};
use crate::delegates::protocol::{
    Attributes, DelegateError, ExecSource, InstanceHealth, InstanceSpec, LogSource, Observation,
};

/// The instance's pod as Podman shows it.
struct FoundPod {
    id: String,
    name: String,
    /// Its containers (not the infra container that holds its namespaces), by id and name.
    containers: Vec<(String, String)>,
}

impl FoundPod {
    fn of(data: &InspectPodData) -> FoundPod {
        let infra = data.infra_container_id.clone().unwrap_or_default();
        FoundPod {
            id: data.id.clone().unwrap_or_default(),
            name: data.name.clone().unwrap_or_default(),
            containers: data
                .containers
                .iter()
                .flatten()
                .filter_map(|c| Some((c.id.clone()?, c.name.clone().unwrap_or_default())))
                .filter(|(id, _)| *id != infra)
                .collect(),
        }
    }

    fn attributes(&self) -> Attributes {
        let mut attributes = Attributes::new();
        attributes.insert("pod_id".into(), self.id.clone().into());
        attributes.insert("name".into(), self.name.clone().into());
        attributes
    }
}

/// The instance's pod, refused when Khutulun did not make it; `None` when there is none.
async fn find(
    podman: &Podman,
    identity: &ContainerIdentity,
) -> Result<Option<FoundPod>, DelegateError> {
    match podman.pods().get(identity.name.as_str()).inspect().await {
        Ok(data) => {
            if !identity.owns(|key| data.labels.as_ref()?.get(key).map(String::as_str)) {
                return Err(DelegateError::Failed(format!(
                    "{}: a pod named {} exists that Khutulun did not make; remove or rename it",
                    identity.instance, identity.name
                )));
            }
            Ok(Some(FoundPod::of(&data)))
        }
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(failed(format!("inspect pod {}", identity.name), error)),
    }
}

/// Removes the pod with its containers; already gone is fine.
async fn remove(podman: &Podman, pod: &FoundPod) -> Result<(), DelegateError> {
    match podman.pods().get(pod.id.as_str()).remove().await {
        Ok(report) => match report.err.filter(|e| !e.is_empty()) {
            Some(error) => Err(DelegateError::Failed(format!(
                "could not remove pod {}: {error}",
                pod.name
            ))),
            None => Ok(()),
        },
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(failed(format!("remove pod {}", pod.name), error)),
    }
}

/// Creates the pod anew with its containers (an earlier attempt's pod is removed first); when
/// one container cannot be made, nothing of the pod is left.
async fn create_pod(podman: &Podman, plan: &PodPlan) -> Result<FoundPod, DelegateError> {
    let identity = &plan.identity;
    let runtime = plan.members.first().and_then(|m| m.runtime.as_deref());
    kata::check(runtime).map_err(|missing| {
        DelegateError::Unavailable(format!("{}: {missing}", identity.instance))
    })?;
    if let Some(earlier) = find(podman, identity).await? {
        info!(instance = %identity.instance, pod = %earlier.name, "removing the pod an earlier deploy left");
        remove(podman, &earlier).await?;
    }
    let created = podman
        .pods()
        .create(&plan.create_opts())
        .await
        .map_err(|e| {
            failed(
                format!("create pod {} for {}", identity.name, identity.instance),
                e,
            )
        })?;
    let inspected =
        |error: podman_api::Error| failed(format!("inspect pod {}", identity.name), error);
    let pod = FoundPod::of(&created.inspect().await.map_err(inspected)?);
    for member in &plan.members {
        if let Err(error) = create_container(podman, member).await {
            if let Err(cleanup) = remove(podman, &pod).await {
                warn!(instance = %identity.instance, "{cleanup}");
            }
            return Err(error);
        }
    }
    // Again, now that it has its containers.
    Ok(FoundPod::of(&created.inspect().await.map_err(inspected)?))
}

/// `Create`: the images are there and the pod exists with its containers, not started.
pub async fn create(
    connection: &Connection,
    spec: &InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let plan = PodPlan::of(spec)?;
    let podman = connection.check().await?;
    Ok(create_pod(podman, &plan).await?.attributes())
}

async fn start_pod(podman: &Podman, pod: &FoundPod) -> Result<(), DelegateError> {
    match podman.pods().get(pod.id.as_str()).start().await {
        Ok(report) => match report.errs.unwrap_or_default().first() {
            Some(error) => Err(DelegateError::Failed(format!(
                "could not start pod {}: {error}",
                pod.name
            ))),
            None => Ok(()),
        },
        Err(error) if is_not_modified(&error) => Ok(()),
        Err(error) => Err(failed(format!("start pod {}", pod.name), error)),
    }
}

/// `Start`: every container of the pod runs (the pod is created first when it is missing).
pub async fn start(
    connection: &Connection,
    spec: &InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let plan = PodPlan::of(spec)?;
    let podman = connection.check().await?;
    let pod = match find(podman, &plan.identity).await? {
        Some(pod) => pod,
        None => create_pod(podman, &plan).await?,
    };
    start_pod(podman, &pod).await?;
    Ok(pod.attributes())
}

/// `Status` (and, with `adopt`, `Adopt`): running when every container runs, else what the
/// first one that does not is doing. Adopting starts the containers that ended while no agent
/// looked and that the restart policy restarts, and makes the pod again when it is gone.
pub async fn observe(
    connection: &Connection,
    spec: &InstanceSpec,
    attributes: &Attributes,
    adopt: bool,
) -> Result<Observation, DelegateError> {
    let identity = ContainerIdentity::of(spec);
    let plan = PodPlan::of(spec).ok();
    let restart = plan
        .as_ref()
        .and_then(|plan| plan.members.first().map(|member| member.restart))
        .unwrap_or(ContainerRestartPolicy::No);
    let podman = connection.check().await?;
    let pod = match (find(podman, &identity).await?, plan) {
        (Some(pod), _) => pod,
        // Gone while no agent looked: made and started again when its policy restarts it.
        (None, Some(plan)) if adopt && restart != ContainerRestartPolicy::No => {
            warn!(instance = %identity.instance, pod = %identity.name, "it is gone: making and starting it again");
            let pod = create_pod(podman, &plan).await?;
            start_pod(podman, &pod).await?;
            pod
        }
        (None, _) => {
            let mut observation = crate::delegates::oci::missing(&identity, attributes);
            observation.attributes.remove("pod_id");
            return Ok(observation);
        }
    };
    let mut containers = Vec::new();
    for (id, _) in &pod.containers {
        containers.push(lifecycle::inspect(podman, id).await?);
    }
    let ended_to_restart = containers
        .iter()
        .any(|c| c.state.has_ended() && restarts_after(restart, c.state.exit_code.unwrap_or(0)));
    if adopt && ended_to_restart {
        warn!(instance = %identity.instance, pod = %pod.name, "containers ended while the agent was away: starting them again");
        start_pod(podman, &pod).await?;
        containers.clear();
        for (id, _) in &pod.containers {
            containers.push(lifecycle::inspect(podman, id).await?);
        }
    }
    let health = if containers.is_empty() {
        InstanceHealth::Failed {
            reason: format!("pod {} has no containers", pod.name),
        }
    } else {
        containers
            .iter()
            .map(|c| health::health("Podman", &c.name, &c.state, restart, chrono::Utc::now()))
            .find(|health| *health != InstanceHealth::Running)
            .unwrap_or(InstanceHealth::Running)
    };
    Ok(Observation {
        health,
        attributes: pod.attributes(),
    })
}

/// `Stop`: no container of the pod runs, but the pod stays.
pub async fn stop(
    connection: &Connection,
    spec: &InstanceSpec,
    attributes: &Attributes,
) -> Result<Attributes, DelegateError> {
    let identity = ContainerIdentity::of(spec);
    let podman = connection.check().await?;
    let Some(pod) = find(podman, &identity).await? else {
        return Ok(attributes.clone());
    };
    match podman.pods().get(pod.id.as_str()).stop().await {
        Ok(report) => {
            if let Some(error) = report.errs.unwrap_or_default().first() {
                return Err(DelegateError::Failed(format!(
                    "could not stop pod {}: {error}",
                    pod.name
                )));
            }
        }
        Err(error) if is_not_modified(&error) || is_not_found(&error) => {}
        Err(error) => return Err(failed(format!("stop pod {}", pod.name), error)),
    }
    Ok(pod.attributes())
}

/// `Delete`: no pod and no container of it is left (nor the instance's private directory).
pub async fn delete(connection: &Connection, spec: &InstanceSpec) -> Result<(), DelegateError> {
    let identity = ContainerIdentity::of(spec);
    let podman = connection.check().await?;
    if let Some(pod) = find(podman, &identity).await? {
        remove(podman, &pod).await?;
    }
    if find(podman, &identity).await?.is_some() {
        return Err(DelegateError::Failed(format!(
            "{}: pod {} is still there after removing it",
            identity.instance, identity.name
        )));
    }
    spec.remove_state_dir()
}

/// `podman exec` into the pod's first container.
pub fn exec(connection: &Connection, spec: &InstanceSpec) -> Result<ExecSource, DelegateError> {
    let plan = PodPlan::of(spec)?;
    let first = plan.member_names().into_values().next().ok_or_else(|| {
        DelegateError::Failed(format!(
            "{}: the pod has no container",
            spec.qualified_name()
        ))
    })?;
    Ok(ExecSource::Inside {
        program: "podman".into(),
        arguments: vec![
            "--url".into(),
            connection.socket().uri(),
            "exec".into(),
            first,
        ],
        interactive_at: Some(3),
    })
}

/// `Logs`: `podman logs` of each container of the pod in turn (see [`oci::pod_logs`]).
pub fn logs(connection: &Connection, spec: &InstanceSpec) -> Result<LogSource, DelegateError> {
    let plan = PodPlan::of(spec)?;
    let url = oci::shell_quote(&connection.socket().uri());
    let names: Vec<String> = plan.member_names().into_values().collect();
    Ok(oci::pod_logs(&format!("podman --url {url}"), &names))
}
