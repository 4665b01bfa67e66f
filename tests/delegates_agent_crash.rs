//! A workload supervised by the agent itself survives the agent being killed with SIGKILL,
//! and a new agent adopts it. The "agent" is this test binary run again as a child process
//! (the helper test below, which does nothing unless the parent asks for it).

#[path = "support/parent.rs"]
mod parent;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use khutulun::delegates::ipport::MemoryPortLedger;
use khutulun::delegates::process::SupervisorChoice;
use khutulun::delegates::protocol::{
    self, Attributes, DelegateKind, InstanceHealth, InstanceSpec, TypeRef,
};
use khutulun::delegates::{Delegates, DelegatesConfig};
use ractor::ActorRef;

const HELPER: &str = "helper_agent_for_the_crash_test";
const STATE: &str = "KHUTULUN_CRASH_TEST_STATE";

async fn delegates() -> (Delegates, ActorRef<parent::Nothing>) {
    let mut config = DelegatesConfig::new("alpha", Arc::new(MemoryPortLedger::default()));
    config.process_supervisor = SupervisorChoice::Agent;
    let (delegates, supervisor) = parent::spawn_delegates(config).await;
    (delegates, supervisor)
}

fn spec(state: &Path) -> InstanceSpec {
    InstanceSpec {
        namespace: "default".into(),
        service: "crash".into(),
        instance: "worker-0".into(),
        node: "worker".into(),
        types: vec![TypeRef::khutulun("Process")],
        properties: serde_json::json!({
            "command": "/bin/sh",
            "arguments": ["-c", "echo up; exec sleep 600"],
            "restart": "on-failure",
            "restart_delay": "50 ms",
        })
        .as_object()
        .unwrap()
        .clone(),
        requirements: Vec::new(),
        state_dir: state.join("worker-0"),
        artifacts: Default::default(),
    }
}

/// The agent that gets killed: starts the workload, prints its attributes, then waits.
#[tokio::test]
async fn helper_agent_for_the_crash_test() {
    let Ok(state) = std::env::var(STATE) else {
        return; // Only a helper: the real test runs it as a child process.
    };
    let (delegates, _supervisor) = delegates().await;
    let process = delegates.for_kind(DelegateKind::Process).unwrap();
    let spec = spec(Path::new(&state));
    let created = protocol::create(&process, spec.clone()).await.unwrap();
    let started = protocol::start(&process, spec, created).await.unwrap();
    println!("ATTRIBUTES {}", serde_json::Value::Object(started));
    // The parent kills this process long before; the limit only bounds a broken run.
    tokio::time::sleep(Duration::from_secs(60)).await;
}

fn parent_of(pid: i64) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("PPid:"))
        .and_then(|ppid| ppid.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workload_survives_a_killed_agent_and_is_adopted() {
    let state = tempfile::tempdir().unwrap();
    let mut agent = Command::new(std::env::current_exe().unwrap())
        .args([HELPER, "--exact", "--nocapture", "--test-threads=1"])
        .env(STATE, state.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(agent.stdout.take().unwrap()).lines();
    let attributes: Attributes = loop {
        let line = lines
            .next()
            .expect("the helper agent prints the attributes")
            .unwrap();
        // libtest prints the test's name on the same line first.
        if let Some((_, json)) = line.split_once("ATTRIBUTES ") {
            break serde_json::from_str(json).unwrap();
        }
    };
    let pid = attributes["pid"].as_i64().unwrap();
    assert_eq!(parent_of(pid), Some(i64::from(agent.id())));

    // SIGKILL: the agent gets no chance to clean up.
    agent.kill().unwrap();
    agent.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let parent = parent_of(pid).expect("the workload outlived the killed agent");
    assert_ne!(parent, i64::from(agent.id()));

    let (delegates, supervisor) = delegates().await;
    let process = delegates.for_kind(DelegateKind::Process).unwrap();
    let spec = spec(state.path());
    let adopted = protocol::adopt(&process, spec.clone(), attributes.clone())
        .await
        .unwrap();
    assert_eq!(adopted.health, InstanceHealth::Running);
    assert_eq!(adopted.attributes["pid"], pid);

    // The new agent supervises it: killed, it is started again.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut restarted = None;
    for _ in 0..200 {
        let seen = protocol::status(&process, spec.clone(), adopted.attributes.clone())
            .await
            .unwrap();
        if seen.health == InstanceHealth::Running && seen.attributes["pid"] != pid {
            restarted = Some(seen);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let restarted = restarted.expect("the adopting agent started it again");
    let new_pid = restarted.attributes["pid"].as_i64().unwrap();

    protocol::delete(&process, spec, restarted.attributes)
        .await
        .unwrap();
    assert!(parent_of(new_pid).is_none(), "deleted means no process");
    delegates.stop_all();
    supervisor.stop(None);
}
