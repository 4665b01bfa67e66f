//! The clock seam: the store stamps records with the time, and the simulator runs virtual time.

use chrono::{SecondsFormat, Utc};

/// Where the current time comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, as an RFC 3339 UTC timestamp (how records store time).
    fn now_rfc3339(&self) -> String;

    /// Now, in milliseconds since the Unix epoch (for what hosts compare: SWIM datagrams'
    /// freshness, members' generations).
    fn unix_millis(&self) -> u64;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_rfc3339(&self) -> String {
        Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    fn unix_millis(&self) -> u64 {
        u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_gives_an_rfc3339_utc_timestamp() {
        let now = SystemClock.now_rfc3339();
        assert!(chrono::DateTime::parse_from_rfc3339(&now).is_ok(), "{now}");
        assert!(now.ends_with('Z'), "{now}");
        let millis = SystemClock.unix_millis();
        assert!(millis > 1_700_000_000_000, "{millis}");
    }
}
