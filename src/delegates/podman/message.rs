//! The messages the podman delegate answers: those of every engine delegate.

/// Messages of the podman delegate.
pub type PodmanMsg = crate::delegates::engine_msg::EngineMsg;
