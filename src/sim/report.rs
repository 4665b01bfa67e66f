//! What `khutulun sim` prints: the timeline of a run and each invariant's verdict, as text for
//! a person or as JSON for a program (the same seed gives the same report, byte for byte).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// One thing that happened, at a virtual time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Milliseconds of virtual time since the simulation began.
    pub at_ms: u64,
    /// What kind of thing: `fault`, `repair`, `deploy`, `placement`, `state`, `membership`.
    pub kind: &'static str,
    /// What happened, in words.
    pub text: String,
}

/// Whether an invariant held for the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed.
    Held,
    /// A check failed (see `broken_at` and `why`).
    Broken,
}

/// One invariant's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvariantReport {
    /// Its name (see the README's list).
    pub name: &'static str,
    /// What it promises.
    pub promise: &'static str,
    /// Held or broken.
    pub verdict: Verdict,
    /// How many times it was checked (one whose bound was never reached is checked 0 times).
    pub checks: u64,
    /// When it first broke, in milliseconds of virtual time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at_ms: Option<u64>,
    /// What broke it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// A whole run's report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The seed everything followed from.
    pub seed: u64,
    /// How many hosts.
    pub hosts: usize,
    /// The virtual time simulated, in seconds.
    pub duration_s: u64,
    /// What happened, in order.
    pub timeline: Vec<Event>,
    /// Each invariant's verdict.
    pub invariants: Vec<InvariantReport>,
    /// What the network did: datagrams sent, lost at random, cut by partitions and crashes,
    /// delivered.
    pub datagrams: [u64; 4],
    /// The command that replays this run.
    pub replay: String,
}

impl Report {
    /// Whether every invariant held.
    pub fn held(&self) -> bool {
        self.invariants.iter().all(|i| i.verdict == Verdict::Held)
    }

    /// The report as JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// The report for a person.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} hosts, seed {}, {} of virtual time",
            self.hosts,
            self.seed,
            clock(Duration::from_secs(self.duration_s))
        );
        for event in &self.timeline {
            let at = clock(Duration::from_millis(event.at_ms));
            let _ = writeln!(out, "{at}  {:<10} {}", event.kind, event.text);
        }
        let _ = writeln!(out, "\ninvariants:");
        for invariant in &self.invariants {
            let verdict = match invariant.verdict {
                Verdict::Held => format!("held ({} checks)", invariant.checks),
                Verdict::Broken => format!(
                    "BROKEN at {}: {}",
                    clock(Duration::from_millis(invariant.broken_at_ms.unwrap_or(0))),
                    invariant.why.as_deref().unwrap_or("")
                ),
            };
            let _ = writeln!(out, "  {:<18} {verdict}", invariant.name);
        }
        let [sent, lost, cut, delivered] = self.datagrams;
        let _ = writeln!(
            out,
            "\ndatagrams: {sent} sent, {lost} lost, {cut} cut, {delivered} delivered"
        );
        let _ = writeln!(out, "replay: {}", self.replay);
        out
    }
}

/// `1:02:03.400` or `2:03.400`: a virtual time for people.
pub fn clock(time: Duration) -> String {
    let (millis, seconds) = (time.subsec_millis(), time.as_secs());
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match hours {
        0 => format!("{minutes}:{seconds:02}.{millis:03}"),
        _ => format!("{hours}:{minutes:02}:{seconds:02}.{millis:03}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_times_read_as_a_clock() {
        assert_eq!(clock(Duration::from_millis(123_400)), "2:03.400");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03.000");
    }
}
