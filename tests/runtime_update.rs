//! `service update` on a real agent, through the `khutulun` command: only the instance whose
//! definition changed is made again (the others keep their processes), an instance the new
//! template adds is made and one it drops is removed; an update whose new instance never
//! turns healthy is rolled back to what ran before; `deploy --update` updates an existing
//! service.

#[path = "support/cluster.rs"]
mod support;

use support::*;

/// Sleepers: `kept` never changes, `changed` sleeps `{ $get_input: seconds }` and has the
/// health check `check` (a shell condition), and `extra` names a third node.
fn sleepers(extra: &str, check: &str) -> String {
    format!(
        "tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  inputs:
    seconds:
      type: string
      default: '600'
  node_templates:
    kept:
      type: Process
      properties:
        command: sleep
        arguments: [ '600' ]
    changed:
      type: Process
      properties:
        command: sleep
        arguments: [ {{ $get_input: seconds }} ]
        checks:
          alive:
            command: [ sh, -c, '{check}' ]
            interval: 300 ms
            unhealthy_threshold: 2
    {extra}:
      type: Process
      properties:
        command: sleep
        arguments: [ '600' ]
"
    )
}

/// An agent of its own with service `naps` deployed from `sleepers("dropped", "true")`.
fn deployed() -> Cluster {
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let template = write(&cluster, "v1.yaml", &sleepers("dropped", "true"));
    cluster.deployed = Some("naps".into());
    cluster.ok(&["service", "deploy", &template, "--name", "naps"]);
    cluster
}

fn write(cluster: &Cluster, name: &str, text: &str) -> String {
    let path = cluster.dir().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// The command line of process `pid`, its arguments joined by spaces.
fn command_line(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

fn ids(status: &serde_json::Value) -> Vec<String> {
    let instances = status["instances"].as_array().expect("a list");
    instances
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_update_makes_again_only_what_changed_and_adds_and_removes_instances() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = deployed();
    let before = cluster.status("naps");
    let (kept, changed, dropped) = (
        pid_of(&before, "kept"),
        pid_of(&before, "changed"),
        pid_of(&before, "dropped"),
    );

    let v2 = write(&cluster, "v2.yaml", &sleepers("added", "true"));
    let updated = cluster.run(&["service", "update", "naps", &v2, "--input", "seconds='700'"]);
    let said = String::from_utf8_lossy(&updated.stderr);
    assert!(updated.status.success(), "{said}\n{}", cluster.agent_log());
    assert!(
        said.contains("1 to add, 1 to change, 1 to remove, 1 unchanged"),
        "{said}"
    );

    let after = cluster.status("naps");
    assert_eq!(ids(&after), ["kept-0", "changed-0", "added-0"], "{after:#}");
    assert!(all_running(&after), "{after:#}");
    assert_eq!(after["update"], serde_json::Value::Null, "{after:#}");
    assert_eq!(
        pid_of(&after, "kept"),
        kept,
        "an unchanged instance is left alone"
    );
    let renewed = pid_of(&after, "changed");
    assert_ne!(renewed, changed, "the changed instance is made again");
    assert!(
        command_line(renewed).contains("700"),
        "{}",
        command_line(renewed)
    );
    assert!(
        !process_exists(changed),
        "the old process of the changed instance is gone"
    );
    wait_for("the dropped instance's process to end", || {
        !process_exists(dropped)
    });
    assert!(process_exists(pid_of(&after, "added")));

    // The same template again: nothing to change, nothing touched.
    let again = cluster.run(&["service", "update", "naps", &v2, "--input", "seconds='700'"]);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        again.status.success() && said.contains("nothing to change"),
        "{said}"
    );
    // `deploy --update` updates the service that exists.
    cluster.ok(&[
        "service",
        "deploy",
        &v2,
        "--name",
        "naps",
        "--update",
        "--input",
        "seconds='800'",
    ]);
    let last = cluster.status("naps");
    assert!(command_line(pid_of(&last, "changed")).contains("800"));
    assert_eq!(pid_of(&last, "kept"), kept);
    assert_eq!(pid_of(&last, "added"), pid_of(&after, "added"));
}

#[test]
fn an_update_whose_new_instance_is_unhealthy_is_rolled_back() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = deployed();
    let before = cluster.status("naps");
    let kept = pid_of(&before, "kept");

    let broken = write(&cluster, "broken.yaml", &sleepers("dropped", "exit 1"));
    let refused = cluster.run(&[
        "service",
        "update",
        "naps",
        &broken,
        "--input",
        "seconds='700'",
    ]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains("the update failed and was rolled back") && said.contains("changed-0"),
        "{said}"
    );

    let after = cluster.status("naps");
    assert!(all_running(&after), "{after:#}");
    assert_eq!(after["update"], serde_json::Value::Null, "{after:#}");
    assert_eq!(
        pid_of(&after, "kept"),
        kept,
        "an unchanged instance is left alone"
    );
    let back = pid_of(&after, "changed");
    assert!(command_line(back).contains("600"), "{}", command_line(back));
    assert_eq!(
        instance(&after, "changed")["health"],
        "healthy",
        "{after:#}"
    );
    let table = cluster.ok(&["service", "status", "naps"]);
    assert!(
        table.contains("the update failed and was rolled back") && !table.contains("deploy failed"),
        "{table}"
    );
    // What runs is the first template again.
    let v1 = cluster.dir().join("v1.yaml");
    let plan = cluster.ok(&["service", "plan", "naps", v1.to_str().unwrap()]);
    assert!(
        plan.starts_with("service naps: 0 to add, 0 to change, 0 to remove"),
        "{plan}"
    );
}

/// The live processes whose command line ends with `line`.
fn processes_running(line: &str) -> usize {
    let entries = std::fs::read_dir("/proc").expect("/proc lists");
    let pids = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok());
    pids.filter(|&pid| command_line(pid).trim_end().ends_with(line) && process_exists(pid))
        .count()
}

#[test]
fn an_agent_killed_during_an_update_finishes_it_when_it_comes_back() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = deployed();
    let before = cluster.status("naps");
    let (kept, changed) = (pid_of(&before, "kept"), pid_of(&before, "changed"));

    // The new `changed` needs a second and a half per check to be healthy: the update is
    // still under way, its instance made again, when the agent is killed.
    let v2 = write(&cluster, "slow.yaml", &sleepers("dropped", "sleep 1.5"));
    let input = "seconds='7001'";
    cluster.ok(&[
        "service",
        "update",
        "naps",
        &v2,
        "--input",
        input,
        "--no-wait",
    ]);
    wait_for("the changed instance to be made again", || {
        let status = cluster.status("naps");
        let pid = attribute(&status, "changed", "pid").as_i64();
        status["update"] == "updating" && pid.is_some_and(|pid| pid != i64::from(changed))
    });
    cluster.kill_agent();
    cluster.start_agent();

    wait_for("the update to be over", || {
        cluster.status("naps")["update"].is_null()
    });
    let after = cluster.status("naps");
    assert!(all_running(&after), "{after:#}");
    assert_eq!(after["message"], serde_json::Value::Null, "{after:#}");
    assert_eq!(
        pid_of(&after, "kept"),
        kept,
        "an unchanged instance is left alone"
    );
    assert!(command_line(pid_of(&after, "changed")).contains("7001"));
    assert_eq!(processes_running("sleep 7001"), 1, "exactly one copy runs");
    assert!(!process_exists(changed));
}
