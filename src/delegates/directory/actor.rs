//! The directory delegate's actor: answers lifecycle calls for local directories with the
//! functions of `ops`, each under its instance's claim of the path (see `claims`), and for
//! networked directories with `network`; mounts and unmounts networked directories for the
//! instances that attach them (see `attach`), one change at a time per directory.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::claims::{DirectoryClaims, canonical};
use super::message::DirectoryMsg;
use super::mounts::Mounts;
use super::ops::{self, DirectoryPlan};
use crate::delegates::profile::types;
use crate::delegates::protocol::{
    Attributes, DelegateError, DelegateMsg, ExecSource, InstanceSpec, LogSource, Observation, is_a,
};

/// Where the directory delegate of one host keeps its claims.
#[derive(Clone)]
pub struct DirectoryConfig {
    /// This host's name (claims are per host).
    pub host: String,
    /// The claim tables.
    pub claims: Arc<dyn DirectoryClaims>,
    /// How long a mount or unmount of a networked directory may take
    /// ([`super::MOUNT_DEADLINE`] unless the agent says otherwise).
    pub mount_deadline: std::time::Duration,
}

/// The directory delegate. It keeps no state of its own: everything is on the filesystem, in
/// the mount table, in the claim tables and in the attributes it is given.
pub struct DirectoryDelegate;

/// The delegate's configuration, and the turns of the changes to each mount.
pub struct DirectoryState {
    config: DirectoryConfig,
    mounts: Mounts,
}

impl Actor for DirectoryDelegate {
    type Msg = DirectoryMsg;
    type State = DirectoryState;
    type Arguments = DirectoryConfig;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        config: DirectoryConfig,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(DirectoryState {
            config,
            mounts: Mounts::default(),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let message = match message {
            DirectoryMsg::Lifecycle(message) => *message,
            DirectoryMsg::Attach {
                directory,
                holder,
                reply,
            } => {
                state
                    .mounts
                    .attach(&state.config, &directory, holder, reply);
                return Ok(());
            }
            DirectoryMsg::Detach {
                directory,
                holder,
                reply,
            } => {
                state
                    .mounts
                    .detach(&state.config, &directory, holder, reply);
                return Ok(());
            }
        };
        if is_network(&message) {
            state.mounts.lifecycle(&state.config, message);
            return Ok(());
        }
        let config = &state.config;
        match message {
            DelegateMsg::Create { spec, reply } => {
                let _ = reply.send(create(config, &spec).await);
            }
            DelegateMsg::Start {
                spec,
                attributes,
                reply,
            }
            | DelegateMsg::Stop {
                spec,
                attributes,
                reply,
            } => {
                let result = DirectoryPlan::of(&spec, &attributes).map(|plan| plan.attributes());
                let _ = reply.send(result);
            }
            DelegateMsg::Status {
                spec,
                attributes,
                reply,
            } => {
                let result = DirectoryPlan::of(&spec, &attributes).map(|plan| ops::observe(&plan));
                let _ = reply.send(result);
            }
            DelegateMsg::Adopt {
                spec,
                attributes,
                reply,
            } => {
                let _ = reply.send(adopt(config, &spec, &attributes).await);
            }
            DelegateMsg::Delete {
                spec,
                attributes,
                reply,
            } => {
                let _ = reply.send(delete(config, &spec, &attributes).await);
            }
            DelegateMsg::Exec { reply, .. } => {
                let _ = reply.send(Ok(ExecSource::None));
            }
            DelegateMsg::Logs { reply, .. } => {
                let _ = reply.send(Ok(LogSource::None));
            }
        }
        Ok(())
    }
}

/// Whether a lifecycle call is about a `NetworkDirectory` instance.
fn is_network(message: &DelegateMsg) -> bool {
    let spec = match message {
        DelegateMsg::Create { spec, .. }
        | DelegateMsg::Start { spec, .. }
        | DelegateMsg::Stop { spec, .. }
        | DelegateMsg::Status { spec, .. }
        | DelegateMsg::Adopt { spec, .. }
        | DelegateMsg::Delete { spec, .. }
        | DelegateMsg::Exec { spec, .. }
        | DelegateMsg::Logs { spec, .. } => spec,
    };
    is_a(&spec.types, types::NETWORK_DIRECTORY)
}

/// Runs filesystem work off the actor's thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, DelegateError> + Send + 'static,
) -> Result<T, DelegateError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DelegateError::Failed(format!("the directory task failed: {e}")))?
}

/// Claims the path for the instance (or says who holds it), then makes the directory; a
/// directory that could not be made gives its claim back.
async fn create(
    config: &DirectoryConfig,
    spec: &InstanceSpec,
) -> Result<Attributes, DelegateError> {
    let plan = DirectoryPlan::of(spec, &Attributes::new())?;
    claim(config, spec, &plan).await?;
    let made = {
        let plan = plan.clone();
        blocking(move || ops::create(&plan)).await
    };
    if made.is_err() {
        let _ = release(config, spec).await;
    }
    made
}

/// Claims the path again after a restart: a path held by another instance fails adoption.
async fn adopt(
    config: &DirectoryConfig,
    spec: &InstanceSpec,
    attributes: &Attributes,
) -> Result<Observation, DelegateError> {
    let plan = DirectoryPlan::of(spec, attributes)?;
    claim(config, spec, &plan).await?;
    blocking(move || Ok(ops::observe(&plan))).await
}

/// Removes the directory only when no other instance holds its path (an instance whose claim
/// was refused never removes the holder's files), then releases the instance's claims.
async fn delete(
    config: &DirectoryConfig,
    spec: &InstanceSpec,
    attributes: &Attributes,
) -> Result<(), DelegateError> {
    let plan = DirectoryPlan::of(spec, attributes)?;
    let table = config.claims.read(&config.host).await?;
    let owner = spec.qualified_name();
    blocking(move || {
        let held_by_another = table
            .holder(&canonical(&plan.path))
            .is_some_and(|claim| claim.owner != owner);
        if held_by_another {
            Ok(())
        } else {
            ops::delete(&plan)
        }
    })
    .await?;
    release(config, spec).await
}

async fn claim(
    config: &DirectoryConfig,
    spec: &InstanceSpec,
    plan: &DirectoryPlan,
) -> Result<(), DelegateError> {
    let owner = spec.qualified_name();
    let path = {
        let path = plan.path.clone();
        blocking(move || Ok(canonical(&path))).await?
    };
    claim_path(config, owner, path, plan.temporary).await
}

async fn release(config: &DirectoryConfig, spec: &InstanceSpec) -> Result<(), DelegateError> {
    release_claims(config, spec.qualified_name()).await
}

/// Claims the canonical `path` on this host for `owner` (see [`DirectoryClaims`]).
pub(super) async fn claim_path(
    config: &DirectoryConfig,
    owner: String,
    path: std::path::PathBuf,
    temporary: bool,
) -> Result<(), DelegateError> {
    let host = config.host.clone();
    config
        .claims
        .update(
            &config.host,
            Box::new(move |table| {
                table
                    .claim(&owner, &path, temporary, &host)
                    .map_err(|error| DelegateError::Failed(format!("{owner}: {error}")))
            }),
        )
        .await
}

/// Releases what `owner` claimed on this host.
pub(super) async fn release_claims(
    config: &DirectoryConfig,
    owner: String,
) -> Result<(), DelegateError> {
    config
        .claims
        .update(
            &config.host,
            Box::new(move |table| {
                table.release(&owner);
                Ok(())
            }),
        )
        .await
}
