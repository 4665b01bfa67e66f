//! Turning runtime errors into the control channel's failures.

use crate::control::protocol::{Failure, FailureKind};
use crate::state::StoreError;

use super::super::RuntimeError;

/// The failure a CLI sees for `error`.
pub fn failure(error: RuntimeError) -> Failure {
    let kind = match &error {
        RuntimeError::Remote { failure, .. } => failure.kind,
        RuntimeError::Template(_) => FailureKind::InvalidTemplate,
        RuntimeError::Invalid(_)
        | RuntimeError::Placement(_)
        | RuntimeError::Store(StoreError::InvalidName { .. }) => FailureKind::BadRequest,
        RuntimeError::NotFound(_) | RuntimeError::Store(StoreError::NotFound(_)) => {
            FailureKind::NotFound
        }
        RuntimeError::Store(StoreError::AlreadyExists(_) | StoreError::Conflict(_))
        | RuntimeError::InUse(_) => FailureKind::Conflict,
        _ => FailureKind::Internal,
    };
    Failure {
        kind,
        message: error.to_string(),
    }
}
