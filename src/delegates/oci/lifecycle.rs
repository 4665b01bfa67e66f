//! The lifecycle of one container instance on any [`ContainerEngine`]: create (image first),
//! start, look at it, adopt it, stop it, delete it. Everything is found again from the
//! container's name and labels, so nothing is kept between calls.

use podman_api::opts::ContainerRestartPolicy;
use tracing::{info, warn};

use super::engine::{ContainerEngine, Found};
use crate::delegates::podman::health;
use crate::delegates::podman::{ContainerIdentity, ContainerPlan};
use crate::delegates::protocol::{
    Attributes, DelegateError, InstanceHealth, InstanceSpec, Observation,
};

/// Creates the plan's container anew (one an earlier attempt left is removed first, so the
/// container always matches the spec), refusing one the engine would run with another OCI
/// runtime than the plan asks for: a container meant to be isolated (kata) must not run under
/// another runtime unnoticed.
pub async fn create_fresh(
    engine: &impl ContainerEngine,
    plan: &ContainerPlan,
) -> Result<Found, DelegateError> {
    let identity = &plan.identity;
    super::kata::check(plan.runtime.as_deref()).map_err(|missing| {
        DelegateError::Unavailable(format!("{}: {missing}", identity.instance))
    })?;
    if let Some(earlier) = engine.find(identity).await? {
        info!(instance = %identity.instance, container = %earlier.name, "removing the container an earlier deploy left");
        engine.remove(&earlier.id).await?;
    }
    let container = engine.create(plan).await?;
    if let Some(wanted) = &plan.runtime
        && container.runtime.as_deref() != Some(wanted.as_str())
    {
        engine.remove(&container.id).await?;
        return Err(DelegateError::Unavailable(format!(
            "{}: {} has no OCI runtime {wanted:?} (it would have run container {} with {}); {}",
            identity.instance,
            engine.name(),
            identity.name,
            container
                .runtime
                .as_deref()
                .unwrap_or("its default runtime"),
            engine.runtime_hint()
        )));
    }
    Ok(container)
}

/// `Create`: the image is there and the container exists, not started.
pub async fn create(
    engine: &impl ContainerEngine,
    plan: &ContainerPlan,
) -> Result<Attributes, DelegateError> {
    Ok(create_fresh(engine, plan).await?.attributes())
}

/// `Start`: the container runs (it is created first when it is missing).
pub async fn start(
    engine: &impl ContainerEngine,
    plan: &ContainerPlan,
) -> Result<Attributes, DelegateError> {
    let container = match engine.find(&plan.identity).await? {
        Some(container) => container,
        None => create_fresh(engine, plan).await?,
    };
    if container.state.is_running() {
        return Ok(container.attributes());
    }
    Ok(engine
        .start(&plan.identity, &container.id)
        .await?
        .attributes())
}

/// The observation of an instance whose container is gone.
pub fn missing(identity: &ContainerIdentity, attributes: &Attributes) -> Observation {
    let mut attributes = attributes.clone();
    attributes.remove("container_id");
    attributes.insert("name".into(), identity.name.clone().into());
    Observation {
        health: InstanceHealth::Missing,
        attributes,
    }
}

/// `Status` (and, with `adopt`, `Adopt`): what the container is doing now. Adopting a container
/// that ended while no agent looked, and that its policy restarts, starts it again (an engine
/// restarts containers itself, but not across a reboot of the host); one that is gone is made
/// again and started.
pub async fn observe(
    engine: &impl ContainerEngine,
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
    let mut container = match engine.find(&identity).await? {
        Some(container) => container,
        // Gone while no agent looked (removed by hand, or with the host's storage): made and
        // started again when its policy restarts it, as the engine would have restarted it.
        None if adopt && restart != ContainerRestartPolicy::No => {
            let Some(plan) = plan else {
                return Ok(missing(&identity, attributes));
            };
            warn!(instance = %identity.instance, container = %identity.name, "it is gone: making and starting it again");
            let created = create_fresh(engine, &plan).await?;
            engine.start(&identity, &created.id).await?
        }
        None => return Ok(missing(&identity, attributes)),
    };
    if adopt
        && container.state.has_ended()
        && health::restarts_after(restart, container.state.exit_code.unwrap_or(0))
    {
        warn!(instance = %identity.instance, container = %container.name, "it ended while the agent was away: starting it again");
        container = engine.start(&identity, &container.id).await?;
    }
    Ok(Observation {
        health: health::health(
            engine.name(),
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
    engine: &impl ContainerEngine,
    spec: &InstanceSpec,
    attributes: &Attributes,
) -> Result<Attributes, DelegateError> {
    let identity = ContainerIdentity::of(spec);
    let Some(container) = engine.find(&identity).await? else {
        return Ok(missing(&identity, attributes).attributes);
    };
    engine.stop(&container).await?;
    Ok(container.attributes())
}

/// `Delete`: no container is left (nor the instance's private directory).
pub async fn delete(
    engine: &impl ContainerEngine,
    spec: &InstanceSpec,
) -> Result<(), DelegateError> {
    let identity = ContainerIdentity::of(spec);
    // The one of its name, then any other that carries its labels.
    for _ in 0..8 {
        match engine.find(&identity).await? {
            Some(container) => engine.remove(&container.id).await?,
            None => break,
        }
    }
    if let Some(container) = engine.find(&identity).await? {
        return Err(DelegateError::Failed(format!(
            "{}: container {} is still there after removing it",
            identity.instance, container.name
        )));
    }
    spec.remove_state_dir()
}
