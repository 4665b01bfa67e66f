//! The NodeInstance actor: makes one node instance real by driving its delegate through the
//! lifecycle, and writes what the delegate reports back to the store through the LockManager.
//!
//! It keeps nothing but its identity: every step reads the service from the store, so a
//! restarted actor carries on where the store says its instance is.

mod lifecycle;
mod messages;
mod script;
mod spec;

pub use messages::{NodeInstanceMsg, StepReply};

use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::delegates::protocol::{
    self, Attributes, DelegateError, DelegateKind, DelegateRef, InstanceHealth, InstanceSpec,
    LogSource, Observation, Operation, delegate_for,
};
use crate::state::ServiceView;
use crate::state::records::InstanceState;

use super::lock_manager::InstanceUpdate;
use super::{Context, RuntimeError};

/// The NodeInstance actor.
pub struct NodeInstance;

/// Which instance an actor runs.
#[derive(Clone, Debug)]
pub struct NodeInstanceArgs {
    /// The agent's context.
    pub context: Context,
    /// The service's namespace.
    pub namespace: String,
    /// The service.
    pub service: String,
    /// The instance id.
    pub id: String,
}

impl Actor for NodeInstance {
    type Msg = NodeInstanceMsg;
    type State = NodeInstanceArgs;
    type Arguments = NodeInstanceArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: NodeInstanceArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        me: &mut NodeInstanceArgs,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            NodeInstanceMsg::Deploy { reply } => {
                let _ = reply.send(me.deploy().await);
            }
            NodeInstanceMsg::Adopt { reply } => {
                let _ = reply.send(me.adopt().await);
            }
            NodeInstanceMsg::Check { reply } => {
                let _ = reply.send(me.check().await);
            }
            NodeInstanceMsg::Delete { reply } => {
                let _ = reply.send(me.delete().await);
            }
            NodeInstanceMsg::Logs { reply } => {
                let _ = reply.send(me.logs().await);
            }
        }
        Ok(())
    }
}

/// The delegate of an instance, if its type has one (a node of an abstract type has nothing
/// to make real).
struct Target {
    spec: InstanceSpec,
    delegate: Option<DelegateRef>,
    attributes: Attributes,
    state: InstanceState,
    /// Whether the node has Lifecycle operations to run (most have none: then deploying
    /// reads the store no more often than the delegate's calls need).
    has_operations: bool,
    /// The attributes its operations set, kept when its delegate reports its own.
    output_attributes: Vec<String>,
}

impl Target {
    /// What a delegate reported, with the attributes the instance's operations set (the
    /// delegate knows nothing of them).
    fn with_outputs(&self, reported: Attributes) -> Attributes {
        lifecycle::keep_outputs(&self.output_attributes, &self.attributes, reported)
    }
}

impl NodeInstanceArgs {
    fn view(&self) -> Result<ServiceView, RuntimeError> {
        self.context
            .store
            .load_service(&self.namespace, &self.service)?
            .ok_or_else(|| {
                RuntimeError::NotFound(format!("service {} does not exist", self.service))
            })
    }

    fn target(&self) -> Result<Target, RuntimeError> {
        self.target_in(&self.view()?)
    }

    fn target_in(&self, view: &ServiceView) -> Result<Target, RuntimeError> {
        let state_dir = self
            .context
            .runtime
            .instance_dir(&self.namespace, &self.service, &self.id);
        let spec = spec::instance_spec(view, &self.id, state_dir)?;
        let node = spec::node(view, &self.id)?;
        let record = view
            .instances
            .iter()
            .find(|instance| instance.id == self.id)
            .ok_or_else(|| RuntimeError::NotFound(format!("instance {} has no record", self.id)))?;
        let delegate = match delegate_for(&spec.types) {
            Some(kind) => Some(self.delegate(kind)?),
            None => None,
        };
        Ok(Target {
            spec,
            delegate,
            attributes: record.attributes.clone(),
            state: record.state,
            has_operations: lifecycle::has_operations(node),
            output_attributes: lifecycle::output_attributes(node),
        })
    }

    fn delegate(&self, kind: DelegateKind) -> Result<DelegateRef, RuntimeError> {
        Ok(self.context.delegates().for_kind(kind)?)
    }

    async fn record(&self, update: InstanceUpdate) -> Result<(), RuntimeError> {
        self.context
            .lock_manager
            .update_instance(&self.namespace, &self.service, &self.id, update)
            .await
            .map(|_| ())
    }

    /// Runs a delegate call within this agent's deadline for `operation`.
    async fn bound<T>(
        &self,
        operation: Operation,
        spec: &InstanceSpec,
        call: impl std::future::Future<Output = Result<T, DelegateError>>,
    ) -> Result<T, DelegateError> {
        self.context.deadlines.bound(operation, spec, call).await
    }

    async fn record_failure(&self, error: RuntimeError) -> RuntimeError {
        if let Err(store_error) = self.record(InstanceUpdate::failed(error.to_string())).await {
            tracing::warn!(instance = %self.id, %store_error, "could not record a failure");
        }
        error
    }

    async fn deploy(&self) -> Result<(), RuntimeError> {
        match self.try_deploy().await {
            Ok(()) => Ok(()),
            Err(error) => Err(self.record_failure(error).await),
        }
    }

    async fn try_deploy(&self) -> Result<(), RuntimeError> {
        self.record(InstanceUpdate::state(InstanceState::Creating))
            .await?;
        let mut target = self.target()?;
        if let Some(delegate) = &target.delegate {
            let created = protocol::create(delegate, target.spec.clone());
            target.attributes = self.bound(Operation::Create, &target.spec, created).await?;
            self.record(InstanceUpdate {
                attributes: Some(target.attributes.clone()),
                ..InstanceUpdate::default()
            })
            .await?;
        }
        if target.has_operations {
            self.operate("create").await?;
            self.operate("configure").await?;
            // What they set may be read by the delegate's spec and must be kept.
            target = self.target()?;
        }
        if let Some(delegate) = &target.delegate {
            let started = protocol::start(delegate, target.spec.clone(), target.attributes.clone());
            let started = self.bound(Operation::Start, &target.spec, started).await?;
            self.record(InstanceUpdate {
                attributes: Some(target.with_outputs(started)),
                ..InstanceUpdate::default()
            })
            .await?;
        }
        if target.has_operations {
            self.operate("start").await?;
        }
        self.record(InstanceUpdate::state(InstanceState::Running))
            .await
    }

    /// Runs the instance's Lifecycle operation `operation`, if it has one, and records the
    /// attributes its outputs set.
    async fn operate(&self, operation: &str) -> Result<(), RuntimeError> {
        let view = self.view()?;
        let target = self.target_in(&view)?;
        let Some(run) = lifecycle::prepare(&view, &target.spec, operation)? else {
            return Ok(());
        };
        tracing::info!(instance = %self.id, operation = %run.name, "running");
        let outputs = script::run(&run).await?;
        if outputs.is_empty() {
            return Ok(());
        }
        let mut attributes = target.attributes;
        attributes.extend(outputs);
        self.record(InstanceUpdate {
            attributes: Some(attributes),
            ..InstanceUpdate::default()
        })
        .await
    }

    /// Records what the delegate saw: running (with its current attributes), restarting, or
    /// failed.
    async fn record_observation(&self, observation: Observation) -> Result<(), RuntimeError> {
        let update = match observation.health {
            InstanceHealth::Running => InstanceUpdate::state(InstanceState::Running),
            InstanceHealth::Stopped => InstanceUpdate::failed("it is stopped"),
            InstanceHealth::Failed { reason } => InstanceUpdate::failed(reason),
            InstanceHealth::Missing => InstanceUpdate::failed("it is gone"),
            // Its supervisor brings it back by itself: not a failure; the state stays as
            // recorded until an observation sees it running again (or failed).
            InstanceHealth::Restarting { reason } => InstanceUpdate {
                message: Some(Some(format!("restarting: {reason}"))),
                ..InstanceUpdate::default()
            },
        };
        self.record(InstanceUpdate {
            attributes: Some(observation.attributes),
            ..update
        })
        .await
    }

    async fn adopt(&self) -> Result<(), RuntimeError> {
        let target = self.target()?;
        match target.state {
            // Interrupted before it ran: make it again.
            InstanceState::Pending | InstanceState::Creating => return self.deploy().await,
            InstanceState::Deleting => return Ok(()),
            InstanceState::Running | InstanceState::Failed => {}
        }
        let Some(delegate) = target.delegate.clone() else {
            return Ok(());
        };
        let adopted = protocol::adopt(&delegate, target.spec.clone(), target.attributes.clone());
        match self.bound(Operation::Adopt, &target.spec, adopted).await {
            Ok(mut observation) => {
                observation.attributes = target.with_outputs(observation.attributes);
                self.record_observation(observation).await
            }
            Err(error) => Err(self.record_failure(error.into()).await),
        }
    }

    async fn check(&self) -> Result<(), RuntimeError> {
        let target = self.target()?;
        if !matches!(target.state, InstanceState::Running | InstanceState::Failed) {
            return Ok(());
        }
        let Some(delegate) = target.delegate.clone() else {
            return Ok(());
        };
        let seen = protocol::status(&delegate, target.spec.clone(), target.attributes.clone());
        let mut observation = self.bound(Operation::Status, &target.spec, seen).await?;
        observation.attributes = target.with_outputs(observation.attributes);
        let running = observation.health == InstanceHealth::Running;
        let restarting = matches!(observation.health, InstanceHealth::Restarting { .. });
        let unchanged = match target.state {
            InstanceState::Running => {
                (running || restarting) && observation.attributes == target.attributes
            }
            // A failed instance keeps the message of its failure until it runs again (its
            // delegate may restart it per its policy).
            _ => !running,
        };
        if unchanged {
            return Ok(());
        }
        self.record_observation(observation).await
    }

    async fn delete(&self) -> Result<(), RuntimeError> {
        let target = match self.target() {
            Ok(target) => target,
            Err(RuntimeError::NotFound(_)) => return Ok(()),
            Err(error) => return Err(error),
        };
        self.record(InstanceUpdate::state(InstanceState::Deleting))
            .await?;
        let deleted = async {
            if target.has_operations {
                self.operate("stop").await?;
            }
            if let Some(delegate) = &target.delegate {
                let deleted =
                    protocol::delete(delegate, target.spec.clone(), target.attributes.clone());
                self.bound(Operation::Delete, &target.spec, deleted).await?;
            }
            if target.has_operations {
                self.operate("delete").await?;
                script::forget(&target.spec.state_dir);
            }
            Ok(())
        }
        .await;
        match deleted {
            Ok(()) => Ok(()),
            Err(error) => Err(self.record_failure(error).await),
        }
    }

    async fn logs(&self) -> Result<LogSource, RuntimeError> {
        let target = self.target()?;
        match target.delegate {
            Some(delegate) => {
                let source = protocol::logs(&delegate, target.spec.clone(), target.attributes);
                Ok(self.bound(Operation::Logs, &target.spec, source).await?)
            }
            None => {
                let log = script::log_file(&target.spec.state_dir);
                Ok(if log.exists() {
                    LogSource::File(log)
                } else {
                    LogSource::None
                })
            }
        }
    }
}
