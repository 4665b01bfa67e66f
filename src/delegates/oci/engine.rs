//! The calls the container lifecycle makes of an engine's API (Podman's, a Docker Engine's),
//! and the container as either shows it.

use std::future::Future;

use crate::delegates::podman::health::ContainerState;
use crate::delegates::podman::{ContainerIdentity, ContainerPlan};
use crate::delegates::protocol::{Attributes, DelegateError};

/// An instance's container as its engine shows it.
#[derive(Clone, Debug)]
pub struct Found {
    /// The engine's id of it.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is doing.
    pub state: ContainerState,
    /// The OCI runtime the engine runs it with.
    pub runtime: Option<String>,
}

impl Found {
    /// The instance's attributes: `container_id` and `name`.
    pub fn attributes(&self) -> Attributes {
        let mut attributes = Attributes::new();
        attributes.insert("container_id".into(), self.id.clone().into());
        attributes.insert("name".into(), self.name.clone().into());
        attributes
    }
}

/// One engine's API, as the container lifecycle uses it. Every call fails with one sentence
/// that names what it was doing.
pub trait ContainerEngine: Sync {
    /// Its name in messages: "Podman", "the Docker engine".
    fn name(&self) -> &'static str;

    /// What to do about an OCI runtime it does not know, in one clause.
    fn runtime_hint(&self) -> &'static str;

    /// The instance's container: the one of its name (refused when Khutulun did not make it),
    /// else one that carries its labels (renamed by hand); `None` when there is none.
    fn find(
        &self,
        identity: &ContainerIdentity,
    ) -> impl Future<Output = Result<Option<Found>, DelegateError>> + Send;

    /// Makes the plan's image present and creates its container (none of its name exists).
    fn create(
        &self,
        plan: &ContainerPlan,
    ) -> impl Future<Output = Result<Found, DelegateError>> + Send;

    /// Starts container `id` (one running already is fine) and looks at it again.
    fn start(
        &self,
        identity: &ContainerIdentity,
        id: &str,
    ) -> impl Future<Output = Result<Found, DelegateError>> + Send;

    /// Stops `container` (one stopped or gone already is fine).
    fn stop(&self, container: &Found) -> impl Future<Output = Result<(), DelegateError>> + Send;

    /// Removes container `id`, stopping it first (one gone already is fine).
    fn remove(&self, id: &str) -> impl Future<Output = Result<(), DelegateError>> + Send;
}
