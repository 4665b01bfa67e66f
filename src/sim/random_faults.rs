//! Random faults over simulated membership, all drawn from one seed: a network that loses
//! 0–10% of datagrams, then 2–5 faults (a crash, a restart, a partition) with 5–30 s of virtual
//! time after each; then the network heals and every crashed host starts again, and the hosts
//! must agree on who is alive within [`AGREEMENT_LIMIT`]. `examples/sweep.rs` runs many seeds;
//! the seeds that once found a bug are replayed by `tests/membership.rs`.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{MembershipSim, NetworkFaults};

/// How many hosts a run has.
pub const HOSTS: usize = 30;

/// How long, in virtual time, the hosts may take to agree after the last fault.
pub const AGREEMENT_LIMIT: Duration = Duration::from_secs(120);

/// Runs the faults `seed` draws; how long the hosts took to agree after them, or the
/// disagreement left at the limit.
pub async fn random_faults(seed: u64) -> Result<Duration, String> {
    let mut draw = StdRng::seed_from_u64(seed);
    let loss = draw.random_range(0.0..0.10);
    let mut sim = MembershipSim::start(seed, HOSTS, NetworkFaults::lossy(loss)).await;
    let all = sim.all();
    sim.until_agreement(&all, AGREEMENT_LIMIT).await?;
    let mut crashed = Vec::new();
    for _ in 0..draw.random_range(2..=5) {
        match draw.random_range(0..3) {
            0 => {
                let host = draw.random_range(0..HOSTS);
                sim.crash(host).await;
                crashed.push(host);
            }
            1 => sim.restart(draw.random_range(0..HOSTS)).await,
            _ => {
                let cut = draw.random_range(1..HOSTS);
                sim.partition(&[(0..cut).collect(), (cut..HOSTS).collect()]);
            }
        }
        sim.run_for(Duration::from_secs(draw.random_range(5..=30)))
            .await;
    }
    sim.network().heal();
    for host in crashed {
        sim.restart(host).await;
    }
    sim.until_agreement(&all, AGREEMENT_LIMIT).await
}
