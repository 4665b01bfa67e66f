//! The deterministic simulation harness: the agent's own code over simulated time and a
//! simulated network, many hosts in one process, faults injected, invariants checked, and any
//! run replayed exactly from its seed.
//!
//! What runs here today is the agent's membership layer: real [`Membership`] actors (foca's
//! SWIM, the agent's identity, codec, tuning and joining through the store's host records)
//! over [`SimNetwork`], a datagram network that delays, drops and partitions by a seeded
//! random generator, on tokio's paused clock (virtual time that jumps to the next timer when
//! every task waits, so a minute of SWIM takes a fraction of a second). Run it on a
//! current-thread runtime with the clock paused (`#[tokio::test(start_paused = true)]`): then
//! the same seed gives the same run, datagram for datagram.
//!
//! [`random_faults`] draws a run of faults from a seed; `examples/sweep.rs` runs it over many
//! seeds, and the seeds that once found a bug stay in `tests/membership.rs`.
//!
//! Not simulated yet (the next seams to bring in): the host-to-host message transport, the
//! store's filesystem with NFS's lock and rename behaviour (the store here is a local
//! directory), and the delegates' effects.
//!
//! [`Membership`]: khutulun::actors::membership::Membership

mod cluster;
mod network;
mod random_faults;

pub use cluster::{HostState, MembershipSim};
pub use network::{NetworkFaults, NetworkStats, SimNetwork, SimTransport};
pub use random_faults::{AGREEMENT_LIMIT, HOSTS, random_faults};
