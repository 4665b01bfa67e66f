//! TOSCA 2.0: load → parse (with spans) → types → validate → topology → instances.
//!
//! Every stage reads spanned [`value::Value`]s and records what is wrong in
//! [`problem::Problems`], so one run reports every mistake with its file:line:column.

pub mod instance;
pub mod problem;
pub mod source;
pub mod value;
pub mod yaml;
