//! The faults a simulation injects: as a person writes them (`kill host-3 at 2m`,
//! `partition host-1,host-2 at 4m for 1m`), or drawn at random from the run's seed.

use std::fmt;
use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;

use crate::cli::service::parse_duration;

/// What goes wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The machine crashes: its agent and its workloads are gone (back after `for`).
    Kill(String),
    /// The agent crashes; its workloads keep running (it starts again after `for`).
    CrashAgent(String),
    /// These hosts are cut off from the others (the store stays reachable).
    Partition(Vec<String>),
    /// The host cannot reach the store.
    CutStore(String),
    /// Every start of a workload on the host fails.
    FailStarts(String),
    /// The instance (its id, e.g. `web-0`) crashes wherever it runs.
    Crash(String),
    /// The host's clock runs this many milliseconds ahead (behind when negative).
    Skew(String, i64),
    /// Every start of a workload on the host takes this many milliseconds to answer.
    SlowStarts(String, u64),
    /// The network loses this percentage of its datagrams.
    Loss(u32),
    /// The network delivers this percentage of its datagrams twice.
    Duplicate(u32),
    /// What the first host sends to the second is lost; the other way works.
    OneWay(String, String),
    /// The store's disk is full: it holds no more than it held when the fault struck.
    FullDisk,
}

/// A fault, when it strikes and how long it lasts (`None`: for good, or at once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// When, in virtual time since the simulation began.
    pub at: Duration,
    /// For how long; after it the fault is undone (the host starts again, the network heals).
    pub lasting: Option<Duration>,
}

/// `10%` as 10: a whole percentage from 0 to 100.
fn percent(text: &str) -> Option<u32> {
    text.strip_suffix('%')?
        .parse()
        .ok()
        .filter(|percent| *percent <= 100)
}

/// How long a crashed agent stays down when the fault does not say.
const AGENT_RESTART_AFTER: Duration = Duration::from_secs(10);

impl Fault {
    /// Reads `KIND TARGET at TIME [for DURATION]`, e.g. `kill host-3 at 2m`, `partition
    /// host-1,host-2 at 4m for 1m`, `crash-agent host-2 at 1m`, `cut-store host-4 at 90s for
    /// 30s`, `fail-starts host-1 at 0s for 5m`, `crash web-0 at 3m`, `skew host-2:+30s at 1m
    /// for 2m` (its clock 30 s ahead; `-30s` behind), `loss 10% at 1m for 2m`, `duplicate 5% at
    /// 1m for 2m`, `one-way host-1->host-2 at 1m for 1m`, `full-disk store at 2m for 1m`,
    /// `slow-starts host-2:90s at 1m for 5m` (every start there answers after 90 s).
    pub fn parse(text: &str) -> Result<Fault, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let usage = || {
            format!(
                "fault {text:?}: expected KIND TARGET at TIME [for DURATION], KIND one of kill, \
                 crash-agent, partition, cut-store, fail-starts, slow-starts, crash, skew, loss, \
                 duplicate, one-way, full-disk (e.g. 'kill host-3 at 2m', 'skew host-2:+30s at 1m for 2m', \
                 'loss 10% at 1m for 1m', 'one-way host-1->host-2 at 1m for 1m', 'full-disk \
                 store at 2m for 1m')"
            )
        };
        let (kind, target, time, lasting) = match words.as_slice() {
            [kind, target, "at", time] => (*kind, *target, *time, None),
            [kind, target, "at", time, "for", lasting] => (*kind, *target, *time, Some(*lasting)),
            _ => return Err(usage()),
        };
        let duration = |value: &str| {
            parse_duration(value)
                .and_then(|seconds| u64::try_from(seconds).ok())
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    format!("fault {text:?}: {value} is not a duration such as 90s or 2m")
                })
        };
        let kind = match kind {
            "kill" => FaultKind::Kill(target.to_owned()),
            "crash-agent" => FaultKind::CrashAgent(target.to_owned()),
            "partition" => FaultKind::Partition(target.split(',').map(str::to_owned).collect()),
            "cut-store" => FaultKind::CutStore(target.to_owned()),
            "fail-starts" => FaultKind::FailStarts(target.to_owned()),
            "crash" => FaultKind::Crash(target.to_owned()),
            "skew" => {
                let (host, offset) = target.split_once(':').ok_or_else(usage)?;
                let (sign, amount) = match offset.split_at_checked(1) {
                    Some(("+", amount)) => (1, amount),
                    Some(("-", amount)) => (-1, amount),
                    _ => return Err(usage()),
                };
                let millis = i64::try_from(duration(amount)?.as_millis()).map_err(|_| usage())?;
                FaultKind::Skew(host.to_owned(), sign * millis)
            }
            "slow-starts" => {
                let (host, delay) = target.split_once(':').ok_or_else(usage)?;
                let millis = u64::try_from(duration(delay)?.as_millis()).map_err(|_| usage())?;
                FaultKind::SlowStarts(host.to_owned(), millis)
            }
            "loss" => FaultKind::Loss(percent(target).ok_or_else(usage)?),
            "duplicate" => FaultKind::Duplicate(percent(target).ok_or_else(usage)?),
            "one-way" => {
                let (from, to) = target.split_once("->").ok_or_else(usage)?;
                FaultKind::OneWay(from.to_owned(), to.to_owned())
            }
            "full-disk" if target == "store" => FaultKind::FullDisk,
            _ => return Err(usage()),
        };
        let mut lasting = lasting.map(duration).transpose()?;
        if matches!(kind, FaultKind::CrashAgent(_)) && lasting.is_none() {
            lasting = Some(AGENT_RESTART_AFTER);
        }
        let needs_end = !matches!(
            kind,
            FaultKind::Kill(_) | FaultKind::CrashAgent(_) | FaultKind::Crash(_)
        );
        if needs_end && lasting.is_none() {
            return Err(format!("fault {text:?}: say how long it lasts (`for 1m`)"));
        }
        Ok(Fault {
            kind,
            at: duration(time)?,
            lasting,
        })
    }

    /// The percentage of datagrams this fault loses and duplicates (zero for other faults).
    pub fn unreliability(&self) -> (u32, u32) {
        match self.kind {
            FaultKind::Loss(percent) => (percent, 0),
            FaultKind::Duplicate(percent) => (0, percent),
            _ => (0, 0),
        }
    }

    /// When the fault is over, if it ends.
    pub fn ends(&self) -> Option<Duration> {
        self.lasting.map(|lasting| self.at + lasting)
    }

    /// Draws a fault at `at` among `hosts` and `instances`, lasting at most `room`.
    pub fn random(
        draw: &mut StdRng,
        at: Duration,
        room: Duration,
        hosts: &[String],
        instances: &[String],
    ) -> Fault {
        let host = hosts[draw.random_range(0..hosts.len())].clone();
        let longest = room.as_secs().max(6);
        let lasting = Some(Duration::from_secs(draw.random_range(5..=longest.min(120))));
        let (kind, lasting) = match draw.random_range(0..7) {
            0 => (FaultKind::Kill(host), lasting),
            1 => (FaultKind::CrashAgent(host), lasting),
            2 => {
                let size = draw.random_range(1..=(hosts.len() / 2).max(1));
                let mut side = hosts.to_vec();
                for i in (1..side.len()).rev() {
                    side.swap(i, draw.random_range(0..=i));
                }
                side.truncate(size);
                side.sort();
                (FaultKind::Partition(side), lasting)
            }
            3 => (FaultKind::CutStore(host), lasting),
            4 => (FaultKind::FailStarts(host), lasting),
            5 => {
                let millis = draw.random_range(-30..=30) * 1000;
                (FaultKind::Skew(host, millis), lasting)
            }
            _ if instances.is_empty() => (FaultKind::CrashAgent(host), lasting),
            _ => {
                let instance = instances[draw.random_range(0..instances.len())].clone();
                (FaultKind::Crash(instance), None)
            }
        };
        Fault { kind, at, lasting }
    }

    /// Draws a fault of the network, the store's disk or a host's engine at `at` among
    /// `hosts`, lasting at most `room` (and at most a minute): datagrams lost or duplicated,
    /// one host's messages to another lost, a full disk, slow starts. They are drawn from a
    /// stream of their own, so that a seed's other faults stay what they were.
    pub fn random_environment(
        draw: &mut StdRng,
        at: Duration,
        room: Duration,
        hosts: &[String],
    ) -> Fault {
        let longest = room.as_secs().clamp(6, 60);
        let lasting = Some(Duration::from_secs(draw.random_range(5..=longest)));
        let host = |draw: &mut StdRng| hosts[draw.random_range(0..hosts.len())].clone();
        let kind = match draw.random_range(0..5) {
            0 => FaultKind::Loss(draw.random_range(5..=30)),
            1 => FaultKind::Duplicate(draw.random_range(5..=30)),
            2 if hosts.len() > 1 => {
                let from = host(draw);
                let to = loop {
                    let to = host(draw);
                    if to != from {
                        break to;
                    }
                };
                FaultKind::OneWay(from, to)
            }
            3 => FaultKind::FullDisk,
            _ => {
                let millis = draw.random_range(1..=30) * 1000;
                FaultKind::SlowStarts(host(draw), millis)
            }
        };
        Fault { kind, at, lasting }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, target) = match &self.kind {
            FaultKind::Kill(host) => ("kill", host.clone()),
            FaultKind::CrashAgent(host) => ("crash-agent", host.clone()),
            FaultKind::Partition(hosts) => ("partition", hosts.join(",")),
            FaultKind::CutStore(host) => ("cut-store", host.clone()),
            FaultKind::FailStarts(host) => ("fail-starts", host.clone()),
            FaultKind::Crash(instance) => ("crash", instance.clone()),
            FaultKind::Skew(host, millis) => {
                // Skews are whole seconds, as they are written.
                let sign = if *millis < 0 { '-' } else { '+' };
                let seconds = millis.unsigned_abs() / 1000;
                ("skew", format!("{host}:{sign}{seconds}s"))
            }
            FaultKind::SlowStarts(host, millis) => {
                ("slow-starts", format!("{host}:{}s", millis / 1000))
            }
            FaultKind::Loss(percent) => ("loss", format!("{percent}%")),
            FaultKind::Duplicate(percent) => ("duplicate", format!("{percent}%")),
            FaultKind::OneWay(from, to) => ("one-way", format!("{from}->{to}")),
            FaultKind::FullDisk => ("full-disk", "store".to_owned()),
        };
        write!(f, "{kind} {target} at {}s", self.at.as_secs())?;
        if let Some(lasting) = self.lasting {
            write!(f, " for {}s", lasting.as_secs())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn environment_faults_of_every_kind_are_drawn_and_read_back_as_written() {
        let hosts: Vec<String> = (1..=3).map(|i| format!("host-{i}")).collect();
        let mut draw = StdRng::seed_from_u64(7);
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let at = Duration::from_secs(30);
            let fault = Fault::random_environment(&mut draw, at, Duration::from_secs(600), &hosts);
            let lasting = fault.lasting.expect("every one ends");
            assert!((5..=60).contains(&lasting.as_secs()), "{fault}");
            if let FaultKind::OneWay(from, to) = &fault.kind {
                assert_ne!(from, to, "{fault}");
            }
            assert_eq!(Fault::parse(&fault.to_string()), Ok(fault.clone()));
            kinds.insert(fault.to_string().split(' ').next().unwrap().to_owned());
        }
        let all = ["duplicate", "full-disk", "loss", "one-way", "slow-starts"];
        assert_eq!(kinds.into_iter().collect::<Vec<_>>(), all);
    }

    #[test]
    fn faults_read_as_people_write_them() {
        let fault = Fault::parse("partition host-1,host-2 at 4m for 1m").unwrap();
        assert_eq!(
            fault.kind,
            FaultKind::Partition(vec!["host-1".into(), "host-2".into()])
        );
        assert_eq!(fault.at, Duration::from_secs(240));
        assert_eq!(fault.ends(), Some(Duration::from_secs(300)));
        let kill = Fault::parse("kill host-3 at 2m").unwrap();
        assert_eq!(kill.lasting, None);
        assert_eq!(kill.to_string(), "kill host-3 at 120s");
        let agent = Fault::parse("crash-agent host-2 at 30s").unwrap();
        assert_eq!(agent.lasting, Some(AGENT_RESTART_AFTER));
        let skew = Fault::parse("skew host-2:-30s at 1m for 2m").unwrap();
        assert_eq!(skew.kind, FaultKind::Skew("host-2".into(), -30_000));
        assert_eq!(skew.to_string(), "skew host-2:-30s at 60s for 120s");
        let loss = Fault::parse("loss 15% at 1m for 1m").unwrap();
        assert_eq!(
            (loss.kind.clone(), loss.unreliability()),
            (FaultKind::Loss(15), (15, 0))
        );
        let twice = Fault::parse("duplicate 5% at 1m for 1m").unwrap();
        assert_eq!(twice.unreliability(), (0, 5));
        let one_way = Fault::parse("one-way host-1->host-2 at 1m for 1m").unwrap();
        assert_eq!(
            one_way.kind,
            FaultKind::OneWay("host-1".into(), "host-2".into())
        );
        assert_eq!(one_way.to_string(), "one-way host-1->host-2 at 60s for 60s");
        let slow = Fault::parse("slow-starts host-2:90s at 1m for 5m").unwrap();
        assert_eq!(slow.kind, FaultKind::SlowStarts("host-2".into(), 90_000));
        assert_eq!(slow.to_string(), "slow-starts host-2:90s at 60s for 300s");
        let full = Fault::parse("full-disk store at 2m for 30s").unwrap();
        assert_eq!(full.to_string(), "full-disk store at 120s for 30s");
    }

    #[test]
    fn a_fault_that_cannot_be_read_says_how_to_write_it() {
        for bad in [
            "kill host-3",
            "explode host-3 at 2m",
            "kill host-3 at soon",
            "partition host-1 at 1m",
            "skew host-2 at 1m for 1m",
            "skew host-2:30s at 1m for 1m",
            "loss 10 at 1m for 1m",
            "loss 101% at 1m for 1m",
            "loss 10% at 1m",
            "one-way host-1 at 1m for 1m",
            "full-disk host-1 at 1m for 1m",
            "slow-starts host-1 at 1m for 1m",
        ] {
            let error = Fault::parse(bad).unwrap_err();
            assert!(error.contains(bad), "{error}");
        }
    }
}
