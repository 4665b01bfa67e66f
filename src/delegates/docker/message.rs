//! The messages the docker delegate answers: those of every engine delegate.

/// Messages of the docker delegate.
pub type DockerMsg = crate::delegates::engine_msg::EngineMsg;
