//! No process of a deleted instance is left behind on the agent-supervised path, even when
//! the runtime's record of the process is out of date: the agent started the workload again
//! after its pid was last recorded (a lost attribute update), and possibly the agent itself
//! was restarted since. Real processes throughout; each workload is found again by a marker
//! in its environment, so the assertions see every process of the instance, children too.

#[path = "support/delegates.rs"]
mod support;

use std::path::Path;
use std::time::Duration;

use khutulun::delegates::process::SupervisorChoice;
use khutulun::delegates::protocol::{self, Attributes, DelegateRef, InstanceHealth, InstanceSpec};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{Agent, instance_spec, pid_of};

const MARK: &str = "KHUTULUN_LEFTOVER_MARK";

/// A workload of two processes in one group: a background child and the leader.
fn spec(state: &Path, service: &str) -> InstanceSpec {
    instance_spec(
        state,
        service,
        &["Process", "Workload", "Root"],
        serde_json::json!({
            "command": "/bin/sh",
            "arguments": ["-c", "sleep 600 & echo up; exec sleep 600"],
            "environment": {MARK: mark(state, service)},
            "restart": "always",
            "restart_delay": "100 ms",
        }),
        Vec::new(),
    )
}

fn mark(state: &Path, service: &str) -> String {
    format!("{}/{service}", state.display())
}

/// The live processes whose environment carries the instance's marker.
fn processes_of(spec: &InstanceSpec) -> Vec<i32> {
    let wanted = format!(
        "{MARK}={}",
        spec.properties["environment"][MARK].as_str().unwrap()
    );
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.contains(") Z ") {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ
            .split(|b| *b == 0)
            .any(|variable| variable == wanted.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

/// Kills what a failed test left running (twice: a shell may still be forking its child).
struct Cleanup(InstanceSpec);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for _ in 0..2 {
            for pid in processes_of(&self.0) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Waits until at least `count` processes of the instance run.
async fn until_running(spec: &InstanceSpec, count: usize) {
    for _ in 0..300 {
        if processes_of(spec).len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never saw {count} processes, saw {:?}", processes_of(spec));
}

/// Starts the instance, kills its main process, and waits until the agent started it again.
/// Returns the attributes recorded at the first start (the out-of-date record) and the new pid.
async fn started_then_restarted(process: &DelegateRef, spec: &InstanceSpec) -> (Attributes, i32) {
    let created = protocol::create(process, spec.clone()).await.unwrap();
    let recorded = protocol::start(process, spec.clone(), created)
        .await
        .unwrap();
    until_running(spec, 2).await;
    let first = pid_of(&recorded);
    kill(Pid::from_raw(first), Signal::SIGKILL).unwrap();
    for _ in 0..300 {
        let seen = protocol::status(process, spec.clone(), recorded.clone())
            .await
            .unwrap();
        if seen.health == InstanceHealth::Running && pid_of(&seen.attributes) != first {
            return (recorded, pid_of(&seen.attributes));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the agent never started the killed process again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_out_of_date_attributes_leaves_no_process() {
    let state = tempfile::tempdir().unwrap();
    let spec = spec(state.path(), "stale");
    let _cleanup = Cleanup(spec.clone());
    let agent = Agent::start(SupervisorChoice::Agent).await;
    let process = agent.process();
    let (recorded, _) = started_then_restarted(&process, &spec).await;

    protocol::delete(&process, spec.clone(), recorded)
        .await
        .unwrap();
    let left = processes_of(&spec);
    assert!(left.is_empty(), "processes left after delete: {left:?}");
    assert!(!spec.state_dir.exists());
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_deletes_what_the_old_one_started_again() {
    let state = tempfile::tempdir().unwrap();
    let spec = spec(state.path(), "reborn");
    let _cleanup = Cleanup(spec.clone());
    let agent = Agent::start(SupervisorChoice::Agent).await;
    let (recorded, _) = started_then_restarted(&agent.process(), &spec).await;
    until_running(&spec, 2).await;
    agent.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !processes_of(&spec).is_empty(),
        "the workload outlived its agent"
    );

    let agent = Agent::start(SupervisorChoice::Agent).await;
    protocol::delete(&agent.process(), spec.clone(), recorded)
        .await
        .unwrap();
    let left = processes_of(&spec);
    assert!(left.is_empty(), "processes left after delete: {left:?}");
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_adopts_and_stops_the_process_that_runs_now() {
    let state = tempfile::tempdir().unwrap();
    let spec = spec(state.path(), "adopted");
    let _cleanup = Cleanup(spec.clone());
    let agent = Agent::start(SupervisorChoice::Agent).await;
    let (recorded, current) = started_then_restarted(&agent.process(), &spec).await;
    until_running(&spec, 2).await;
    agent.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let agent = Agent::start(SupervisorChoice::Agent).await;
    let process = agent.process();
    let adopted = protocol::adopt(&process, spec.clone(), recorded)
        .await
        .unwrap();
    assert_eq!(adopted.health, InstanceHealth::Running);
    assert_eq!(
        pid_of(&adopted.attributes),
        current,
        "adopted the process that runs now, not a second copy"
    );
    until_running(&spec, 2).await;

    let stopped = protocol::stop(&process, spec.clone(), adopted.attributes)
        .await
        .unwrap();
    let left = processes_of(&spec);
    assert!(left.is_empty(), "processes left after stop: {left:?}");
    protocol::delete(&process, spec.clone(), stopped)
        .await
        .unwrap();
    assert!(processes_of(&spec).is_empty());
    agent.stop();
}
