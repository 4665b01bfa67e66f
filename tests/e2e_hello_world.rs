//! End to end through the `khutulun` command: deploy examples/hello-world.yaml on a fresh agent
//! and store, fetch its URL, kill -9 the agent and see the page still served, restart the agent
//! and see `status` right, kill the web server and see it restarted, delete the service and see
//! no process, unit, port or temporary directory left.
//!
//! The scenario runs twice: with the systemd user manager of the environment (when one answers;
//! `scripts/test` starts one and sets KHUTULUN_REQUIRE_SYSTEMD=1, which makes its absence a
//! failure), and with none, where the agent supervises the processes itself.

#[path = "support/cluster.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use support::*;

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/hello-world.yaml")
        .to_string_lossy()
        .into_owned()
}

/// The whole scenario; `service` names the deployment (unique per test).
fn scenario(supervisor: Supervisor, service: &str) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(supervisor);
    cluster.start_agent();

    // Deploy: the CLI waits until every instance runs, then prints the outputs.
    // A greeting of our own tells our page from any other on the machine.
    let greeting = format!("Hello from {service}!");
    let input = format!("greeting={greeting}");
    cluster.deployed = Some(service.to_string());
    let outputs = cluster.json(&[
        "service",
        "deploy",
        &example(),
        "--name",
        service,
        "--input",
        &input,
    ]);
    let url = outputs["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no url output in {outputs:#}"))
        .to_string();
    assert_eq!(cluster.json(&["service", "output", service]), outputs);
    wait_for("the page to be served", || serves_the_page(&url, &greeting));

    let status = cluster.status(service);
    assert!(all_running(&status), "{status:#}");
    let web_pid = pid_of(&status, "web");
    let writer_pid = pid_of(&status, "writer");
    let site = attribute(&status, "site", "path")
        .as_str()
        .expect("the site has a path")
        .to_string();
    assert!(Path::new(&site).join("index.html").is_file());
    let units: Vec<String> = ["web", "writer"]
        .iter()
        .filter_map(|node| attribute(&status, node, "unit").as_str().map(String::from))
        .collect();
    cluster.units.extend(units.iter().cloned());
    match supervisor {
        Supervisor::Systemd => {
            assert_eq!(
                units.len(),
                2,
                "both processes run as user units: {status:#}"
            );
            assert!(units.iter().all(|unit| unit_is_loaded(unit)));
        }
        Supervisor::Agent => assert!(units.is_empty(), "no unit without systemd: {status:#}"),
    }

    // A crashed agent leaves the workload serving.
    cluster.kill_agent();
    assert!(process_exists(web_pid) && process_exists(writer_pid));
    assert!(
        serves_the_page(&url, &greeting),
        "the page is gone with the agent"
    );

    // A restarted agent adopts what runs and reports it as it is.
    cluster.start_agent();
    let status = cluster.status(service);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(pid_of(&status, "web"), web_pid);

    // A killed web server is started again (restart: on-failure is the profile's default).
    let killed = Command::new("kill")
        .args(["-9", &web_pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let last = cluster.status(service);
        let restarted = attribute(&last, "web", "pid")
            .as_i64()
            .is_some_and(|pid| pid != i64::from(web_pid));
        if all_running(&last) && restarted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the web server was not restarted:\n{last:#}\nagent log:\n{}",
            cluster.agent_log()
        );
        sleep(Duration::from_millis(100));
    }
    wait_for("the page to be served again", || {
        serves_the_page(&url, &greeting)
    });
    let status = cluster.status(service);
    let pids = [pid_of(&status, "web"), pid_of(&status, "writer")];

    // Delete: nothing is left.
    cluster.ok(&["service", "delete", service]);
    cluster.deployed = None;
    wait_for("the processes to end", || {
        pids.iter().all(|pid| !process_exists(*pid))
    });
    assert!(
        !serves_the_page(&url, &greeting),
        "{url} still serves the page"
    );
    assert!(!Path::new(&site).exists(), "{site} is still there");
    for unit in &units {
        assert!(!unit_is_loaded(unit), "{unit} is still loaded");
    }
    let list = cluster.json(&["service", "list"]);
    assert_eq!(list, Json::Array(Vec::new()), "services left: {list:#}");
    let ports = std::fs::read_to_string(cluster.state().join("ports/e2e.yaml")).unwrap_or_default();
    let port = url.rsplit(':').next().unwrap_or("").trim_end_matches('/');
    assert!(
        !ports.contains(port),
        "port {port} is still reserved:\n{ports}"
    );
}

#[test]
fn hello_world_under_systemd() {
    if !user_manager_answers() {
        assert!(
            std::env::var_os("KHUTULUN_REQUIRE_SYSTEMD").is_none(),
            "KHUTULUN_REQUIRE_SYSTEMD is set, but no systemd user manager answers"
        );
        eprintln!("SKIPPED: no systemd user manager answers (scripts/test starts one)");
        return;
    }
    scenario(
        Supervisor::Systemd,
        &format!("hello-systemd-{}", std::process::id()),
    );
}

#[test]
fn hello_world_supervised_by_the_agent() {
    scenario(
        Supervisor::Agent,
        &format!("hello-agent-{}", std::process::id()),
    );
}
