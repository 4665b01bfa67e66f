//! The deterministic simulation harness: the agent's own code over simulated time, network,
//! store and workloads, many hosts in one process, faults injected, invariants checked as it
//! goes, and any run replayed exactly from its seed.
//!
//! Two harnesses share the seams:
//!
//! - [`MembershipSim`] runs the agent's membership layer alone: real `Membership` actors
//!   (foca's SWIM, the agent's identity, codec and tuning) over [`SimNetwork`]. It is what the
//!   membership sweep and the scale figures use.
//! - [`AgentCluster`] runs whole agents: each host's real Host actor with its Membership,
//!   LockManager, scheduler, Service and NodeInstance actors, over [`SimNetwork`], the shared
//!   store on a [`SimFs`] disk, [`SimClock`] and [`Workloads`] (a process table instead of
//!   processes). [`simulate`] deploys a service on it under faults and checks the
//!   [invariants](invariants::INVARIANTS); `khutulun sim` prints its [`Report`].
//!
//! Run either on a current-thread runtime whose clock is paused (virtual time that jumps to the
//! next timer when every task waits): then the same seed gives the same run. The store's work,
//! which runs on tokio's blocking pool in production, runs as tasks of that one thread here
//! ([`crate::state::Filesystem::blocks`]).
//!
//! Not simulated: host-to-host messages (the agents run without peers and learn of each other's
//! decisions from the store), a store that stalls rather than fails, and stale reads.
//!
//! [`Membership`]: crate::actors::membership::Membership

mod agents;
mod clock;
mod faults;
mod fs;
pub mod invariants;
mod membership;
mod network;
mod random_faults;
mod report;
mod run;
mod workloads;

pub use agents::{AgentCluster, STORE_ROOT};
pub use clock::{EPOCH_MILLIS, SimClock};
pub use faults::{Fault, FaultKind};
pub use fs::SimFs;
pub use membership::{HostState, MembershipSim};
pub use network::{NetworkFaults, NetworkStats, SimNetwork, SimTransport};
pub use random_faults::{AGREEMENT_LIMIT, HOSTS, random_faults};
pub use report::{Event, InvariantReport, Report, Verdict};
pub use run::{SimOptions, simulate};
pub use workloads::{StandIns, WorkloadState, Workloads};
