//! Honest failure through the `khutulun` command: a deploy that fails half way says which
//! instance and why, exits non-zero, and leaves nothing half made (by default it removes what it
//! made; with `--on-failure keep` it leaves everything for inspection) and nothing retrying.

#[path = "support/cluster.rs"]
mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value as Json;
use support::*;

fn fixture() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runtime/failing-deploy.yaml")
        .to_string_lossy()
        .into_owned()
}

/// Deploys the fixture as `name`, which must fail; returns what the CLI said.
fn failed_deploy(cluster: &Cluster, name: &str, extra: &[&str]) -> String {
    let template = fixture();
    let mut args = vec!["service", "deploy", &template, "--name", name];
    args.extend_from_slice(extra);
    let output = cluster.run(&args);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn pid_attribute(status: &Json, node: &str) -> Option<i32> {
    attribute(status, node, "pid")
        .as_i64()
        .and_then(|pid| i32::try_from(pid).ok())
}

fn port_reserved(cluster: &Cluster, port: &Json) -> bool {
    let ledger = std::fs::read_to_string(cluster.state().join("ports/e2e.yaml"));
    ledger.is_ok_and(|text| text.contains(&format!("port: {port}")))
}

#[test]
fn a_failed_deploy_removes_what_it_made_and_retries_nothing() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    cluster.deployed = Some("half".into());
    let error = failed_deploy(&cluster, "half", &[]);
    assert!(error.contains("default/half/broken-0"), "{error}");
    assert!(
        error.contains("what the deploy made was removed"),
        "{error}"
    );

    let status = cluster.status("half");
    assert_eq!(status["phase"], "failed", "{status:#}");
    assert_eq!(instance(&status, "broken")["state"], "failed", "{status:#}");
    assert_eq!(
        instance(&status, "sleeper")["state"],
        "pending",
        "{status:#}"
    );
    let checked = cluster.run(&["service", "status", "half"]);
    assert_eq!(checked.status.code(), Some(3));
    let pid = pid_attribute(&status, "sleeper").expect("the sleeper's last pid");
    wait_for("the sleeper to be stopped", || !process_exists(pid));
    let directory = attribute(&status, "data", "path")
        .as_str()
        .expect("the directory's path")
        .to_owned();
    assert!(!Path::new(&directory).exists(), "{directory} is left");
    let port = attribute(&status, "port", "port").clone();
    assert!(!port_reserved(&cluster, &port), "port {port} is still held");

    // Nothing is retried: the agent's log does not grow with new attempts or warnings.
    let before = cluster.agent_log().lines().count();
    std::thread::sleep(Duration::from_secs(5));
    let after = cluster.agent_log();
    let new: Vec<&str> = after.lines().skip(before).collect();
    assert!(new.is_empty(), "the agent went on: {new:#?}");

    cluster.ok(&["service", "delete", "half"]);
    cluster.deployed = None;
    assert_eq!(cluster.json(&["service", "list"]), Json::Array(Vec::new()));
}

#[test]
fn a_failed_deploy_kept_for_inspection_is_left_as_it_was_until_deleted() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    cluster.deployed = Some("kept".into());
    let error = failed_deploy(&cluster, "kept", &["--on-failure", "keep"]);
    assert!(error.contains("default/kept/broken-0"), "{error}");
    assert!(error.contains("left as they are"), "{error}");

    let status = cluster.status("kept");
    assert_eq!(status["phase"], "failed", "{status:#}");
    assert_eq!(
        instance(&status, "sleeper")["state"],
        "running",
        "{status:#}"
    );
    let pid = pid_attribute(&status, "sleeper").expect("the sleeper's pid");
    assert!(process_exists(pid));
    let directory = attribute(&status, "data", "path")
        .as_str()
        .expect("the directory's path")
        .to_owned();
    assert!(Path::new(&directory).is_dir());
    let port = attribute(&status, "port", "port").clone();
    assert!(port_reserved(&cluster, &port));

    cluster.ok(&["service", "delete", "kept"]);
    cluster.deployed = None;
    wait_for("the sleeper to be stopped", || !process_exists(pid));
    assert!(!Path::new(&directory).exists(), "{directory} is left");
    assert!(!port_reserved(&cluster, &port), "port {port} is still held");
}

/// A process that exits at once with status 3 fails the deploy, with its restart policy
/// keeping it stopped or starting it again and again (a crash loop): it did not keep running
/// for the settle time (3 s here, 500 ms by default). The CLI says so and exits 1; what the
/// deploy made is removed.
#[test]
fn a_process_that_exits_at_once_or_crash_loops_fails_the_deploy() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut supervisors = vec![Supervisor::Agent];
    if user_units_testable() {
        supervisors.push(Supervisor::Systemd);
    }
    for supervisor in supervisors {
        let mut cluster = Cluster::new(supervisor);
        // Three seconds to see the quitter end, however loaded the machine is.
        cluster.agent_args = vec!["--settle-time".into(), "3000".into()];
        cluster.start_agent();
        let template = cluster.dir().join("quitter.yaml");
        std::fs::write(&template, QUITTER).unwrap();
        let template = template.to_string_lossy().into_owned();
        for restart in ["no", "on-failure"] {
            let name = format!("quits-{}", restart.replace('-', ""));
            cluster.deployed = Some(name.clone());
            let input = format!("restart={restart}");
            let args = [
                "service", "deploy", &template, "--name", &name, "--input", &input,
            ];
            let output = cluster.run(&args);
            let said = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(1),
                "{supervisor:?} {restart}: {said}"
            );
            // systemd may see the unit end within its start already (it then fails the start
            // step); otherwise the look after the settle time sees it.
            let settled = "quitter-0: it did not keep running for 3000 ms after it started";
            let at_start = "quitter-0.service ended at once";
            assert!(
                said.contains(settled) || said.contains(at_start),
                "{supervisor:?} {restart}: {said}"
            );
            let status = cluster.status(&name);
            assert_eq!(status["phase"], "failed", "{status:#}");
            cluster.ok(&["service", "delete", &name]);
            cluster.deployed = None;
        }
    }
}

/// With `--settle-time 0` the agent counts a workload as up as soon as it started: the same
/// quitter does not fail the deploy (the service stays active), it is only seen failed
/// afterwards, as its restart policy leaves it.
#[test]
fn with_no_settle_time_a_quitter_deploys_and_fails_afterwards() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.agent_args = vec!["--settle-time".into(), "0".into()];
    cluster.start_agent();
    let template = cluster.dir().join("quitter.yaml");
    std::fs::write(&template, QUITTER).unwrap();
    let template = template.to_string_lossy().into_owned();
    cluster.deployed = Some("quits".into());
    cluster.ok(&[
        "service",
        "deploy",
        &template,
        "--name",
        "quits",
        "--input",
        "restart=no",
        "--no-wait",
    ]);
    wait_for("the quitter to be seen failed", || {
        instance(&cluster.status("quits"), "quitter")["state"] == "failed"
    });
    assert_eq!(cluster.status("quits")["phase"], "active");
}

/// A process that exits with status 3 as soon as it starts, restarted or not by its policy
/// (`restart` input).
const QUITTER: &str = "tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  inputs:
    restart:
      type: string
  node_templates:
    quitter:
      type: Process
      properties:
        command: /bin/sh
        arguments: [ -c, 'exit 3' ]
        restart: { $get_input: restart }
";
