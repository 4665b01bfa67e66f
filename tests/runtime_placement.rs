//! Placement by policy through the `khutulun` command, on one real agent: Redundancy sets how
//! many instances run, Placement selects hosts by label, `status` says where each instance
//! runs and why, `host list` shows labels and instance counts, and a policy the live hosts
//! cannot meet is refused at deploy time by name, with nothing recorded.

#[path = "support/sleep_service.rs"]
mod sleep_service;
#[path = "support/cluster.rs"]
mod support;

use sleep_service::sleep_service;
use support::*;

fn labelled_agent() -> Cluster {
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.agent_args = ["--label", "zone=a", "--label", "disk=ssd"]
        .map(String::from)
        .into();
    cluster.start_agent();
    cluster
}

#[test]
fn redundancy_sets_the_count_and_status_says_where_and_why() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = labelled_agent();
    let file = sleep_service(
        cluster.dir(),
        "three",
        "    - three: { type: Redundancy, properties: { minimum_count: 3 }, targets: [ app ] }\n\
         \x20   - zone: { type: Placement, properties: { hosts: { labels: { zone: a } } }, targets: [ app ] }\n",
    );
    cluster.deployed = Some("three".into());
    cluster.ok(&[
        "service",
        "deploy",
        file.to_str().unwrap(),
        "--name",
        "three",
    ]);
    let status = cluster.status("three");
    let instances = status["instances"].as_array().expect("instances");
    let ids: Vec<&str> = instances
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["app-0", "app-1", "app-2"], "{status:#}");
    for instance in instances {
        assert_eq!(instance["host"], "e2e");
        assert_eq!(instance["state"], "running", "{status:#}");
        let why = instance["placement"].as_str().unwrap_or_default();
        assert!(why.contains("Placement `zone` selects it"), "{why}");
    }

    let hosts = cluster.json(&["host", "list"]);
    let me = &hosts.as_array().unwrap()[0];
    assert_eq!(me["instances"], 3, "{hosts:#}");
    assert_eq!(me["labels"]["zone"], "a", "{hosts:#}");
    let table = cluster.ok(&["host", "list"]);
    assert!(table.contains("disk=ssd,zone=a"), "{table}");

    cluster.ok(&["service", "delete", "three"]);
    cluster.deployed = None;
}

#[test]
fn a_policy_the_live_hosts_cannot_meet_is_refused_by_name() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = labelled_agent();
    let cases = [
        (
            "apart",
            "    - two: { type: Redundancy, properties: { minimum_count: 2 }, targets: [ app ] }\n\
             \x20   - apart: { type: Separation, targets: [ app ] }\n",
        ),
        (
            "elsewhere",
            "    - elsewhere: { type: Placement, properties: { hosts: { labels: { zone: b } } }, targets: [ app ] }\n",
        ),
        (
            "pinned",
            "    - pinned: { type: Placement, properties: { hosts: { name: nowhere } }, targets: [ app ] }\n",
        ),
    ];
    for (policy, policies) in cases {
        let file = sleep_service(cluster.dir(), policy, policies);
        let output = cluster.run(&[
            "service",
            "deploy",
            file.to_str().unwrap(),
            "--name",
            policy,
        ]);
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{policy}: {output:?}");
        assert!(error.contains(&format!("policy `{policy}`")), "{error}");
    }
    let list = cluster.json(&["service", "list"]);
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list:#}");
}
