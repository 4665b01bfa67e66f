//! The scheduler: which host runs each instance of a service, by its policies.
//!
//! The decisions are pure functions ([`placement`]) over the live hosts and the service's
//! instances and policies ([`policy`]); they are tested as tables. A policy that cannot be met
//! is an error at deploy time that names it, never a partial deployment.

mod error;
pub mod failover;
#[cfg(test)]
mod failover_tests;
pub mod placement;
#[cfg(test)]
mod placement_tests;
pub mod policy;
mod service;

pub use error::PlacementError;
pub use placement::{Candidate, Placed, Unit, counts, place, place_beside};
pub use policy::{HostSelector, Policy, Rule};
pub use service::{templates, units};
