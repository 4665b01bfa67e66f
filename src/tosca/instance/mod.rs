//! Instantiation: node templates times their `count`, with relationships between the
//! instances, as the runtime deploys them.

pub mod model;

pub use model::{
    CapabilityInstance, Expression, Instantiation, NodeInstance, RelationshipInstance, TypeRef,
};
