//! Health checks of running instances: the checks a workload declares (HTTP GET, TCP connect,
//! a command's exit code) are tried on their intervals by the instance's Service actor, which
//! feeds what each try found to a [`Tracker`] (a pure state machine with thresholds) and records
//! the instance's health when the tracker changes its mind. The reconciler reads that health:
//! a deploy waits for it, dependents wait for it, an unhealthy instance is restarted.

mod probe;
mod tracker;

pub use probe::{Probe, try_once};
pub use tracker::{Change, Tracker};
