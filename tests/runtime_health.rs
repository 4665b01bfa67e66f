//! Health checks on a real agent, through the `khutulun` command: a deploy waits until a
//! server that answers late passes its HTTP, TCP and command checks; an instance that stops
//! answering is shown `unhealthy` and restarted by its policy (or only shown, with `restart:
//! "no"`); a deploy whose checks never pass fails with the check's reason and is undone; a
//! container's command check runs inside it.

#[path = "support/podman.rs"]
mod podman;
#[path = "support/cluster.rs"]
mod support;

use std::path::Path;

use serde_json::Value as Json;
use support::*;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runtime/health")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// The instance of `node`'s health in a status document (`null` when it has none).
fn health<'a>(status: &'a Json, node: &str) -> &'a Json {
    &instance(status, node)["health"]
}

/// The health page the fixture's HTTP check reads, in the instance's directory.
fn health_page(status: &Json) -> std::path::PathBuf {
    let site = attribute(status, "site", "path").as_str().expect("a path");
    Path::new(site).join("health")
}

/// `service events` of `service`.
fn events(cluster: &Cluster, service: &str) -> Vec<Json> {
    let text = cluster.ok(&["service", "events", service, "--format", "json"]);
    serde_json::from_str(&text).expect("events are a JSON list")
}

fn deploy_late(cluster: &mut Cluster, restart: &str) -> Json {
    let template = fixture("late.yaml");
    let restart = format!("restart={restart}");
    cluster.deployed = Some("late".into());
    cluster.ok(&[
        "service", "deploy", &template, "--name", "late", "--input", &restart,
    ]);
    cluster.status("late")
}

#[test]
fn a_deploy_waits_until_a_late_server_is_healthy() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let status = deploy_late(&mut cluster, "on-failure");

    // The server sleeps 3 s before it listens: had the deploy returned when the process
    // started, nothing would answer yet.
    let url = status["outputs"]["url"].as_str().expect("a url").to_owned();
    assert!(
        http_get(&format!("{url}health")).is_some(),
        "the deploy returned before the server answered"
    );
    assert_eq!(health(&status, "web"), "healthy", "{status:#}");
    assert!(health(&status, "port").is_null(), "a port has no checks");
    let table = cluster.ok(&["service", "status", "late"]);
    assert!(table.contains("running (healthy)"), "{table}");

    cluster.ok(&["service", "delete", "late"]);
    cluster.deployed = None;
}

#[test]
fn an_instance_that_stops_answering_is_unhealthy_then_restarted() {
    restarted_when_unhealthy(Supervisor::Agent);
}

#[test]
fn a_user_unit_that_stops_answering_is_unhealthy_then_restarted() {
    if user_units_testable() {
        restarted_when_unhealthy(Supervisor::Systemd);
    }
}

fn restarted_when_unhealthy(supervisor: Supervisor) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(supervisor);
    cluster.start_agent();
    let status = deploy_late(&mut cluster, "on-failure");
    let pid = pid_of(&status, "web");
    if supervisor == Supervisor::Systemd {
        let unit = attribute(&status, "web", "unit").as_str().expect("a unit");
        cluster.units.push(unit.to_owned());
    }

    // The HTTP and command checks fail once the page is gone; the restarted server writes
    // it again as it starts.
    std::fs::remove_file(health_page(&status)).expect("the health page exists");
    wait_for("a new process after the unhealthy one", || {
        let status = cluster.status("late");
        let now = attribute(&status, "web", "pid").as_i64();
        now.is_some_and(|now| now != i64::from(pid)) && health(&status, "web") == "healthy"
    });
    assert!(!process_exists(pid), "the unhealthy process was stopped");
    let unhealthy = events(&cluster, "late")
        .into_iter()
        .find(|event| event["health"] == "unhealthy")
        .expect("an unhealthy event");
    let why = unhealthy["message"].as_str().unwrap_or_default();
    assert!(why.contains("health check"), "{unhealthy:#}");

    cluster.ok(&["service", "delete", "late"]);
    cluster.deployed = None;
}

#[test]
fn a_restarted_agent_keeps_checking_what_it_adopts() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let status = deploy_late(&mut cluster, "on-failure");
    let pid = pid_of(&status, "web");

    cluster.kill_agent();
    cluster.start_agent();
    let status = cluster.status("late");
    assert_eq!(pid_of(&status, "web"), pid, "adopted, not started again");
    assert_eq!(health(&status, "web"), "healthy", "as recorded");

    std::fs::remove_file(health_page(&status)).expect("the health page exists");
    wait_for("a new process after the unhealthy one", || {
        let status = cluster.status("late");
        let now = attribute(&status, "web", "pid").as_i64();
        now.is_some_and(|now| now != i64::from(pid)) && health(&status, "web") == "healthy"
    });

    cluster.ok(&["service", "delete", "late"]);
    cluster.deployed = None;
}

#[test]
fn without_a_restart_policy_an_unhealthy_instance_is_only_shown() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let status = deploy_late(&mut cluster, "no");
    let pid = pid_of(&status, "web");

    std::fs::remove_file(health_page(&status)).expect("the health page exists");
    wait_for("the instance shown unhealthy", || {
        health(&cluster.status("late"), "web") == "unhealthy"
    });
    let output = cluster.run(&["service", "status", "late"]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(3),
        "status exits 3 when unhealthy"
    );
    assert!(table.contains("unhealthy"), "{table}");
    assert!(table.contains("health check"), "{table}");
    let status = cluster.status("late");
    assert_eq!(pid_of(&status, "web"), pid, "not restarted");
    assert!(process_exists(pid));

    // Answering again makes it healthy again.
    std::fs::write(health_page(&status), "ok").unwrap();
    wait_for("the instance healthy again", || {
        health(&cluster.status("late"), "web") == "healthy"
    });

    cluster.ok(&["service", "delete", "late"]);
    cluster.deployed = None;
}

#[test]
fn a_deploy_whose_checks_never_pass_fails_and_is_undone() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let template = fixture("never.yaml");
    cluster.deployed = Some("mute".into());
    let output = cluster.run(&["service", "deploy", &template, "--name", "mute"]);
    let error = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{error}");
    assert!(
        error.contains("mute-0: health check listening failed 2 times in a row"),
        "{error}"
    );
    assert!(error.contains("could not connect"), "{error}");
    let status = cluster.status("mute");
    assert_eq!(status["phase"], "failed", "{status:#}");
    let mute = instance(&status, "mute");
    assert_eq!(mute["state"], "failed", "{status:#}");
    assert!(
        mute["message"]
            .as_str()
            .unwrap_or_default()
            .contains("health check listening"),
        "{status:#}"
    );
    let pid = pid_of(&status, "mute");
    assert!(!process_exists(pid), "the process {pid} was removed");

    cluster.ok(&["service", "delete", "mute"]);
    cluster.deployed = None;
}

#[test]
fn a_check_naming_two_probes_is_refused_where_it_is_written() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let template = fixture("two-probes.yaml");
    let output = cluster.run(&["service", "deploy", &template, "--name", "both"]);
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(error.contains("two-probes.yaml:18:13"), "{error}");
}

#[test]
fn a_containers_command_check_runs_inside_it() {
    if !podman::podman_available() {
        return;
    }
    podman::ensure_test_image();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let template = fixture("container.yaml");
    let image = format!("image={}", podman::TEST_IMAGE);
    cluster.deployed = Some("inside".into());
    // The file the check looks for exists only inside the container, 2 s after it starts.
    cluster.ok(&[
        "service", "deploy", &template, "--name", "inside", "--input", &image,
    ]);
    assert_eq!(health(&cluster.status("inside"), "ready"), "healthy");

    // Removed inside, the check fails: the container is restarted, and writes it again.
    cluster.ok(&[
        "service",
        "exec",
        "inside",
        "ready-0",
        "--",
        "sh",
        "-c",
        "rm /ready",
    ]);
    wait_for("the container shown unhealthy", || {
        events(&cluster, "inside")
            .iter()
            .any(|event| event["health"] == "unhealthy")
    });
    wait_for("the restarted container healthy", || {
        health(&cluster.status("inside"), "ready") == "healthy"
    });

    cluster.ok(&["service", "delete", "inside"]);
    cluster.deployed = None;
}
