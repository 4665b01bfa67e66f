//! Virtual time as the store and SWIM read it: a fixed epoch plus the virtual time elapsed
//! since the simulation began (tokio's paused clock), so that no wall-clock reading leaks in.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::state::Clock;

/// When every simulation begins: 2026-01-01T00:00:00Z.
pub const EPOCH_MILLIS: u64 = 1_767_225_600_000;

/// The store's clock in a simulation: [`EPOCH_MILLIS`] plus the virtual time since it was made,
/// plus the skew of the host that reads it.
#[derive(Clone, Debug)]
pub struct SimClock {
    began: tokio::time::Instant,
    /// How far this clock is ahead of the simulation's (behind when negative), in
    /// milliseconds; shared by the clones, so that a fault can skew a running host's clock.
    skew_millis: Arc<AtomicI64>,
}

impl SimClock {
    /// A clock that reads [`EPOCH_MILLIS`] now; call it inside the simulation's runtime.
    pub fn starting_now() -> Self {
        SimClock {
            began: tokio::time::Instant::now(),
            skew_millis: Arc::default(),
        }
    }

    /// A clock of its own for one host: the same time, with a skew of its own.
    pub fn for_host(&self) -> Self {
        SimClock {
            began: self.began,
            skew_millis: Arc::new(AtomicI64::new(0)),
        }
    }

    /// From now on this clock (and its clones) reads `skew_millis` ahead of the simulation's
    /// time (behind when negative), as the clock of a host that is off.
    pub fn skew(&self, skew_millis: i64) {
        self.skew_millis.store(skew_millis, Ordering::Relaxed);
    }

    /// The virtual time since the simulation began.
    pub fn elapsed(&self) -> std::time::Duration {
        self.began.elapsed()
    }
}

impl Clock for SimClock {
    fn now_rfc3339(&self) -> String {
        let millis = i64::try_from(self.unix_millis()).unwrap_or(i64::MAX);
        DateTime::<Utc>::from_timestamp_millis(millis)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    fn unix_millis(&self) -> u64 {
        let elapsed = u64::try_from(self.elapsed().as_millis()).unwrap_or(u64::MAX);
        EPOCH_MILLIS
            .saturating_add(elapsed)
            .saturating_add_signed(self.skew_millis.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn virtual_time_moves_the_clock_and_the_wall_clock_does_not() {
        let clock = SimClock::starting_now();
        assert_eq!(clock.now_rfc3339(), "2026-01-01T00:00:00.000Z");
        tokio::time::sleep(std::time::Duration::from_secs(90)).await;
        assert_eq!(clock.now_rfc3339(), "2026-01-01T00:01:30.000Z");
        let host = clock.for_host();
        host.skew(-500);
        assert_eq!(host.unix_millis(), EPOCH_MILLIS + 89_500);
        assert_eq!(clock.unix_millis(), EPOCH_MILLIS + 90_000);
    }
}
