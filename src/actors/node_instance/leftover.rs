//! Removing a leftover: the workload of an instance that this host ran but that now runs on
//! another host (moved while this host was down or cut off). Its delegate deletes it by the
//! names and private files it finds here, and the networked directories it attached are given
//! back here; its record, now the other host's, is not touched.

use crate::delegates::protocol::{self, Attributes, Operation};
use crate::state::ServiceView;

use super::super::{Context, RuntimeError};
use super::target;

/// Deletes what is left here of instance `id` of `view`, and its private directory.
pub async fn remove_leftover(
    context: &Context,
    view: &ServiceView,
    id: &str,
) -> Result<(), RuntimeError> {
    let service = &view.service;
    let state_dir = context
        .runtime
        .instance_dir(&service.namespace, &service.name, id);
    let target = target(context, view, id, state_dir.clone())?;
    if let Some(delegate) = &target.delegate {
        let deleted = protocol::delete(delegate, target.spec.clone(), Attributes::new());
        context
            .deadlines
            .bound(Operation::Delete, &target.spec, deleted)
            .await?;
    }
    super::mounts::detach(context, view, &target.spec).await?;
    if let Err(error) = context.runtime.filesystem().remove_dir_all(&state_dir) {
        tracing::warn!(path = %state_dir.display(), %error, "could not remove");
    }
    Ok(())
}
