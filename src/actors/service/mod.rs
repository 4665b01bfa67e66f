//! The Service actor: one per deployed service with instances on this host. It spawns a
//! NodeInstance actor per instance, drives them in the order of the requirement graph
//! (dependencies first on deploy, last on delete), checks them periodically, and restarts a
//! crashed NodeInstance actor (which reloads its instance from the store).

mod messages;
pub mod order;
#[cfg(test)]
mod supervision_tests;

pub use messages::ServiceMsg;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::task::JoinSet;

use super::node_instance::{NodeInstance, NodeInstanceArgs, NodeInstanceMsg};
use super::{Context, RuntimeError};
use crate::state::records::{InstanceState, OnFailure, ServicePhase};

/// How often running instances are looked at.
pub const CHECK_PERIOD: Duration = Duration::from_secs(2);

/// The Service actor.
pub struct Service;

/// How a Service actor begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceStart {
    /// The service was just recorded: deploy it.
    Deploy,
    /// The agent (or this actor) restarted: adopt what runs.
    Resume,
}

/// Which service an actor runs.
#[derive(Clone, Debug)]
pub struct ServiceArgs {
    /// The agent's context.
    pub context: Context,
    /// The namespace.
    pub namespace: String,
    /// The service.
    pub name: String,
    /// How to begin.
    pub start: ServiceStart,
}

/// A Service actor's state: its NodeInstance actors.
pub struct ServiceState {
    args: ServiceArgs,
    instances: BTreeMap<String, ActorRef<NodeInstanceMsg>>,
    by_actor: HashMap<ActorId, String>,
    deleting: bool,
    /// Its deploy failed: nothing is checked or retried until it is deleted.
    failed: bool,
}

async fn step(
    actor: ActorRef<NodeInstanceMsg>,
    build: fn(super::node_instance::StepReply) -> NodeInstanceMsg,
) -> Result<(), RuntimeError> {
    match actor.call(build, None).await {
        Ok(ractor::rpc::CallResult::Success(result)) => result,
        _ => Err(RuntimeError::Unreachable("node instance actor")),
    }
}

impl ServiceState {
    async fn spawn_instance(
        &mut self,
        myself: &ActorRef<ServiceMsg>,
        id: &str,
    ) -> Result<(), ActorProcessingErr> {
        let args = NodeInstanceArgs {
            context: self.args.context.clone(),
            namespace: self.args.namespace.clone(),
            service: self.args.name.clone(),
            id: id.to_owned(),
        };
        let (actor, _) = Actor::spawn_linked(None, NodeInstance, args, myself.get_cell()).await?;
        self.by_actor.insert(actor.get_id(), id.to_owned());
        self.instances.insert(id.to_owned(), actor);
        Ok(())
    }

    fn waves(&self) -> Result<Vec<Vec<String>>, RuntimeError> {
        let view = self
            .args
            .context
            .store
            .load_service(&self.args.namespace, &self.args.name)?
            .ok_or_else(|| RuntimeError::NotFound(format!("service {}", self.args.name)))?;
        let mut waves = order::waves(&view.service.instantiation);
        for wave in &mut waves {
            wave.retain(|id| self.instances.contains_key(id));
        }
        Ok(waves)
    }

    /// Runs one step on every instance, wave by wave (`reverse` for deletion); stops at the
    /// first wave where a step failed.
    async fn run(
        &self,
        build: fn(super::node_instance::StepReply) -> NodeInstanceMsg,
        reverse: bool,
    ) -> Result<(), RuntimeError> {
        let mut waves = self.waves()?;
        if reverse {
            waves.reverse();
        }
        for wave in waves {
            let mut steps = JoinSet::new();
            for id in wave {
                let actor = self.instances[&id].clone();
                steps.spawn(async move { (id, step(actor, build).await) });
            }
            let mut failure = None;
            while let Some(joined) = steps.join_next().await {
                if let Ok((id, Err(error))) = joined {
                    tracing::warn!(service = %self.args.name, instance = %id, %error, "step failed");
                    failure.get_or_insert(error);
                }
            }
            if let Some(error) = failure {
                return Err(error);
            }
        }
        Ok(())
    }
}

impl ServiceState {
    /// After a failed deploy: undoes what it made (dependents first) unless the service keeps
    /// it for inspection, and records the failure, so nothing stays half made or is retried.
    async fn fail(&mut self, error: RuntimeError) {
        self.failed = true;
        let (namespace, name) = (&self.args.namespace, &self.args.name);
        let context = &self.args.context;
        let (on_failure, failures) = match context.store.load_service(namespace, name) {
            Ok(Some(view)) => (view.service.on_failure, failures(&view)),
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(service = %name, %error, "could not read it to undo its deploy");
                (OnFailure::Keep, Vec::new())
            }
        };
        let undone = match on_failure {
            OnFailure::Rollback => Some(
                self.run(|reply| NodeInstanceMsg::Delete { reply }, true)
                    .await,
            ),
            OnFailure::Keep => None,
        };
        let message = match &undone {
            None => format!("{error}; its instances are left as they are"),
            Some(Ok(())) => format!("{error}; what the deploy made was removed"),
            Some(Err(undo)) => {
                tracing::warn!(service = %name, error = %undo, "could not undo its deploy");
                format!("{error}; undoing it failed too ({undo}), what is left stays as it is")
            }
        };
        if let Err(error) = context
            .lock_manager
            .fail_service(
                namespace,
                name,
                &message,
                undone.is_some().then_some(failures),
            )
            .await
        {
            tracing::warn!(service = %name, %error, "could not record its failure");
        }
    }
}

/// The instances that failed, with why: a rollback deletes them too, and they must still say.
fn failures(view: &crate::state::ServiceView) -> Vec<(String, String)> {
    view.instances
        .iter()
        .filter(|instance| instance.state == InstanceState::Failed)
        .map(|instance| {
            let message = instance.message.clone().unwrap_or_default();
            (instance.id.clone(), message)
        })
        .collect()
}

impl Actor for Service {
    type Msg = ServiceMsg;
    type State = ServiceState;
    type Arguments = ServiceArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: ServiceArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let view = args
            .context
            .store
            .load_service(&args.namespace, &args.name)?
            .ok_or_else(|| RuntimeError::NotFound(format!("service {}", args.name)))?;
        let host = args.context.host.clone();
        let deleting = view.service.phase == ServicePhase::Deleting;
        let failed = view.service.phase == ServicePhase::Failed;
        let mut state = ServiceState {
            args,
            instances: BTreeMap::new(),
            by_actor: HashMap::new(),
            deleting,
            failed,
        };
        for instance in view.instances.iter().filter(|i| i.host == host) {
            state.spawn_instance(&myself, &instance.id).await?;
        }
        Ok(state)
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut ServiceState,
    ) -> Result<(), ActorProcessingErr> {
        if state.failed {
            // A failed deploy stays as it ended until it is deleted.
            return Ok(());
        }
        let first = if state.deleting {
            ServiceMsg::Delete
        } else {
            match state.args.start {
                ServiceStart::Deploy => ServiceMsg::Deploy,
                ServiceStart::Resume => ServiceMsg::Resume,
            }
        };
        myself.cast(first)?;
        // One check at a time: the next is scheduled when this one ends, so a long deploy
        // is followed by one check, not a burst of queued ones.
        myself.send_after(CHECK_PERIOD, || ServiceMsg::Check);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut ServiceState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ServiceMsg::Deploy => {
                if let Err(error) = state
                    .run(|reply| NodeInstanceMsg::Deploy { reply }, false)
                    .await
                {
                    tracing::warn!(service = %state.args.name, %error, "deploy failed");
                    state.fail(error).await;
                }
            }
            ServiceMsg::Resume => {
                if let Err(error) = state
                    .run(|reply| NodeInstanceMsg::Adopt { reply }, false)
                    .await
                {
                    tracing::warn!(service = %state.args.name, %error, "adopting stopped");
                }
            }
            ServiceMsg::Check => {
                if !state.deleting && !state.failed {
                    let _ = state
                        .run(|reply| NodeInstanceMsg::Check { reply }, false)
                        .await;
                    myself.send_after(CHECK_PERIOD, || ServiceMsg::Check);
                }
            }
            ServiceMsg::Delete => {
                state.deleting = true;
                let context = &state.args.context;
                let (namespace, name) = (&state.args.namespace, &state.args.name);
                match state
                    .run(|reply| NodeInstanceMsg::Delete { reply }, true)
                    .await
                {
                    Ok(()) => {
                        // The instances' host-private files (logs, pid files) go first: once
                        // the records are gone, whoever waits for the delete sees it done.
                        let private = context.runtime.service_dir(namespace, name);
                        if let Err(error) = std::fs::remove_dir_all(&private)
                            && error.kind() != std::io::ErrorKind::NotFound
                        {
                            tracing::warn!(path = %private.display(), %error, "could not remove");
                        }
                        match context.lock_manager.remove_service(namespace, name).await {
                            Ok(()) => myself.stop(Some("deleted".into())),
                            Err(error) => {
                                tracing::warn!(service = %name, %error, "could not remove")
                            }
                        }
                    }
                    Err(error) => tracing::warn!(service = %name, %error, "delete stopped"),
                }
            }
            ServiceMsg::Logs { instance, reply } => {
                let mut sources = Vec::new();
                let mut result = Ok(());
                for (id, actor) in &state.instances {
                    if instance.as_ref().is_some_and(|wanted| wanted != id) {
                        continue;
                    }
                    match actor
                        .call(|reply| NodeInstanceMsg::Logs { reply }, None)
                        .await
                    {
                        Ok(ractor::rpc::CallResult::Success(Ok(source))) => {
                            sources.push((id.clone(), source))
                        }
                        Ok(ractor::rpc::CallResult::Success(Err(error))) => {
                            result = Err(error);
                            break;
                        }
                        _ => {
                            result = Err(RuntimeError::Unreachable("node instance actor"));
                            break;
                        }
                    }
                }
                if let Some(wanted) = &instance
                    && !state.instances.contains_key(wanted)
                    && result.is_ok()
                {
                    result = Err(RuntimeError::NotFound(format!(
                        "service {} has no instance {wanted} on this host",
                        state.args.name
                    )));
                }
                let _ = reply.send(result.map(|()| sources));
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut ServiceState,
    ) -> Result<(), ActorProcessingErr> {
        // A NodeInstance actor only ends when this Service ends: any other end is a crash (a
        // failure, or a kill), and the actor is spawned again to carry on from the store.
        let (cell, reason) = match event {
            SupervisionEvent::ActorFailed(cell, error) => (cell, error.to_string()),
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                (cell, reason.unwrap_or_else(|| "killed".into()))
            }
            _ => return Ok(()),
        };
        if let Some(id) = state.by_actor.remove(&cell.get_id()) {
            state.instances.remove(&id);
            tracing::warn!(service = %state.args.name, instance = %id, %reason, "node instance actor ended; restarting it");
            state.spawn_instance(&myself, &id).await?;
        }
        Ok(())
    }
}
