//! The verbs of a service's life as operators expect them, through the `khutulun` command on a
//! real agent: Ctrl-C while `deploy` or `delete` waits (exit 130, the work goes on in the
//! agent), and `delegate list` saying which delegates can really work here and why not.

#[path = "support/podman.rs"]
mod podman;
#[path = "support/cluster.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value as Json;
use support::*;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runtime/verbs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Waits until `child` ends (panics after [`PATIENCE`]); its exit status and standard error.
fn finish(mut child: Child) -> (ExitStatus, String) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("the CLI can be waited for") {
            let output = child.wait_with_output().expect("its output");
            return (status, String::from_utf8_lossy(&output.stderr).into_owned());
        }
        assert!(Instant::now() < deadline, "the CLI did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sigint(child: &Child) {
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    kill(pid, Signal::SIGINT).expect("SIGINT to the CLI");
}

/// The gates directory the slow template's scripts wait on.
fn gates(cluster: &Cluster) -> PathBuf {
    let gates = cluster.dir().join("gates");
    std::fs::create_dir_all(&gates).unwrap();
    gates
}

#[test]
fn ctrl_c_stops_waiting_for_deploy_and_delete_but_not_the_agent() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let gates = gates(&cluster);
    let input = format!("gates={}", gates.display());
    let in_verbs = ["--namespace", "verbs"];
    cluster
        .deployed_elsewhere
        .push(("verbs".into(), "slow".into()));
    let deploy = cluster
        .command(&[
            "service",
            "deploy",
            &fixture("slow.yaml"),
            "--name",
            "slow",
            "--input",
            &input,
            "--namespace",
            "verbs",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the slow service to be recorded", || {
        cluster
            .run(&["service", "status", "slow", in_verbs[0], in_verbs[1]])
            .status
            .success()
    });
    sigint(&deploy);
    let (status, stderr) = finish(deploy);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("the deployment of service slow goes on in the agent")
            && stderr.contains("`khutulun service status slow --namespace verbs`"),
        "{stderr}"
    );
    let status = cluster.json(&["service", "status", "slow", in_verbs[0], in_verbs[1]]);
    assert_ne!(status["instances"][0]["state"], "running", "{status:#}");
    std::fs::write(gates.join("start"), "").unwrap();
    wait_for("the slow service to run", || {
        all_running(&cluster.json(&["service", "status", "slow", in_verbs[0], in_verbs[1]]))
    });

    let delete = cluster
        .command(&["service", "delete", "slow", in_verbs[0], in_verbs[1]])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the delete script to wait", || {
        cluster.json(&["service", "status", "slow", in_verbs[0], in_verbs[1]])["instances"][0]["state"]
            != "running"
    });
    sigint(&delete);
    let (status, stderr) = finish(delete);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("the deletion of service slow goes on in the agent"),
        "{stderr}"
    );
    std::fs::write(gates.join("delete"), "").unwrap();
    wait_for("the slow service to be gone", || {
        cluster.json(&["service", "list", in_verbs[0], in_verbs[1]]) == Json::Array(vec![])
    });
    cluster.deployed_elsewhere.clear();
}

/// `delegate list --format json`: name → (running, reason).
fn delegates(cluster: &Cluster) -> Vec<(String, bool, Option<String>)> {
    let began = Instant::now();
    let list = cluster.json(&["delegate", "list"]);
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "delegate list took {:?}",
        began.elapsed()
    );
    list.as_array()
        .expect("a list")
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_owned(),
                d["running"].as_bool().unwrap(),
                d["reason"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn delegate<'a>(
    list: &'a [(String, bool, Option<String>)],
    name: &str,
) -> &'a (String, bool, Option<String>) {
    list.iter()
        .find(|d| d.0 == name)
        .unwrap_or_else(|| panic!("no {name} in {list:?}"))
}

#[test]
fn delegate_list_says_what_is_missing() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.env.push((
        "CONTAINER_HOST".into(),
        "unix:///nonexistent/podman.sock".into(),
    ));
    cluster.start_agent();
    let list = delegates(&cluster);
    for (name, needs) in [
        ("systemd", "session bus"),
        ("nspawn", "user manager"),
        ("podman", "/nonexistent/podman.sock"),
    ] {
        let (_, running, reason) = delegate(&list, name);
        assert!(!running, "{name} said running: {list:?}");
        let reason = reason.as_deref().unwrap_or_default();
        assert!(reason.contains(needs), "{name}: {reason}");
    }
    for name in ["process", "directory", "ipport"] {
        assert_eq!(delegate(&list, name), &(name.to_owned(), true, None));
    }
    let table = cluster.ok(&["delegate", "list"]);
    assert!(
        table.contains("REASON") && table.contains("not available"),
        "{table}"
    );
}

#[test]
fn delegate_list_shows_what_answers_as_running() {
    if !user_manager_answers() || !podman::podman_available() {
        eprintln!("\n!!! SKIPPED: needs a systemd user manager and Podman's API\n");
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Systemd);
    cluster.start_agent();
    let list = delegates(&cluster);
    for name in ["systemd", "nspawn", "podman", "process"] {
        assert_eq!(delegate(&list, name), &(name.to_owned(), true, None));
    }
}
