//! `service events`: every change of an instance's state, with its time and why, kept in the
//! store and shown oldest first (and followed as it happens); `service status` shows each
//! instance's age in its state. Through the `khutulun` command on a real agent.

#[path = "support/cluster.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;

use serde_json::Value as Json;
use support::*;

/// The states `instance` went through, as `service events` says, oldest first.
fn states(cluster: &Cluster, service: &str, instance: &str) -> Vec<String> {
    let events = cluster.json(&["service", "events", service]);
    events
        .as_array()
        .expect("a list of events")
        .iter()
        .filter(|event| event["instance"] == instance)
        .map(|event| event["state"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_change_of_state_is_an_event_with_its_time_and_reason() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let template = cluster.dir().join("napper.yaml");
    std::fs::write(&template, NAPPER).unwrap();
    cluster.deployed = Some("nap".into());
    cluster.ok(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        "nap",
    ]);
    assert_eq!(
        states(&cluster, "nap", "napper-0"),
        ["pending", "creating", "running"]
    );
    let events = cluster.json(&["service", "events", "nap"]);
    let first = &events[0];
    assert!(
        first["message"].as_str().unwrap().starts_with("placed on "),
        "{events:#}"
    );
    let times: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let status = cluster.status("nap");
    assert_eq!(instance(&status, "napper")["since"], *times.last().unwrap());
    assert!(cluster.ok(&["service", "status", "nap"]).contains("AGE"));

    // Followed: a stop and a start show up as they happen.
    let mut follow = cluster
        .command(&["service", "events", "nap", "--follow", "--format", "json"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the CLI runs");
    let (lines, arrived) = mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines.send(line);
        }
    });
    let mut followed: Vec<String> = Vec::new();
    let next = |followed: &mut Vec<String>| {
        let line = arrived
            .recv_timeout(PATIENCE)
            .expect("an event while following");
        let event: Json = serde_json::from_str(&line).expect("one JSON event per line");
        followed.push(event["state"].as_str().unwrap().to_owned());
    };
    for _ in 0..3 {
        next(&mut followed);
    }
    cluster.ok(&["service", "stop", "nap"]);
    next(&mut followed);
    cluster.ok(&["service", "start", "nap"]);
    next(&mut followed);
    let _ = follow.kill();
    let _ = follow.wait();
    assert_eq!(
        followed,
        ["pending", "creating", "running", "stopped", "running"]
    );

    cluster.ok(&["service", "delete", "nap"]);
    cluster.deployed = None;
}

#[test]
fn a_failed_instance_s_event_says_why() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let template = cluster.dir().join("broken.yaml");
    std::fs::write(
        &template,
        NAPPER.replace("command: sleep", "command: /nonexistent/khutulun-test"),
    )
    .unwrap();
    cluster.deployed = Some("broken".into());
    let output = cluster.run(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        "broken",
        "--on-failure",
        "keep",
    ]);
    assert!(!output.status.success(), "{output:?}");
    let events = cluster.json(&["service", "events", "broken"]);
    let failed = events
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["state"] == "failed")
        .unwrap_or_else(|| panic!("no failed event: {events:#}"));
    assert!(
        failed["message"].as_str().unwrap().contains("nonexistent"),
        "{events:#}"
    );
    cluster.ok(&["service", "delete", "broken"]);
    cluster.deployed = None;
}
