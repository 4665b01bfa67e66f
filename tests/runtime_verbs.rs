//! The verbs of a service's life as operators expect them, through the `khutulun` command on a
//! real agent: `delegate list` saying which delegates can really work here and why not.

#[path = "support/podman.rs"]
mod podman;
#[path = "support/cluster.rs"]
mod support;

use std::time::{Duration, Instant};

use support::*;

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
