//! Why a service cannot be placed.

/// A placement that cannot be made: the policy it breaks, when one does, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", policy.as_ref().map(|p| format!("policy `{p}`: ")).unwrap_or_default())]
pub struct PlacementError {
    /// The policy that cannot be met, by name.
    pub policy: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl PlacementError {
    /// Policy `policy` cannot be met.
    pub fn policy(policy: &str, message: String) -> PlacementError {
        PlacementError {
            policy: Some(policy.to_owned()),
            message,
        }
    }

    /// No host can run an instance, whatever the policies.
    pub fn unplaceable(message: String) -> PlacementError {
        PlacementError {
            policy: None,
            message,
        }
    }
}
