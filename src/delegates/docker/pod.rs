//! A `Pod` on a Docker Engine API, which has no pods: the pod's containers share the network
//! namespace of its first container (in name order), which publishes the pod's reserved ports.
//! They are made, started, stopped and removed together, each found again by its name and
//! labels, and the pod is healthy when every one of them runs.

use podman_api::opts::ContainerRestartPolicy;
use tracing::warn;

use super::connection::Connection;
use super::lifecycle::DockerEngine;
use crate::delegates::oci::{self, ContainerEngine, Found};
use crate::delegates::podman::health::{self, restarts_after};
use crate::delegates::podman::{ContainerPlan, PodPlan};
use crate::delegates::protocol::{
    Attributes, DelegateError, ExecSource, InstanceHealth, InstanceSpec, LogSource, Observation,
};

/// The pod's containers as the engine makes them: the first holds the network namespace and
/// publishes the pod's ports; each other joins it (its `pod` names the holder).
fn members(plan: &PodPlan) -> Vec<ContainerPlan> {
    let holder = plan.members.first().map(|m| m.identity.name.clone());
    plan.members
        .iter()
        .enumerate()
        .map(|(index, member)| {
            let mut member = member.clone();
            if index == 0 {
                member.ports = plan.ports.clone();
                member.pod = None;
            } else {
                member.pod = holder.clone();
            }
            member
        })
        .collect()
}

/// The pod's attributes: its name and, as `pod_id`, the id of the container holding it.
fn attributes(plan: &PodPlan, holder: &Found) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert("pod_id".into(), holder.id.clone().into());
    attributes.insert("name".into(), plan.identity.name.clone().into());
    attributes
}

/// Each member's container, in the plan's order (`None` where it is gone).
async fn find_all(
    engine: &DockerEngine<'_>,
    members: &[ContainerPlan],
) -> Result<Vec<Option<Found>>, DelegateError> {
    let mut found = Vec::with_capacity(members.len());
    for member in members {
        found.push(engine.find(&member.identity).await?);
    }
    Ok(found)
}

/// Removes every container of the pod there is, the holder last.
async fn remove_all(
    engine: &DockerEngine<'_>,
    found: &[Option<Found>],
) -> Result<(), DelegateError> {
    for container in found.iter().rev().flatten() {
        engine.remove(&container.id).await?;
    }
    Ok(())
}

/// Makes every container of the pod anew (what an earlier attempt left is removed first);
/// when one cannot be made, those made before it are removed.
async fn create_all(
    engine: &DockerEngine<'_>,
    members: &[ContainerPlan],
) -> Result<Vec<Found>, DelegateError> {
    remove_all(engine, &find_all(engine, members).await?).await?;
    let mut made: Vec<Found> = Vec::with_capacity(members.len());
    for member in members {
        match oci::create_fresh(engine, member).await {
            Ok(container) => made.push(container),
            Err(error) => {
                let made: Vec<Option<Found>> = made.into_iter().map(Some).collect();
                if let Err(cleanup) = remove_all(engine, &made).await {
                    warn!(instance = %member.identity.instance, "{cleanup}");
                }
                return Err(error);
            }
        }
    }
    Ok(made)
}

/// Starts the containers that do not run, the holder first.
async fn start_all(
    engine: &DockerEngine<'_>,
    members: &[ContainerPlan],
    containers: Vec<Found>,
) -> Result<Vec<Found>, DelegateError> {
    let mut started = Vec::with_capacity(containers.len());
    for (member, container) in members.iter().zip(containers) {
        started.push(if container.state.is_running() {
            container
        } else {
            engine.start(&member.identity, &container.id).await?
        });
    }
    Ok(started)
}

/// Every container when all of them are there; `None` when one is gone (the others must be
/// made again with it: they joined the network of a holder that may be gone).
fn complete(found: Vec<Option<Found>>) -> Option<Vec<Found>> {
    found.into_iter().collect()
}

/// The plan, its members and the engine, once the engine answers.
async fn prepare<'a>(
    connection: &'a Connection,
    spec: &InstanceSpec,
) -> Result<(PodPlan, Vec<ContainerPlan>, DockerEngine<'a>), DelegateError> {
    let plan = PodPlan::of(spec)?;
    let members = members(&plan);
    Ok((plan, members, DockerEngine(connection.check().await?)))
}

/// `Create`: every container of the pod exists, not started.
pub async fn create(
    connection: &Connection,
    spec: &InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let (plan, members, engine) = prepare(connection, spec).await?;
    let made = create_all(&engine, &members).await?;
    Ok(attributes(&plan, &made[0]))
}

/// `Start`: every container of the pod runs (all are made again when one is missing).
pub async fn start(
    connection: &Connection,
    spec: &InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let (plan, members, engine) = prepare(connection, spec).await?;
    let containers = match complete(find_all(&engine, &members).await?) {
        Some(containers) => containers,
        None => create_all(&engine, &members).await?,
    };
    let started = start_all(&engine, &members, containers).await?;
    Ok(attributes(&plan, &started[0]))
}

/// `Status` (and, with `adopt`, `Adopt`): running when every container runs, else what the
/// first that does not is doing. Adopting starts again the containers that ended while no
/// agent looked and that the restart policy restarts, and makes the pod again when a
/// container of it is gone.
pub async fn observe(
    connection: &Connection,
    spec: &InstanceSpec,
    attributes_before: &Attributes,
    adopt: bool,
) -> Result<Observation, DelegateError> {
    let (plan, members, engine) = prepare(connection, spec).await?;
    let restart = members
        .first()
        .map_or(ContainerRestartPolicy::No, |m| m.restart);
    let found = find_all(&engine, &members).await?;
    let mut containers = match complete(found) {
        Some(containers) => containers,
        None if adopt && restart != ContainerRestartPolicy::No => {
            warn!(instance = %plan.identity.instance, "a container of the pod is gone: making the pod again");
            let made = create_all(&engine, &members).await?;
            start_all(&engine, &members, made).await?
        }
        None => {
            let mut observation = oci::missing(&plan.identity, attributes_before);
            observation.attributes.remove("pod_id");
            return Ok(observation);
        }
    };
    let ended =
        |c: &Found| c.state.has_ended() && restarts_after(restart, c.state.exit_code.unwrap_or(0));
    if adopt && containers.iter().any(ended) {
        warn!(instance = %plan.identity.instance, "containers of the pod ended while the agent was away: starting them again");
        containers = start_all(&engine, &members, containers).await?;
    }
    let now = chrono::Utc::now();
    let health = containers
        .iter()
        .map(|c| health::health(engine.name(), &c.name, &c.state, restart, now))
        .find(|health| *health != InstanceHealth::Running)
        .unwrap_or(InstanceHealth::Running);
    Ok(Observation {
        health,
        attributes: attributes(&plan, &containers[0]),
    })
}

/// `Stop`: no container of the pod runs (the holder stops last), but all stay.
pub async fn stop(
    connection: &Connection,
    spec: &InstanceSpec,
    attributes_before: &Attributes,
) -> Result<Attributes, DelegateError> {
    let (plan, members, engine) = prepare(connection, spec).await?;
    let found = find_all(&engine, &members).await?;
    for container in found.iter().rev().flatten() {
        engine.stop(container).await?;
    }
    Ok(match found.first() {
        Some(Some(holder)) => attributes(&plan, holder),
        _ => attributes_before.clone(),
    })
}

/// `Delete`: no container of the pod is left (nor the instance's private directory).
pub async fn delete(connection: &Connection, spec: &InstanceSpec) -> Result<(), DelegateError> {
    let (plan, members, engine) = prepare(connection, spec).await?;
    remove_all(&engine, &find_all(&engine, &members).await?).await?;
    if let Some(left) = find_all(&engine, &members)
        .await?
        .into_iter()
        .flatten()
        .next()
    {
        return Err(DelegateError::Failed(format!(
            "{}: container {} of the pod is still there after removing it",
            plan.identity.instance, left.name
        )));
    }
    spec.remove_state_dir()
}

/// The names of the pod's containers, in the plan's order.
fn names(spec: &InstanceSpec) -> Result<Vec<String>, DelegateError> {
    let plan = PodPlan::of(spec)?;
    Ok(plan
        .members
        .iter()
        .map(|m| m.identity.name.clone())
        .collect())
}

/// `docker exec` into the pod's first container.
pub fn exec(connection: &Connection, spec: &InstanceSpec) -> Result<ExecSource, DelegateError> {
    let first = names(spec)?.into_iter().next().ok_or_else(|| {
        DelegateError::Failed(format!(
            "{}: the pod has no container",
            spec.qualified_name()
        ))
    })?;
    let (program, socket_flag) = connection.socket().cli();
    Ok(ExecSource::Inside {
        program: program.into(),
        arguments: vec![
            socket_flag.into(),
            connection.socket().uri(),
            "exec".into(),
            first,
        ],
        interactive_at: Some(3),
    })
}

/// `Logs`: `docker logs` of each container of the pod in turn, each line after the
/// container's name and a `|`.
pub fn logs(connection: &Connection, spec: &InstanceSpec) -> Result<LogSource, DelegateError> {
    let (program, socket_flag) = connection.socket().cli();
    let uri = oci::shell_quote(&connection.socket().uri());
    Ok(oci::pod_logs(
        &format!("{program} {socket_flag} {uri}"),
        &names(spec)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::profile::types;
    use crate::delegates::testing;

    #[test]
    fn the_first_container_holds_the_network_and_publishes_the_ports_the_others_join_it() {
        let spec = testing::spec(
            "shop",
            "app-0",
            types::POD,
            serde_json::json!({
                "containers": {
                    "web": {"image": {"reference": "localhost/web:1"}},
                    "api": {"image": {"reference": "localhost/api:1"}},
                    "cache": {"image": {"reference": "localhost/cache:1"}},
                },
            }),
            vec![testing::dependency(
                "connection",
                &[types::PORT],
                serde_json::json!({"address": "127.0.0.1", "port": 20001, "protocol": "tcp"}),
                serde_json::json!({}),
            )],
        );
        let plan = PodPlan::of(&spec).unwrap();
        assert!(!plan.ports.is_empty(), "{plan:?}");
        let members = members(&plan);
        let names: Vec<&str> = members.iter().map(|m| m.identity.name.as_str()).collect();
        let holder = format!("{}-api", plan.identity.name);
        assert_eq!(
            names,
            [
                holder.clone(),
                format!("{}-cache", plan.identity.name),
                format!("{}-web", plan.identity.name)
            ]
        );
        assert_eq!(members[0].ports, plan.ports);
        assert_eq!(members[0].pod, None);
        for member in &members[1..] {
            assert!(member.ports.is_empty(), "{member:?}");
            assert_eq!(member.pod.as_deref(), Some(holder.as_str()));
        }
        let body = super::super::create::create_body(
            &members[1],
            "localhost/cache:1",
            members[1].pod.as_deref(),
        );
        let host = body.host_config.unwrap();
        assert_eq!(
            host.network_mode.as_deref(),
            Some(format!("container:{holder}").as_str())
        );
        assert_eq!(host.port_bindings, None);
    }
}
