//! The messages the nspawn delegate answers: those of every engine delegate.

/// Messages of the nspawn delegate.
pub type NspawnMsg = crate::delegates::engine_msg::EngineMsg;
