//! What the delegate tests share: one agent's worth of real delegate actors, instance specs
//! and requirements, and waiting for what a workload does a moment later.

#![allow(dead_code)] // Each test file uses its own part of this.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use khutulun::delegates::ipport::MemoryPortLedger;
use khutulun::delegates::process::SupervisorChoice;
use khutulun::delegates::protocol::{
    Attributes, DelegateKind, DelegateRef, Dependency, InstanceSpec, Observation, TypeRef,
};
use khutulun::delegates::{Delegates, DelegatesConfig};
use ractor::ActorRef;

#[path = "parent.rs"]
mod parent;

pub use parent::Nothing;

/// One agent's worth of delegates.
pub struct Agent {
    /// The delegate actors.
    pub delegates: Delegates,
    supervisor: ActorRef<Nothing>,
}

impl Agent {
    /// Spawns every delegate, with processes supervised as `choice` says.
    pub async fn start(choice: SupervisorChoice) -> Agent {
        Agent::start_configured(|config| config.process_supervisor = choice).await
    }

    /// Spawns every delegate, with the defaults changed by `configure`.
    pub async fn start_configured(configure: impl FnOnce(&mut DelegatesConfig)) -> Agent {
        let mut config = DelegatesConfig::new("alpha", Arc::new(MemoryPortLedger::default()));
        configure(&mut config);
        let (delegates, supervisor) = parent::spawn_delegates(config).await;
        Agent {
            delegates,
            supervisor,
        }
    }

    /// The delegate of `kind`.
    pub fn delegate(&self, kind: DelegateKind) -> DelegateRef {
        self.delegates.for_kind(kind).unwrap()
    }

    /// The process delegate, which most tests talk to.
    pub fn process(&self) -> DelegateRef {
        self.delegate(DelegateKind::Process)
    }

    /// Whether a systemd user manager answers; when not, a loud skip, or a failure when
    /// KHUTULUN_REQUIRE_SYSTEMD=1 (scripts/test sets it).
    pub async fn systemd_available(&self) -> bool {
        let answer = ractor::call!(
            self.delegates.systemd().expect("the real delegates"),
            |reply| { khutulun::delegates::systemd::SystemdMsg::Available { reply } }
        )
        .unwrap();
        available(
            answer.map(|_| ()).map_err(|why| why.to_string()),
            "KHUTULUN_REQUIRE_SYSTEMD",
        )
    }

    /// The agent goes away; its workloads stay, as when it is killed.
    pub fn stop(self) {
        self.delegates.stop_all();
        self.supervisor.stop(None);
    }
}

/// A requirement fulfilled by a target of `types` (Khutulun's profile) that reports
/// `attributes`.
pub fn dependency(requirement: &str, types: &[&str], attributes: serde_json::Value) -> Dependency {
    dependency_through(requirement, types, attributes, serde_json::json!({}))
}

/// [`dependency`] through a relationship with the properties `relationship`.
pub fn dependency_through(
    requirement: &str,
    types: &[&str],
    attributes: serde_json::Value,
    relationship: serde_json::Value,
) -> Dependency {
    Dependency {
        requirement: requirement.into(),
        target: format!("{requirement}-0"),
        target_node: requirement.into(),
        target_types: types.iter().map(|t| TypeRef::khutulun(t)).collect(),
        target_attributes: attributes.as_object().unwrap().clone(),
        relationship_types: Vec::new(),
        relationship_properties: relationship.as_object().unwrap().clone(),
    }
}

/// Instance `worker-0` of node `worker` in `service`, of `types` (Khutulun's profile, most
/// derived first), its state under `state`.
pub fn instance_spec(
    state: &Path,
    service: &str,
    types: &[&str],
    properties: serde_json::Value,
    requirements: Vec<Dependency>,
) -> InstanceSpec {
    named_instance_spec(state, service, "worker-0", types, properties, requirements)
}

/// [`instance_spec`] for instance `instance` (`<node>-<n>`).
pub fn named_instance_spec(
    state: &Path,
    service: &str,
    instance: &str,
    types: &[&str],
    properties: serde_json::Value,
    requirements: Vec<Dependency>,
) -> InstanceSpec {
    let node = instance.rsplit_once('-').map_or(instance, |(node, _)| node);
    InstanceSpec {
        namespace: "default".into(),
        service: service.into(),
        instance: instance.into(),
        node: node.into(),
        types: types.iter().map(|t| TypeRef::khutulun(t)).collect(),
        properties: properties.as_object().unwrap().clone(),
        requirements,
        state_dir: state.join(instance),
        artifacts: Default::default(),
    }
}

/// Asks the delegate for the instance's status until `test` holds; panics with `what` and
/// the last observation after 15 s.
pub async fn eventually(
    delegate: &DelegateRef,
    spec: &InstanceSpec,
    attributes: &Attributes,
    what: &str,
    test: impl Fn(&Observation) -> bool,
) -> Observation {
    let mut seen = None;
    for _ in 0..300 {
        let observation =
            khutulun::delegates::protocol::status(delegate, spec.clone(), attributes.clone())
                .await
                .unwrap();
        if test(&observation) {
            return observation;
        }
        seen = Some(observation);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never saw: {what} (last seen {seen:?})");
}

/// The pid a delegate reported.
pub fn pid_of(attributes: &Attributes) -> i32 {
    attributes["pid"].as_i64().expect("a pid") as i32
}

/// Whether a process runs (a zombie does not).
pub fn is_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// The file's text once it holds `line` `count` times (a workload writes it a moment after
/// it starts); whatever it holds after 6 s otherwise.
pub async fn log_with(log: &Path, line: &str, count: usize) -> String {
    for _ in 0..300 {
        let output = std::fs::read_to_string(log).unwrap_or_default();
        if output.matches(line).count() >= count {
            return output;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Whether a real requirement is met here: true when it is; when not, a loud skip, or a
/// failure when `required_by` (e.g. `KHUTULUN_REQUIRE_NSPAWN`) is `1`, as scripts/test sets it.
pub fn available(what: Result<(), String>, required_by: &str) -> bool {
    match what {
        Ok(()) => true,
        Err(why) if std::env::var(required_by).as_deref() == Ok("1") => {
            panic!("{required_by}=1 but {why}")
        }
        Err(why) => {
            eprintln!("\n!!! SKIPPED: {why} (scripts/test installs it)\n");
            false
        }
    }
}

/// The answer to `GET /` on 127.0.0.1:`port`, or `None` when nothing answers.
pub fn http_get(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

/// The answer to `GET /` on `port` once it holds `text` (a server takes a moment to listen),
/// or `None` after 10 s.
pub async fn page_with(port: u16, text: &str) -> Option<String> {
    for _ in 0..200 {
        if let Some(answer) = http_get(port).filter(|answer| answer.contains(text)) {
            return Some(answer);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
