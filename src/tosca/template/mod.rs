//! Service templates: node and relationship templates, requirement assignments, groups,
//! policies, substitution mappings and workflows.
//!
//! [`parse`] reads the grammar into [`model`]; the checks that need the type registry run
//! once types are known.

pub mod artifact;
pub mod check;
pub mod interface;
pub mod model;
pub mod parse;
mod read;
pub mod resolved;
pub mod substitution;

pub use model::*;
pub use resolved::*;
pub use substitution::{
    InterfaceMapping, MappedCount, MappingTarget, NodeValue, RelationshipIndex, RequirementMapping,
    SubstitutionMappings, ValueMapping,
};

#[cfg(test)]
mod tests;
