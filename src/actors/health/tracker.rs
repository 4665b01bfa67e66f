//! One instance's health from its checks' tries: successes and failures in a row against each
//! check's thresholds, failures ignored during its start period. Pure: time is passed in
//! (time since the Service actor started), tries are reported back; tested as a table.

use std::time::Duration;

use crate::delegates::profile::HealthCheck;
use crate::state::records::Health;

/// What one check has shown so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// Not yet enough tries either way.
    Unknown,
    /// It reached its healthy threshold (and has not failed enough since).
    Passing,
    /// It reached its unhealthy threshold (and has not succeeded enough since).
    Failing,
}

#[derive(Clone, Debug)]
struct CheckState {
    name: String,
    check: HealthCheck,
    verdict: Verdict,
    successes: u32,
    failures: u32,
    due: Duration,
    trying: bool,
    last_error: Option<String>,
}

/// The instance's health changed: record it, with why when it is unhealthy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Its health now.
    pub health: Health,
    /// Which check failed and how, when unhealthy.
    pub reason: Option<String>,
}

/// The checks of one running instance and what they have shown since it started.
#[derive(Clone, Debug)]
pub struct Tracker {
    checks: Vec<CheckState>,
    started: Duration,
    health: Health,
}

impl Tracker {
    /// The checks of an instance that started (or was adopted) at `now` with `health` as last
    /// recorded: every check is tried at once.
    pub fn new(checks: Vec<(String, HealthCheck)>, now: Duration, health: Health) -> Tracker {
        let verdict = match health {
            Health::Healthy => Verdict::Passing,
            Health::Unhealthy => Verdict::Failing,
            Health::Unknown => Verdict::Unknown,
        };
        let checks = checks
            .into_iter()
            .map(|(name, check)| CheckState {
                name,
                check,
                verdict,
                successes: 0,
                failures: 0,
                due: now,
                trying: false,
                last_error: None,
            })
            .collect();
        Tracker {
            checks,
            started: now,
            health,
        }
    }

    /// Its health as last concluded.
    pub fn health(&self) -> Health {
        self.health
    }

    /// The checks due at `now` that are not being tried, marked as being tried: their
    /// positions with what to try.
    pub fn due(&mut self, now: Duration) -> Vec<(usize, HealthCheck)> {
        let mut due = Vec::new();
        for (index, state) in self.checks.iter_mut().enumerate() {
            if !state.trying && state.due <= now {
                state.trying = true;
                due.push((index, state.check.clone()));
            }
        }
        due
    }

    /// When the next check not being tried is due.
    pub fn next_due(&self) -> Option<Duration> {
        self.checks
            .iter()
            .filter(|state| !state.trying)
            .map(|state| state.due)
            .min()
    }

    /// Takes in how a try of check `index` ended at `now`; the instance's new health if it
    /// changed.
    pub fn tried(
        &mut self,
        index: usize,
        outcome: Result<(), String>,
        now: Duration,
    ) -> Option<Change> {
        let started = self.started;
        let state = self.checks.get_mut(index)?;
        state.trying = false;
        state.due = now + state.check.interval.0;
        match outcome {
            Ok(()) => {
                state.failures = 0;
                state.successes = state.successes.saturating_add(1);
                if state.successes >= state.check.healthy_threshold {
                    state.verdict = Verdict::Passing;
                }
            }
            // Failures while it is still starting do not count.
            Err(_) if now < started + state.check.start_period.0 => {}
            Err(error) => {
                state.successes = 0;
                state.failures = state.failures.saturating_add(1);
                state.last_error = Some(error);
                if state.failures >= state.check.unhealthy_threshold {
                    state.verdict = Verdict::Failing;
                }
            }
        }
        self.conclude()
    }

    /// The health the checks' verdicts make, if it is not the one last concluded.
    fn conclude(&mut self) -> Option<Change> {
        let failing = self.checks.iter().find(|s| s.verdict == Verdict::Failing);
        let health = match failing {
            Some(_) => Health::Unhealthy,
            None if self.checks.iter().all(|s| s.verdict == Verdict::Passing) => Health::Healthy,
            None => Health::Unknown,
        };
        if health == self.health {
            return None;
        }
        self.health = health;
        let reason = failing.map(|state| {
            let times = if state.failures == 1 { "time" } else { "times" };
            format!(
                "health check {} failed {} {times} in a row: {}",
                state.name,
                state.failures,
                state.last_error.as_deref().unwrap_or("no reason given")
            )
        });
        Some(Change { health, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::profile::TimeSpan;

    fn check(healthy: u32, unhealthy: u32, start_period: u64) -> HealthCheck {
        serde_json::from_value(serde_json::json!({
            "tcp": "127.0.0.1:1",
            "interval": "1 s",
            "healthy_threshold": healthy,
            "unhealthy_threshold": unhealthy,
            "start_period": format!("{start_period} s"),
        }))
        .unwrap()
    }

    fn s(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    /// Runs tries of one check `(second, succeeded)` and lists the health after each.
    fn run(check: HealthCheck, start: Health, tries: &[(u64, bool)]) -> Vec<Health> {
        let mut tracker = Tracker::new(vec![("web".into(), check)], s(0), start);
        tries
            .iter()
            .map(|&(at, ok)| {
                assert_eq!(tracker.due(s(at)).len(), 1, "due at {at}");
                let outcome = if ok { Ok(()) } else { Err("refused".into()) };
                tracker.tried(0, outcome, s(at));
                tracker.health()
            })
            .collect()
    }

    #[test]
    fn thresholds_and_start_period_decide_health() {
        use Health::{Healthy as H, Unhealthy as X, Unknown as U};
        /// A case: its name, the check, the health it starts with, the tries (second,
        /// succeeded) and the health after each.
        type Case<'a> = (
            &'a str,
            HealthCheck,
            Health,
            &'a [(u64, bool)],
            &'a [Health],
        );
        let cases: &[Case] = &[
            (
                "one success is enough by default",
                check(1, 3, 0),
                U,
                &[(0, true)],
                &[H],
            ),
            (
                "three failures in a row make it unhealthy",
                check(1, 3, 0),
                H,
                &[(0, false), (1, false), (2, false)],
                &[H, H, X],
            ),
            (
                "a success resets the failures",
                check(1, 3, 0),
                H,
                &[(0, false), (1, false), (2, true), (3, false), (4, false)],
                &[H, H, H, H, H],
            ),
            (
                "two successes needed after failing",
                check(2, 1, 0),
                U,
                &[(0, false), (1, true), (2, true)],
                &[X, X, H],
            ),
            (
                "failures in the start period do not count",
                check(1, 1, 3),
                U,
                &[(0, false), (1, false), (2, false), (3, false)],
                &[U, U, U, X],
            ),
            (
                "a late answer within the start period is healthy",
                check(1, 2, 5),
                U,
                &[(0, false), (1, false), (2, false), (3, true)],
                &[U, U, U, H],
            ),
            (
                "adopted healthy stays so until failures reach the threshold",
                check(1, 2, 0),
                H,
                &[(0, false), (1, false)],
                &[H, X],
            ),
        ];
        for (name, check, start, tries, expected) in cases {
            assert_eq!(run(check.clone(), *start, tries), *expected, "{name}");
        }
    }

    #[test]
    fn a_check_is_not_tried_twice_at_once_and_waits_its_interval() {
        let mut tracker = Tracker::new(vec![("web".into(), check(1, 3, 0))], s(0), Health::Unknown);
        assert_eq!(tracker.due(s(0)).len(), 1);
        assert!(tracker.due(s(5)).is_empty(), "still being tried");
        assert_eq!(tracker.next_due(), None);
        let change = tracker.tried(0, Ok(()), s(2));
        assert_eq!(
            change,
            Some(Change {
                health: Health::Healthy,
                reason: None
            })
        );
        assert_eq!(tracker.next_due(), Some(s(3)));
        assert!(tracker.due(s(2)).is_empty());
        assert_eq!(tracker.due(s(3)).len(), 1);
    }

    #[test]
    fn every_check_must_pass_and_any_failing_one_says_why() {
        let mut slow = check(1, 1, 0);
        slow.interval = TimeSpan(s(10));
        let checks = vec![("page".into(), check(1, 1, 0)), ("db".into(), slow)];
        let mut tracker = Tracker::new(checks, s(0), Health::Unknown);
        assert_eq!(tracker.due(s(0)).len(), 2);
        assert_eq!(tracker.tried(0, Ok(()), s(0)), None, "db not yet passing");
        let healthy = tracker.tried(1, Ok(()), s(0)).unwrap();
        assert_eq!(healthy.health, Health::Healthy);
        tracker.due(s(1));
        let sick = tracker.tried(0, Err("HTTP 500".into()), s(1)).unwrap();
        assert_eq!(sick.health, Health::Unhealthy);
        assert_eq!(
            sick.reason.as_deref(),
            Some("health check page failed 1 time in a row: HTTP 500")
        );
    }
}
