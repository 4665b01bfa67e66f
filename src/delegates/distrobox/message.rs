//! The messages the distrobox delegate answers: those of every engine delegate.

/// Messages of the distrobox delegate.
pub type DistroboxMsg = crate::delegates::engine_msg::EngineMsg;
