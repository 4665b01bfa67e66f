//! The invariants a simulation checks as it goes, each named, with what it promises and the
//! first thing that broke it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::report::{InvariantReport, Verdict};
use crate::state::Store;

/// How long after the last fault (or its repair) every instance must run on a live host.
pub const RECOVERY_BOUND: Duration = Duration::from_secs(120);

/// How long after the last fault the running hosts must agree on who is alive.
pub const AGREEMENT_BOUND: Duration = Duration::from_secs(120);

/// How long after the last fault no instance may run on two hosts.
pub const SINGLE_BOUND: Duration = Duration::from_secs(120);

/// The invariants, in the order they are reported: name and promise.
pub const INVARIANTS: [(&str, &str); 6] = [
    (
        "store-parses",
        "every file the store puts in place parses (each write is checked)",
    ),
    (
        "writes-kept",
        "a committed write is never lost: the store's epoch never goes back and no service \
         disappears without a delete",
    ),
    (
        "one-port-owner",
        "a port is never reserved twice on one host",
    ),
    (
        "single-placement",
        "no instance runs on two hosts once the cluster was healed and quiet for 120 s",
    ),
    (
        "instances-live",
        "every instance of every service runs on a live host within 120 s of the last fault",
    ),
    (
        "membership-agrees",
        "the running hosts agree on who is alive within 120 s of the last fault",
    ),
];

/// The verdicts so far.
#[derive(Debug)]
pub struct Invariants {
    reports: Vec<InvariantReport>,
}

impl Default for Invariants {
    fn default() -> Self {
        Invariants {
            reports: INVARIANTS
                .iter()
                .map(|&(name, promise)| InvariantReport {
                    name,
                    promise,
                    verdict: Verdict::Held,
                    checks: 0,
                    broken_at_ms: None,
                    why: None,
                })
                .collect(),
        }
    }
}

impl Invariants {
    /// Counts a check of `name` at `now`; the first failure is kept.
    pub fn check(&mut self, name: &str, now: Duration, outcome: Result<(), String>) {
        let report = self
            .reports
            .iter_mut()
            .find(|r| r.name == name)
            .expect("a known invariant");
        report.checks += 1;
        if let (Err(why), Verdict::Held) = (outcome, report.verdict) {
            report.verdict = Verdict::Broken;
            report.broken_at_ms = Some(u64::try_from(now.as_millis()).unwrap_or(u64::MAX));
            report.why = Some(why);
        }
    }

    /// The verdicts.
    pub fn reports(self) -> Vec<InvariantReport> {
        self.reports
    }
}

/// `store-parses`: every record file among `files` (temporary ones aside) is YAML.
pub fn store_parses(files: &[(std::path::PathBuf, Vec<u8>)]) -> Result<(), String> {
    for (path, bytes) in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if !name.ends_with(".yaml") || name.starts_with(".tmp.") {
            continue;
        }
        if let Err(error) = serde_yaml_ng::from_slice::<serde_yaml_ng::Value>(bytes) {
            return Err(format!("{} does not parse: {error}", path.display()));
        }
    }
    Ok(())
}

/// `writes-kept`: the epoch did not go back from `last_epoch`, and every service in `deployed`
/// is still recorded. Returns the epoch now.
pub fn writes_kept(
    store: &Store,
    last_epoch: u64,
    deployed: &BTreeSet<(String, String)>,
) -> Result<u64, String> {
    let epoch = store
        .epoch()
        .map_err(|e| format!("the epoch cannot be read: {e}"))?;
    if epoch < last_epoch {
        return Err(format!("the epoch went back from {last_epoch} to {epoch}"));
    }
    let recorded: BTreeSet<(String, String)> = store
        .list_services()
        .map_err(|e| format!("the services cannot be listed: {e}"))?
        .into_iter()
        .collect();
    if let Some((namespace, name)) = deployed.difference(&recorded).next() {
        return Err(format!("service {namespace}/{name} disappeared"));
    }
    Ok(epoch)
}

/// `single-placement`: no instance runs on two hosts.
pub fn single_placement(running: &BTreeMap<String, Vec<String>>) -> Result<(), String> {
    match running.iter().find(|(_, hosts)| hosts.len() > 1) {
        Some((instance, hosts)) => Err(format!(
            "{instance} runs on {} hosts: {}",
            hosts.len(),
            hosts.join(", ")
        )),
        None => Ok(()),
    }
}

/// `instances-live`: each of `planned` (`namespace/service/instance`) runs on a host in
/// `live`.
pub fn instances_live(
    planned: &[String],
    running: &BTreeMap<String, Vec<String>>,
    live: &BTreeSet<String>,
) -> Result<(), String> {
    for instance in planned {
        let hosts = running.get(instance).map(Vec::as_slice).unwrap_or_default();
        if !hosts.iter().any(|host| live.contains(host)) {
            return Err(match hosts {
                [] => format!("{instance} runs nowhere"),
                _ => format!(
                    "{instance} runs only on hosts that are down: {}",
                    hosts.join(", ")
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invariant_keeps_its_first_failure() {
        let mut invariants = Invariants::default();
        invariants.check("one-port-owner", Duration::from_secs(1), Ok(()));
        invariants.check(
            "one-port-owner",
            Duration::from_secs(2),
            Err("first".into()),
        );
        invariants.check(
            "one-port-owner",
            Duration::from_secs(3),
            Err("second".into()),
        );
        let report = invariants
            .reports()
            .into_iter()
            .find(|r| r.name == "one-port-owner")
            .unwrap();
        assert_eq!(report.verdict, Verdict::Broken);
        assert_eq!((report.checks, report.broken_at_ms), (3, Some(2000)));
        assert_eq!(report.why.as_deref(), Some("first"));
    }

    #[test]
    fn the_checks_name_what_breaks_them() {
        let running = BTreeMap::from([
            (
                "default/web/web-0".to_owned(),
                vec!["host-1".to_owned(), "host-2".to_owned()],
            ),
            ("default/web/web-1".to_owned(), vec!["host-3".to_owned()]),
        ]);
        let error = single_placement(&running).unwrap_err();
        assert!(error.contains("web-0 runs on 2 hosts"), "{error}");
        let live = BTreeSet::from(["host-1".to_owned(), "host-2".to_owned()]);
        let planned = [
            "default/web/web-1".to_owned(),
            "default/web/web-2".to_owned(),
        ];
        let error = instances_live(&planned, &running, &live).unwrap_err();
        assert!(
            error.contains("web-1 runs only on hosts that are down: host-3"),
            "{error}"
        );
        let bad = vec![(std::path::PathBuf::from("/s/a.yaml"), b"a: [".to_vec())];
        assert!(store_parses(&bad).unwrap_err().contains("/s/a.yaml"));
    }
}
