//! One networked directory used from two hosts: agents in two network namespaces (each with a
//! mount namespace of its own, as `ip netns exec` makes), an sshd in a third, and a service
//! whose two instances must run on different hosts and attach the same NetworkDirectory.
//! Each host mounts the server's directory for its own instance, each instance sees what the
//! other wrote on the other host, and a delete leaves no mount on either host.
//!
//! Needs root, iproute2, sshfs and openssh-server: skips loudly without them, unless
//! KHUTULUN_REQUIRE_NETNS=1 or KHUTULUN_REQUIRE_SSHFS=1 (scripts/test sets both as root).

#[path = "support/netns.rs"]
mod netns;

#[path = "support/sshd.rs"]
mod sshd;

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use netns::*;
use sshd::{Sshd, sshfs_mounts_seen_by, sshfs_processes_of, sshfs_usable};

/// Two `app` instances on two hosts, each writing `hello-<pid>` into the share and listing
/// what it sees there into `seen-<pid>`.
fn template(dir: &Path, server: &Sshd) -> std::path::PathBuf {
    let options = server.options().join(", ");
    let text = format!(
        "tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    share:
      type: NetworkDirectory
      properties:
        source: {source}
        identity_file: {key}
        options: [ {options} ]
    app:
      type: Process
      properties:
        command: /bin/sh
        arguments:
          - -c
          - >-
            echo $$ > \"$STORAGE_PATH/hello-$$\";
            while true; do ls \"$STORAGE_PATH\" > \"$STORAGE_PATH/.seen-$$\"
            && mv \"$STORAGE_PATH/.seen-$$\" \"$STORAGE_PATH/seen-$$\"; sleep 1; done
      requirements:
        - storage: share
  policies:
    - two: {{ type: Redundancy, properties: {{ minimum_count: 2 }}, targets: [ app ] }}
    - apart: {{ type: Separation, targets: [ app ] }}
",
        source = server.source(),
        key = server.client_key().display(),
    );
    let path = dir.join("shared.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Each `app` instance's (host, pid) once both run.
fn apps(agent: &Agent, service: &str) -> Vec<(String, i64)> {
    let began = Instant::now();
    loop {
        let status = agent.json(&["service", "status", service]);
        let instances = status["instances"].as_array().cloned().unwrap_or_default();
        if !instances.is_empty() && instances.iter().all(|i| i["state"] == "running") {
            return instances
                .iter()
                .filter(|i| i["node"] == "app")
                .map(|i| {
                    let host = i["host"].as_str().unwrap_or_default().to_owned();
                    (host, i["attributes"]["pid"].as_i64().expect("a pid"))
                })
                .collect();
        }
        assert!(
            began.elapsed() < PATIENCE,
            "{service} does not run: {status:#}\n--- log:\n{}",
            agent.log()
        );
        sleep(Duration::from_millis(200));
    }
}

#[test]
fn two_hosts_each_mount_one_shared_directory() {
    if !netns_usable("two_hosts_each_mount_one_shared_directory")
        || !sshfs_usable("two_hosts_each_mount_one_shared_directory")
    {
        return;
    }
    let mut testbed = Testbed::new(3);
    let server_namespace = testbed.network.namespace(3);
    let server = Sshd::start_with(
        &Network::address(3),
        &["ip", "netns", "exec", &server_namespace],
    );
    testbed.agents[0].start();
    testbed.agents[1].start();
    let [one, two, _] = &testbed.agents[..] else {
        unreachable!()
    };
    wait_all_alive(&[one, two]);

    let file = template(testbed.dir.path(), &server);
    let output = one.khutulun(&[
        "service",
        "deploy",
        file.to_str().unwrap(),
        "--name",
        "shared",
    ]);
    assert!(
        output.status.success(),
        "{}\n--- host1:\n{}\n--- host2:\n{}\n--- sshd:\n{}",
        String::from_utf8_lossy(&output.stderr),
        one.log(),
        two.log(),
        server.log()
    );
    let placed = apps(one, "shared");
    let hosts: std::collections::BTreeSet<&str> = placed.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(hosts.len(), 2, "one instance per host: {placed:?}");

    // Each host has its own mount of the one directory, and each instance sees both files.
    let remote = server.remote();
    for agent in [one, two] {
        let pid = agent.pid().expect("the agent runs").to_string();
        let mounts = sshfs_mounts_seen_by(&pid, &remote);
        assert_eq!(
            mounts.len(),
            1,
            "{} mounts it once: {mounts:#?}",
            agent.name
        );
    }
    let served = server.served();
    let began = Instant::now();
    for (_, pid) in &placed {
        let everyone = placed.iter().map(|(_, other)| format!("hello-{other}"));
        let expected: Vec<String> = everyone.collect();
        loop {
            let seen =
                std::fs::read_to_string(served.join(format!("seen-{pid}"))).unwrap_or_default();
            if expected
                .iter()
                .all(|name| seen.lines().any(|line| line == name))
            {
                break;
            }
            assert!(
                began.elapsed() < PATIENCE,
                "the instance {pid} does not see {expected:?} through its host's mount: {seen:?}"
            );
            sleep(Duration::from_millis(200));
        }
    }

    // Delete: neither host keeps a mount, and no sshfs is left.
    let output = two.khutulun(&["service", "delete", "shared"]);
    assert!(output.status.success(), "{output:?}\n{}", two.log());
    for agent in [one, two] {
        let pid = agent.pid().expect("the agent runs").to_string();
        let began = Instant::now();
        while !sshfs_mounts_seen_by(&pid, &remote).is_empty() {
            assert!(
                began.elapsed() < PATIENCE,
                "{} still mounts it:\n{}",
                agent.name,
                agent.log()
            );
            sleep(Duration::from_millis(200));
        }
    }
    let began = Instant::now();
    while !sshfs_processes_of(&remote).is_empty() {
        assert!(began.elapsed() < PATIENCE, "sshfs is left running");
        sleep(Duration::from_millis(200));
    }
}
