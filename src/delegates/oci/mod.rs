//! What the podman and docker delegates share: the lifecycle of one container instance,
//! written once over [`ContainerEngine`], the few calls that differ between Podman's API and a
//! Docker Engine API.

mod engine;
pub mod kata;
mod lifecycle;
mod pod_logs;

pub use engine::{ContainerEngine, Found};
pub use lifecycle::{create, create_fresh, delete, missing, observe, start, stop};
pub use pod_logs::{pod_logs, shell_quote};
