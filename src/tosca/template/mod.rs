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

pub use model::*;
pub use resolved::*;

#[cfg(test)]
mod tests;
