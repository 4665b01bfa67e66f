//! The messages the libvirt delegate answers: those of every engine delegate.

/// Messages of the libvirt delegate.
pub type LibvirtMsg = crate::delegates::engine_msg::EngineMsg;
