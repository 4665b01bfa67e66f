//! The networked directories an instance attaches (its requirements whose target is a
//! `NetworkDirectory`): mounted on this host, the instance's own, before the instance is made
//! or adopted, and given back after it is deleted; the directory's delegate counts the
//! instances of this host that use a mount and unmounts it after the last one. The path each
//! such requirement gives the instance is the mount point on this host, wherever the
//! directory instance itself was placed.

use ractor::rpc::CallResult;

use crate::delegates::directory::{DirectoryMsg, NetworkPlan};
use crate::delegates::profile::types;
use crate::delegates::protocol::{DelegateError, InstanceSpec, Operation, is_a};
use crate::state::ServiceView;

use super::super::{Context, RuntimeError};
use super::spec;

/// The `NetworkDirectory` instances `spec` attaches, each with its private directory on this
/// host (where its mount point is, unless it names one).
pub fn network_directories(
    context: &Context,
    view: &ServiceView,
    spec: &InstanceSpec,
) -> Result<Vec<InstanceSpec>, RuntimeError> {
    spec.requirements
        .iter()
        .filter(|dependency| is_a(&dependency.target_types, types::NETWORK_DIRECTORY))
        .map(|dependency| {
            let state_dir =
                context
                    .runtime
                    .instance_dir(&spec.namespace, &spec.service, &dependency.target);
            spec::instance_spec(view, &dependency.target, state_dir)
        })
        .collect()
}

/// Gives each of `spec`'s requirements on a networked directory the directory's mount point on
/// this host as its `path`.
pub fn localize(
    context: &Context,
    view: &ServiceView,
    spec: &mut InstanceSpec,
) -> Result<(), RuntimeError> {
    for directory in network_directories(context, view, spec)? {
        let plan = NetworkPlan::of(&directory)?;
        let path = plan.mount_point.to_string_lossy().into_owned();
        for dependency in &mut spec.requirements {
            if dependency.target == directory.instance {
                dependency
                    .target_attributes
                    .insert("path".into(), path.clone().into());
            }
        }
    }
    Ok(())
}

/// Has each networked directory `spec` attaches mounted on this host for it (shared with
/// the other instances here, adopted when mounted already), within `operation`'s deadline.
pub async fn attach(
    context: &Context,
    view: &ServiceView,
    spec: &InstanceSpec,
    operation: Operation,
) -> Result<(), RuntimeError> {
    for directory in network_directories(context, view, spec)? {
        let holder = spec.qualified_name();
        ask(context, spec, operation, move |reply| {
            DirectoryMsg::Attach {
                directory: Box::new(directory),
                holder,
                reply,
            }
        })
        .await?;
    }
    Ok(())
}

/// Gives back, on this host, each networked directory `spec` attached: the mount goes with
/// the last instance here that uses it.
pub async fn detach(
    context: &Context,
    view: &ServiceView,
    spec: &InstanceSpec,
) -> Result<(), RuntimeError> {
    for directory in network_directories(context, view, spec)? {
        let holder = spec.qualified_name();
        ask(context, spec, Operation::Delete, move |reply| {
            DirectoryMsg::Detach {
                directory: Box::new(directory),
                holder,
                reply,
            }
        })
        .await?;
    }
    Ok(())
}

/// Asks this host's directory delegate, within the deadline of `operation`. A simulator's
/// delegates mount nothing: there is nothing to ask.
async fn ask<T: Send + 'static>(
    context: &Context,
    spec: &InstanceSpec,
    operation: Operation,
    build: impl FnOnce(crate::delegates::protocol::Reply<T>) -> DirectoryMsg,
) -> Result<Option<T>, RuntimeError> {
    let delegates = context.delegates();
    let Some(directory) = delegates.directory() else {
        return Ok(None);
    };
    let after = context.deadlines.of(operation);
    let asked = async {
        match directory.call(build, Some(after)).await {
            Ok(CallResult::Success(result)) => result,
            Ok(CallResult::Timeout) => Err(DelegateError::Failed(format!(
                "{}: the directory delegate did not mount or unmount within {} s",
                spec.qualified_name(),
                after.as_secs()
            ))),
            Ok(CallResult::SenderError) | Err(_) => {
                Err(DelegateError::Unreachable("directory".into()))
            }
        }
    };
    Ok(Some(context.deadlines.bound(operation, spec, asked).await?))
}
