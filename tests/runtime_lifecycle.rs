//! Lifecycle operations through the `khutulun` command: a `Software` node installed and run by
//! its own scripts (tests/fixtures/runtime/lifecycle/app.yaml). Its scripts run in order
//! (create, configure, start; then stop, delete), get their inputs, requirements and a value
//! an earlier script gave as an attribute, and a failing script fails its instance with the
//! operation and exit code named, while what it left can still be deleted.

#[path = "support/cluster.rs"]
mod support;

use std::path::{Path, PathBuf};

use support::*;

fn fixture() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runtime/lifecycle/app.yaml")
        .to_string_lossy()
        .into_owned()
}

fn trace(cluster: &Cluster) -> PathBuf {
    cluster.dir().join("trace")
}

fn traced(cluster: &Cluster) -> String {
    std::fs::read_to_string(trace(cluster)).unwrap_or_default()
}

#[test]
fn scripts_install_run_and_remove_a_software_node_in_order() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let trace_input = format!("trace={}", trace(&cluster).display());
    cluster.deployed = Some("app".into());
    let outputs = cluster.json(&[
        "service",
        "deploy",
        &fixture(),
        "--name",
        "app",
        "--input",
        &trace_input,
    ]);

    let status = cluster.status("app");
    assert!(all_running(&status), "{status:#}");
    let data = attribute(&status, "data", "path")
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        outputs["installed_in"],
        data.as_str(),
        "create's output became an attribute"
    );
    assert_eq!(attribute(&status, "app", "installed_in"), data.as_str());
    assert_eq!(
        traced(&cluster),
        format!("create in {data}\nconfigure after create in {data}\nstart\n"),
        "create, then configure with what create gave, then start"
    );
    assert!(Path::new(&data).join("installed").is_file());
    let logs = cluster.ok(&["service", "logs", "app", "app-0"]);
    assert!(logs.contains("== Lifecycle.start"), "{logs}");
    assert!(logs.contains("step start ran in"), "{logs}");

    cluster.ok(&["service", "delete", "app"]);
    cluster.deployed = None;
    assert!(
        traced(&cluster).ends_with("start\nstop\ndelete\n"),
        "stop, then delete: {}",
        traced(&cluster)
    );
    assert!(
        !Path::new(&data).exists(),
        "the temporary directory is gone"
    );
    let private = cluster.runtime().join("instances/default/app/app-0");
    assert!(!private.exists(), "{} is left", private.display());
}

#[test]
fn a_failing_script_fails_its_instance_and_the_service_can_still_be_deleted() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let trace_input = format!("trace={}", trace(&cluster).display());
    cluster.deployed = Some("broken".into());
    let deployed = cluster.run(&[
        "service",
        "deploy",
        &fixture(),
        "--name",
        "broken",
        "--input",
        &trace_input,
        "--input",
        "fail_in=configure",
    ]);
    assert!(!deployed.status.success());
    let error = String::from_utf8_lossy(&deployed.stderr);
    assert!(
        error.contains("broken/app-0: Lifecycle.configure failed with exit code 3"),
        "{error}"
    );
    assert!(error.contains("operations.log"), "{error}");
    let status = cluster.status("broken");
    assert_eq!(instance(&status, "app")["state"], "failed", "{status:#}");
    // Like `systemctl status` of a failed unit, `service status` says so by its exit code.
    let checked = cluster.run(&["service", "status", "broken"]);
    assert_eq!(checked.status.code(), Some(3), "{checked:?}");
    assert!(
        !traced(&cluster).contains("start"),
        "start never ran: {}",
        traced(&cluster)
    );

    cluster.ok(&["service", "delete", "broken"]);
    cluster.deployed = None;
    assert!(
        traced(&cluster).ends_with("stop\ndelete\n"),
        "{}",
        traced(&cluster)
    );
    let list = cluster.json(&["service", "list"]);
    assert_eq!(list, serde_json::json!([]), "{list:#}");
}

#[test]
fn a_script_configures_a_process_before_the_delegate_starts_it() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runtime/lifecycle/process.yaml")
        .to_string_lossy()
        .into_owned();
    cluster.deployed = Some("configured".into());
    cluster.ok(&["service", "deploy", &fixture, "--name", "configured"]);
    let status = cluster.status("configured");
    assert!(all_running(&status), "{status:#}");
    assert_eq!(attribute(&status, "worker", "configured"), "configured");
    assert!(attribute(&status, "worker", "pid").is_i64(), "{status:#}");
    wait_for("the worker to print its configuration", || {
        cluster
            .ok(&["service", "logs", "configured", "worker-0"])
            .contains("greeting=configured by Lifecycle.create")
    });

    // The delegate's later reports (after an agent restart, on every check) keep the output.
    cluster.kill_agent();
    cluster.start_agent();
    let status = cluster.status("configured");
    assert!(all_running(&status), "{status:#}");
    assert_eq!(attribute(&status, "worker", "configured"), "configured");

    cluster.ok(&["service", "delete", "configured"]);
    cluster.deployed = None;
}

#[test]
fn scripts_packed_in_a_csar_run_from_a_copy() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    let csar = cluster.dir().join("app.tar");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime/lifecycle");
    let packed = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&csar)
        .arg("-C")
        .arg(&fixtures)
        .args(["app.yaml", "scripts"])
        .status()
        .unwrap();
    assert!(packed.success());
    cluster.start_agent();
    let trace_input = format!("trace={}", trace(&cluster).display());
    cluster.deployed = Some("packed".into());
    cluster.ok(&[
        "service",
        "deploy",
        &csar.display().to_string(),
        "--name",
        "packed",
        "--input",
        &trace_input,
    ]);
    let status = cluster.status("packed");
    assert!(all_running(&status), "{status:#}");
    let data = attribute(&status, "data", "path")
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        traced(&cluster),
        format!("create in {data}\nconfigure after create in {data}\nstart\n")
    );
    let copies = cluster
        .runtime()
        .join("instances/default/packed/app-0/artifacts");
    assert!(copies.join("step.sh").is_file(), "{}", copies.display());

    cluster.ok(&["service", "delete", "packed"]);
    cluster.deployed = None;
    assert!(
        traced(&cluster).ends_with("stop\ndelete\n"),
        "{}",
        traced(&cluster)
    );
    assert!(!copies.exists(), "the copies are gone with the instance");
}
