//! The control channel between the `khutulun` CLI and the local agent.
//!
//! The agent listens on a Unix socket in its runtime directory (`--runtime`, private to this
//! host, so other hosts cannot reach it) and writes a random secret token beside it, readable
//! only by the agent's user (mode 0600). Every request carries that token; a request with a
//! wrong one is refused. Messages are typed ([`protocol`]): one JSON document per line, a
//! request from the CLI, one response from the agent.

pub mod client;
pub mod paths;
pub mod protocol;
pub mod server;
pub mod token;

pub use client::{Client, ClientError};
pub use paths::RuntimePaths;
