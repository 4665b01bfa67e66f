//! Pacing for loops that meet the same error again and again (an accept loop out of file
//! descriptors, a watcher that cannot read `/proc`): a growing pause, so the loop does not
//! spin, and a limit on warnings, so the log does not fill the disk.

use std::time::{Duration, Instant};

/// A pause that doubles after each failure up to a ceiling and starts over after a success.
#[derive(Clone, Debug)]
pub struct Backoff {
    first: Duration,
    ceiling: Duration,
    next: Duration,
}

impl Backoff {
    /// Pauses start at `first` and grow to at most `ceiling`.
    pub fn new(first: Duration, ceiling: Duration) -> Backoff {
        Backoff {
            first,
            ceiling,
            next: first,
        }
    }

    /// Another failure: how long to pause now (longer each time, up to the ceiling).
    pub fn failed(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(self.ceiling);
        now
    }

    /// A success: the next failure pauses the shortest time again.
    pub fn succeeded(&mut self) {
        self.next = self.first;
    }
}

/// At most one warning per interval; the warnings left out in between are counted, so the
/// next one can say how many there were.
#[derive(Clone, Debug)]
pub struct LogLimit {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimit {
    /// At most one warning per `interval`.
    pub fn new(interval: Duration) -> LogLimit {
        LogLimit {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// Something worth a warning happened at `now`: `Some(n)` when it may be logged (`n`
    /// warnings were left out since the last one), `None` when it is left out.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if !due {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_up_to_the_ceiling_and_starts_over_after_a_success() {
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(50));
        let pauses: Vec<u128> = (0..5).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 50, 50]);
        backoff.succeeded();
        assert_eq!(backoff.failed(), Duration::from_millis(10));
    }

    #[test]
    fn one_warning_per_interval_and_the_next_counts_those_left_out() {
        let mut limit = LogLimit::new(Duration::from_secs(1));
        let start = Instant::now();
        assert_eq!(limit.allow(start), Some(0));
        assert_eq!(limit.allow(start + Duration::from_millis(1)), None);
        assert_eq!(limit.allow(start + Duration::from_millis(999)), None);
        assert_eq!(limit.allow(start + Duration::from_secs(1)), Some(2));
        assert_eq!(limit.allow(start + Duration::from_millis(1500)), None);
        assert_eq!(limit.allow(start + Duration::from_secs(3)), Some(1));
    }
}
