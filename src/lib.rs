//! Khutulun: a distributed, declarative orchestrator for services that speaks TOSCA 2.0.
//!
//! The library is split by concern, and the folders mirror the architecture:
//! [`tosca`] compiles service templates into topologies and instances; [`state`] is the shared
//! store every host mounts; [`actors`] is the runtime (host, lock manager, services, node
//! instances, delegates); [`delegates`] make resources real; [`cli`] is the thin client.

pub mod actors;
pub mod agent;
pub mod cli;
pub mod control;
pub mod delegates;
pub mod sim;
pub mod state;
pub mod throttle;
pub mod tosca;
