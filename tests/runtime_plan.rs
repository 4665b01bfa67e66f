//! `service plan`: what updating a running service to a changed template would add, change
//! and remove, instance by instance, and that asking changes nothing. Through the `khutulun`
//! command on a real agent.

#[path = "support/cluster.rs"]
mod support;

use support::*;

/// Two sleepers; `second` stands in for the second node's name and `seconds` for the first
/// one's argument.
fn sleepers(second: &str, seconds: &str) -> String {
    format!(
        "tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  inputs:
    seconds:
      type: string
      default: '{seconds}'
  node_templates:
    first:
      type: Process
      properties:
        command: sleep
        arguments: [ {{ $get_input: seconds }} ]
    {second}:
      type: Process
      properties:
        command: sleep
        arguments: [ '600' ]
"
    )
}

/// An agent of its own, and the path of the two sleepers' template, written.
fn agent_and_template() -> (Cluster, String) {
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let template = cluster.dir().join("naps.yaml");
    std::fs::write(&template, sleepers("second", "600")).unwrap();
    let template = template.to_string_lossy().into_owned();
    (cluster, template)
}

#[test]
fn a_plan_names_what_an_update_would_add_change_and_remove_and_changes_nothing() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (mut cluster, running) = agent_and_template();
    let running = running.as_str();
    cluster.deployed = Some("naps".into());
    cluster.ok(&["service", "deploy", running, "--name", "naps"]);
    let before = cluster.status("naps");

    // The same template: nothing to do.
    let same = cluster.ok(&["service", "plan", "naps", running]);
    assert_eq!(
        same,
        "service naps: 0 to add, 0 to change, 0 to remove, 2 unchanged\n"
    );

    // Another input value for the first node, the second node renamed.
    let changed = cluster.dir().join("changed.yaml");
    std::fs::write(&changed, sleepers("third", "600")).unwrap();
    let changed = changed.to_str().unwrap();
    let plan = cluster.ok(&[
        "service",
        "plan",
        "naps",
        changed,
        "--input",
        "seconds='700'",
    ]);
    assert_eq!(
        plan,
        "service naps: 1 to add, 1 to change, 1 to remove, 0 unchanged\n\
         + third-0\n\
         ~ first-0: properties.arguments\n\
         - second-0\n"
    );
    let json = cluster.json(&[
        "service",
        "plan",
        "naps",
        changed,
        "--input",
        "seconds='700'",
    ]);
    assert_eq!(json["added"], serde_json::json!(["third-0"]));
    assert_eq!(json["removed"], serde_json::json!(["second-0"]));
    assert_eq!(json["changed"][0]["id"], "first-0");
    assert_eq!(
        json["changed"][0]["fields"],
        serde_json::json!(["properties.arguments"])
    );
    assert_eq!(json["unchanged"], 0);

    // Asking changed nothing: the same processes run.
    let after = cluster.status("naps");
    for node in ["first", "second"] {
        assert_eq!(pid_of(&after, node), pid_of(&before, node));
    }
}

#[test]
fn a_plan_of_a_missing_service_or_a_broken_template_fails_clearly() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (mut cluster, template) = agent_and_template();
    let template = template.as_str();
    let missing = cluster.run(&["service", "plan", "nobody", template]);
    assert!(!missing.status.success());
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(said.contains("there is no service nobody"), "{said}");

    cluster.deployed = Some("naps".into());
    cluster.ok(&["service", "deploy", template, "--name", "naps"]);
    let broken = cluster.dir().join("broken.yaml");
    std::fs::write(&broken, "tosca_definitions_version: tosca_2_0\nservice_template:\n  node_templates:\n    x:\n      type: NoSuchType\n").unwrap();
    let refused = cluster.run(&["service", "plan", "naps", broken.to_str().unwrap()]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("broken.yaml:5:"), "{said}");
}
