//! The records the store holds, one type per kind of file. Each is plain serde data; the
//! [`super::document`] envelope adds `format_version` and `epoch` around it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::RegistryKind;
use crate::tosca::instance::Instantiation;

/// The namespace services, templates and profiles live in when none is given.
pub const DEFAULT_NAMESPACE: &str = "default";

/// `cluster.yaml`: the cluster's identity, written once when the store is first used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterRecord {
    /// The cluster's name.
    pub name: String,
    /// The host-to-host protocol version the cluster speaks.
    pub protocol_version: u32,
    /// When the store was set up.
    pub created: String,
}

/// `locks/epoch.yaml`: the fencing epoch, a number that only rises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch of the last committed write.
    pub current: u64,
}

/// `leases/<host>.yaml`: the host's agent renews it while it runs; a host whose lease ran out
/// is one whose instances may be moved (its agent is gone, or cannot reach the store).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// When it was last renewed, in milliseconds since the Unix epoch (the store's clock).
    pub renewed: u64,
}

/// One instance a failover moves to another host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceMove {
    /// The instance id.
    pub id: String,
    /// Where it runs from now.
    pub host: String,
    /// Why there.
    pub why: String,
}

/// `hosts/<host>.yaml`: a host that runs (or ran) an agent on this store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostRecord {
    /// The host's name in the cluster.
    pub name: String,
    /// The address it listens on for other hosts, when it gave one.
    #[serde(default)]
    pub address: Option<String>,
    /// The agent's process id while it runs.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Khutulun's version on that host.
    pub version: String,
    /// When its agent last started.
    pub started: String,
    /// The delegates its agent runs.
    #[serde(default)]
    pub delegates: Vec<String>,
    /// What the host offers the scheduler: its labels and capacity.
    #[serde(default, flatten)]
    pub offer: HostOffer,
    /// Drained (`khutulun host drain`): its instances move elsewhere and no new ones come.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drained: bool,
}

/// What a host offers the scheduler (`khutulun agent --label`, `--max-instances`), kept in its
/// host record for every agent's placements.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostOffer {
    /// Labels that Placement and Distribution policies select hosts by.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The host's processors, as the agent found them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u32>,
    /// The host's memory in bytes, as the agent found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// The most instances the host takes; unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_instances: Option<u32>,
}

impl HostOffer {
    /// This machine's processors and memory, with the given labels and limit.
    pub fn of_this_machine(labels: BTreeMap<String, String>, max_instances: Option<u32>) -> Self {
        let cpus = std::thread::available_parallelism()
            .ok()
            .and_then(|n| u32::try_from(n.get()).ok());
        let memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|info| memory_total(&info));
        HostOffer {
            labels,
            cpus,
            memory,
            max_instances,
        }
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn memory_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

impl HostRecord {
    /// A host record for `name`, started at `now`, running this build.
    pub fn new(name: &str, now: &str) -> Self {
        HostRecord {
            name: name.to_owned(),
            address: None,
            pid: None,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started: now.to_owned(),
            delegates: Vec::new(),
            offer: HostOffer::default(),
            drained: false,
        }
    }
}

/// Whether a deployed service is meant to exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServicePhase {
    /// Deployed: its instances should run.
    Active,
    /// `delete` was asked: its instances are being removed.
    Deleting,
    /// Its deploy failed (the record's `message` says where and why). With `on_failure:
    /// rollback` what the deploy made was removed; with `keep` it is left for inspection.
    /// Nothing is retried; `service delete` removes the rest.
    Failed,
}

/// What a failed deploy leaves behind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Remove what the deploy made, dependents first: nothing half made stays.
    #[default]
    Rollback,
    /// Leave every instance as it is, for inspection.
    Keep,
}

impl OnFailure {
    /// The names `--on-failure` takes.
    pub const NAMES: [&'static str; 2] = ["rollback", "keep"];
}

impl std::str::FromStr for OnFailure {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "rollback" => Ok(OnFailure::Rollback),
            "keep" => Ok(OnFailure::Keep),
            _ => Err(format!(
                "{text:?} is not a choice for a failed deploy (rollback or keep)"
            )),
        }
    }
}

/// `services/<namespace>/<service>/service.yaml`: what was deployed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// The namespace.
    pub namespace: String,
    /// The service's name.
    pub name: String,
    /// Where the template came from (a path or a registered template's name), for people.
    pub template: String,
    /// The inputs given at deploy time, as given.
    #[serde(default)]
    pub inputs: IndexMap<String, serde_json::Value>,
    /// When it was deployed.
    pub created: String,
    /// Whether it is meant to exist.
    pub phase: ServicePhase,
    /// What a failed deploy leaves behind.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Why it failed, when its phase is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The compiled and instantiated template: the source of truth for its instances.
    pub instantiation: Instantiation,
    /// An update under way (`service update`), until every instance is made from
    /// `instantiation` and the instances it no longer has are gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateRecord>,
}

impl ServiceRecord {
    /// An active service `default/NAME` running `instantiation`, for tests.
    #[cfg(test)]
    pub fn sample(name: &str, instantiation: Instantiation) -> ServiceRecord {
        ServiceRecord {
            namespace: "default".into(),
            name: name.into(),
            template: "t.yaml".into(),
            inputs: IndexMap::new(),
            created: "now".into(),
            phase: ServicePhase::Active,
            on_failure: Default::default(),
            message: None,
            update: None,
            instantiation,
        }
    }

    /// The ids of its instances: those of its instantiation, then those only the one it ran
    /// before an update under way has (the update removes them when it is done).
    pub fn instance_ids(&self) -> Vec<&str> {
        let current = self.instantiation.nodes.iter().map(|n| n.id.as_str());
        let mut ids: Vec<&str> = current.collect();
        if let Some(update) = &self.update {
            for node in &update.previous.nodes {
                if !ids.contains(&node.id.as_str()) {
                    ids.push(&node.id);
                }
            }
        }
        ids
    }
}

/// An update of a service under way. What the service ran before is kept until the update is
/// over: the instances made from it are removed as it says, and a failed update goes back to
/// it (the two instantiations swap). A restarted agent finishes or undoes it from here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateRecord {
    /// The instantiation the service ran before (before the update, or the failed update's
    /// while it is rolled back).
    pub previous: Instantiation,
    /// How many instances are replaced at once.
    pub max_parallel: u32,
    /// Why the update failed, while it is rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_back: Option<String>,
    /// The hosts whose part of this stage of the update (its way forward, or its rollback) is
    /// done: every instance there made from the service's definition, and those it removes
    /// gone. The update ends when every host of the plan is here.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub done: std::collections::BTreeSet<String>,
}

/// `services/<namespace>/<service>/plan.yaml`: which host runs which node instance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRecord {
    /// Rises with every new plan (compare-and-swap when hosts fail over).
    pub version: u64,
    /// Instance id → host name.
    pub placements: IndexMap<String, String>,
    /// Instance id → why the scheduler chose its host.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub reasons: IndexMap<String, String>,
}

impl PlanRecord {
    /// The hosts other than `host` that it gives instances to, sorted.
    pub fn other_hosts<'a>(&'a self, host: &str) -> Vec<&'a str> {
        let mut hosts: Vec<&str> = (self.placements.values())
            .map(String::as_str)
            .filter(|on| *on != host)
            .collect();
        hosts.sort_unstable();
        hosts.dedup();
        hosts
    }
}

/// Where a node instance is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceState {
    /// Recorded, not yet worked on.
    Pending,
    /// Its delegate is creating and starting it.
    Creating,
    /// It runs (or, for a port or directory, exists).
    Running,
    /// It could not be made real, or it died and was not restarted; see its message.
    Failed,
    /// Its delegate is removing it.
    Deleting,
    /// Stopped on request (`service stop`): not checked, not restarted, until started again.
    Stopped,
}

impl InstanceState {
    /// The state's name as the CLI prints it.
    pub fn name(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Creating => "creating",
            InstanceState::Running => "running",
            InstanceState::Failed => "failed",
            InstanceState::Deleting => "deleting",
            InstanceState::Stopped => "stopped",
        }
    }
}

/// What an instance's health checks last concluded (only instances whose node declares checks
/// have one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Started, and not yet shown healthy (or not yet checked since it was adopted).
    Unknown,
    /// Its checks pass.
    Healthy,
    /// A check failed as often in a row as its threshold allows; the message says which.
    Unhealthy,
}

impl Health {
    /// The name the CLI prints.
    pub fn name(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `services/<namespace>/<service>/instances/<id>.yaml`: one node instance as it is now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// The instance id (`<node>-<index>`).
    pub id: String,
    /// Its node template.
    pub node: String,
    /// The host that runs it.
    pub host: String,
    /// Where it is in its life.
    pub state: InstanceState,
    /// What its delegate reported (pid, unit, address, port, path…).
    #[serde(default)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Why it failed, in one sentence, when it did.
    #[serde(default)]
    pub message: Option<String>,
    /// How often the runtime restarted it after it died.
    #[serde(default)]
    pub restarts: u32,
    /// What its health checks concluded, when its node has checks and it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// The wiring it was made with: its requirements' addresses, ports and paths (see
    /// `node_instance::spec::wiring`). When an instance it requires moves to another host, the
    /// wiring differs and it is made again with the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wired: Option<String>,
    /// The digest of the node instance's definition it was made from (see
    /// `tosca::instance::diff::digest`): an update makes it again when its definition changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_from: Option<String>,
    /// Its last changes of state, oldest first (at most [`EVENTS_KEPT`]): `service events`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<InstanceEvent>,
    /// When this record last changed.
    pub updated: String,
}

/// How many changes of state an instance record keeps.
pub const EVENTS_KEPT: usize = 20;

/// One change of an instance's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceEvent {
    /// When (the store's clock, RFC 3339).
    pub at: String,
    /// The state it entered.
    pub state: InstanceState,
    /// Its health then, when it has health checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Why, when something said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl InstanceRecord {
    /// A new instance `id` of `node`, placed on `host` and not yet worked on, as of `now`.
    pub fn pending(id: &str, node: &str, host: &str, now: &str) -> Self {
        InstanceRecord {
            id: id.to_owned(),
            node: node.to_owned(),
            host: host.to_owned(),
            state: InstanceState::Pending,
            attributes: serde_json::Map::new(),
            message: None,
            restarts: 0,
            health: None,
            wired: None,
            made_from: None,
            events: Vec::new(),
            updated: now.to_owned(),
        }
    }

    /// Keeps its state, and why, as an event at `at` (dropping the oldest beyond
    /// [`EVENTS_KEPT`]).
    pub fn push_event(&mut self, at: &str) {
        self.keep_event(InstanceEvent {
            at: at.to_owned(),
            state: self.state,
            health: self.health,
            message: self.message.clone(),
        });
    }

    /// Keeps `event`, dropping the oldest beyond [`EVENTS_KEPT`].
    pub fn keep_event(&mut self, event: InstanceEvent) {
        self.events.push(event);
        let over = self.events.len().saturating_sub(EVENTS_KEPT);
        self.events.drain(..over);
    }

    /// An event at `at` if its state or health is no longer `before`.
    pub fn note(&mut self, before: (InstanceState, Option<Health>), at: &str) {
        if (self.state, self.health) != before {
            self.push_event(at);
        }
    }

    /// How a rolled-back deploy leaves this record: failed with why if it is among `failures`
    /// (instance id, reason), pending if the rollback removed it; whether it changed.
    pub fn roll_back(&mut self, failures: &[(String, String)]) -> bool {
        match failures.iter().find(|(id, _)| *id == self.id) {
            Some((_, why)) => {
                self.state = InstanceState::Failed;
                self.message = Some(why.clone());
            }
            None if self.state == InstanceState::Deleting => {
                self.state = InstanceState::Pending;
                self.message = Some("removed: the deploy failed".into());
            }
            None => return false,
        }
        true
    }
}

/// `registry/<kind>/<namespace>/<name>/entry.yaml`: a registered template, profile or delegate;
/// its files sit beside it in the same folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegistryEntry {
    /// Which registry.
    pub kind: RegistryKind,
    /// The namespace.
    pub namespace: String,
    /// The name it is registered under.
    pub name: String,
    /// Where it was registered from.
    pub source: String,
    /// The file (relative to the entry's folder) to load first.
    pub entry: String,
    /// When it was registered.
    pub registered: String,
}

/// Parses `namespace/name` or `name` (in [`DEFAULT_NAMESPACE`]).
pub fn split_qualified(text: &str) -> (String, String) {
    match text.split_once('/') {
        Some((namespace, name)) => (namespace.to_owned(), name.to_owned()),
        None => (DEFAULT_NAMESPACE.to_owned(), text.to_owned()),
    }
}

impl FromStr for InstanceState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            InstanceState::Pending,
            InstanceState::Creating,
            InstanceState::Running,
            InstanceState::Failed,
            InstanceState::Deleting,
        ]
        .into_iter()
        .find(|state| state.name() == s)
        .ok_or_else(|| format!("there is no instance state {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_record_keeps_its_offer_beside_its_other_fields() {
        let mut record = HostRecord::new("alpha", "t");
        record.offer = HostOffer {
            labels: [("zone".to_string(), "a".to_string())].into(),
            cpus: Some(2),
            memory: Some(1 << 30),
            max_instances: Some(10),
        };
        let yaml = serde_yaml_ng::to_string(&record).unwrap();
        assert!(yaml.contains("\nlabels:\n  zone: a\n"), "{yaml}");
        let back: HostRecord = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(back, record);
        let old: HostRecord =
            serde_yaml_ng::from_str("name: beta\nversion: 0.1.0\nstarted: t\n").unwrap();
        assert_eq!(old.offer, HostOffer::default());
    }

    #[test]
    fn memory_is_read_from_meminfo_in_bytes() {
        let meminfo = "MemTotal:       24576000 kB\nMemFree:         1000 kB\n";
        assert_eq!(memory_total(meminfo), Some(24_576_000 * 1024));
        assert_eq!(memory_total("MemFree: 1 kB\n"), None);
    }
}
