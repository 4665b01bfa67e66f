//! Services spread over real agents in network namespaces sharing one store: a deploy asked
//! of one host places instances on every host by the service's policies, each host starts its
//! own part (reading the plans in the store), `status` asked anywhere shows every instance
//! running where it was placed, and a delete asked anywhere stops every host's part and
//! removes the service. A strict Separation that the live hosts cannot meet is refused by
//! name. Asked about another host's instance, an agent asks that host (host-to-host
//! messages) for its output, its restart or a command run in it, and names it when it does not
//! answer. An update asked of one host makes every host's instances again, or rolls every
//! host back. The processes are checked for real: every agent shares this machine's process
//! table, so a pid an instance reports can be looked up here.
//!
//! Needs root and iproute2, like `membership_netns` (skips loudly without them; fails
//! instead when KHUTULUN_REQUIRE_NETNS=1, as scripts/test sets).

#[path = "support/netns.rs"]
mod netns;
#[path = "support/sleep_service.rs"]
mod sleep_service;

use std::collections::BTreeSet;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use netns::*;
use serde_json::Value as Json;
use sleep_service::{process_service, sleep_service};

fn process_exists(pid: i64) -> bool {
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    nix::sys::signal::kill(pid, None).is_ok()
}

/// Each instance's (host, pid) once all run, as `observer` reports them.
fn running(observer: &Agent, service: &str) -> Vec<(String, i64)> {
    let began = Instant::now();
    loop {
        let output = observer.khutulun(&["service", "status", service, "--format", "json"]);
        let status: Json = serde_json::from_slice(&output.stdout).unwrap_or(Json::Null);
        let instances = status["instances"].as_array().cloned().unwrap_or_default();
        let all_running =
            !instances.is_empty() && instances.iter().all(|i| i["state"] == "running");
        if all_running {
            return instances
                .iter()
                .map(|i| {
                    let host = i["host"].as_str().unwrap().to_owned();
                    (host, i["attributes"]["pid"].as_i64().expect("a pid"))
                })
                .collect();
        }
        assert!(
            began.elapsed() < PATIENCE,
            "{service} is not running everywhere as {} sees it: {status:#}\n--- its log:\n{}",
            observer.name,
            observer.log()
        );
        sleep(Duration::from_millis(200));
    }
}

/// Waits until `observer` no longer knows `service` and none of `pids` runs.
fn gone(observer: &Agent, service: &str, pids: &[i64]) {
    let began = Instant::now();
    loop {
        let list = observer.json(&["service", "list"]);
        let listed = list
            .as_array()
            .is_some_and(|services| services.iter().any(|s| s["name"] == service));
        let left: Vec<i64> = pids
            .iter()
            .copied()
            .filter(|&p| process_exists(p))
            .collect();
        if !listed && left.is_empty() {
            return;
        }
        assert!(
            began.elapsed() < PATIENCE,
            "{service} is not gone as {} sees it (listed: {listed}, processes left: {left:?})\n--- its log:\n{}",
            observer.name,
            observer.log()
        );
        sleep(Duration::from_millis(200));
    }
}

fn deploy(agent: &Agent, file: &Path, name: &str) -> std::process::Output {
    agent.khutulun(&["service", "deploy", file.to_str().unwrap(), "--name", name])
}

#[test]
fn a_distributed_service_runs_one_instance_per_host_and_is_deleted_everywhere() {
    if !netns_usable("cluster_netns") {
        return;
    }
    let mut testbed = Testbed::running(3);
    let Testbed { agents, dir, .. } = &mut testbed;
    let [one, two, three] = &agents[..] else {
        unreachable!()
    };

    let file = sleep_service(
        dir.path(),
        "spread",
        "    - everywhere: { type: Distribution, properties: { hosts: { ratio: 1.0 } }, targets: [ app ] }\n",
    );
    let output = deploy(one, &file, "spread");
    assert!(output.status.success(), "{output:?}\n{}", one.log());

    // Asked of another host: every instance runs, one on each host, as real processes.
    let placed = running(two, "spread");
    let hosts: BTreeSet<&str> = placed.iter().map(|(host, _)| host.as_str()).collect();
    assert_eq!(
        hosts,
        BTreeSet::from(["host1", "host2", "host3"]),
        "{placed:?}"
    );
    let pids: Vec<i64> = placed.iter().map(|(_, pid)| *pid).collect();
    assert!(pids.iter().all(|&pid| process_exists(pid)), "{pids:?}");
    for agent in [two, three] {
        let log = agent.log();
        assert!(
            log.contains("a service has instances here; starting them"),
            "{} did not start its part itself:\n{log}",
            agent.name
        );
    }
    let listed = three.json(&["host", "list"]);
    for host in listed.as_array().unwrap() {
        assert_eq!(host["instances"], 1, "{listed:#}");
    }

    // Deleted through the third host: every host stops its part and the records go.
    let output = three.khutulun(&["service", "delete", "spread"]);
    assert!(output.status.success(), "{output:?}\n{}", three.log());
    gone(one, "spread", &pids);
}

#[test]
fn strict_separation_needs_as_many_live_hosts_as_instances() {
    if !netns_usable("cluster_netns") {
        return;
    }
    let mut testbed = Testbed::new(3);
    let Testbed { agents, dir, .. } = &mut testbed;
    let file = sleep_service(
        dir.path(),
        "apart",
        "    - three: { type: Redundancy, properties: { minimum_count: 3 }, targets: [ app ] }\n\
         \x20   - apart: { type: Separation, targets: [ app ] }\n",
    );

    // Two hosts up: three instances cannot each have their own.
    agents[0].start();
    agents[1].start();
    wait_all_alive(&[&agents[0], &agents[1]]);
    let output = deploy(&agents[0], &file, "apart");
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{output:?}");
    assert!(error.contains("policy `apart`"), "{error}");
    assert_eq!(agents[0].json(&["service", "list"]), Json::Array(vec![]));

    // A third host joins: each instance gets its own host.
    agents[2].start();
    let [one, two, three] = &agents[..] else {
        unreachable!()
    };
    wait_all_alive(&[one, two, three]);
    let output = deploy(two, &file, "apart");
    assert!(output.status.success(), "{output:?}\n{}", two.log());
    let placed = running(one, "apart");
    let hosts: BTreeSet<&str> = placed.iter().map(|(host, _)| host.as_str()).collect();
    assert_eq!(hosts.len(), 3, "{placed:?}");
    let pids: Vec<i64> = placed.iter().map(|(_, pid)| *pid).collect();
    let output = one.khutulun(&["service", "delete", "apart"]);
    assert!(output.status.success(), "{output:?}\n{}", one.log());
    gone(three, "apart", &pids);
}

#[test]
fn a_failed_hosts_instances_move_and_what_it_left_goes_when_it_returns() {
    if !netns_usable("cluster_netns") {
        return;
    }
    let mut testbed = Testbed::running(3);
    let Testbed { agents, dir, .. } = &mut testbed;
    let file = sleep_service(
        dir.path(),
        "moving",
        "    - three: { type: Redundancy, properties: { minimum_count: 3 }, targets: [ app ] }\n",
    );
    let output = deploy(&agents[0], &file, "moving");
    assert!(output.status.success(), "{output:?}\n{}", agents[0].log());
    let before = running(&agents[0], "moving");
    let hosts: BTreeSet<&str> = before.iter().map(|(host, _)| host.as_str()).collect();
    assert_eq!(hosts.len(), 3, "spread by load: {before:?}");
    let (_, left_behind) = before
        .iter()
        .find(|(host, _)| host == "host3")
        .unwrap()
        .clone();

    // host3's agent dies; its process lives on, cut off from any agent.
    agents[2].kill();
    let began = Instant::now();
    let after = loop {
        let now = running(&agents[0], "moving");
        if now.iter().all(|(host, _)| host != "host3") {
            break now;
        }
        assert!(
            began.elapsed() < PATIENCE * 2,
            "host3's instance never moved: {now:?}\n--- host1's log:\n{}",
            agents[0].log()
        );
        sleep(Duration::from_millis(500));
    };
    eprintln!(
        "moved off host3 after {:.1} s: {after:?}",
        began.elapsed().as_secs_f64()
    );
    assert!(
        after.iter().all(|(_, pid)| process_exists(*pid)),
        "{after:?}"
    );
    assert!(
        after.iter().all(|(_, pid)| *pid != left_behind),
        "{after:?}"
    );
    assert!(
        process_exists(left_behind),
        "the cut-off process still runs until host3 returns"
    );

    // host3 comes back: the store says its instance runs elsewhere; what it left goes.
    agents[2].start();
    let began = Instant::now();
    while process_exists(left_behind) {
        assert!(
            began.elapsed() < PATIENCE,
            "host3 left its old process {left_behind} running\n--- its log:\n{}",
            agents[2].log()
        );
        sleep(Duration::from_millis(200));
    }
    let still = running(&agents[2], "moving");
    assert!(still.iter().all(|(host, _)| host != "host3"), "{still:?}");
    assert!(
        still.iter().all(|(_, pid)| process_exists(*pid)),
        "{still:?}"
    );

    let pids: Vec<i64> = still.iter().map(|(_, pid)| *pid).collect();
    let output = agents[2].khutulun(&["service", "delete", "moving"]);
    assert!(output.status.success(), "{output:?}");
    gone(&agents[1], "moving", &pids);
}

#[test]
fn a_partition_moves_nothing_while_the_cut_off_host_still_renews_its_lease() {
    if !netns_usable("cluster_netns") {
        return;
    }
    let mut testbed = Testbed::running(3);
    let Testbed {
        agents,
        dir,
        network,
    } = &mut testbed;
    let [one, two, three] = &agents[..] else {
        unreachable!()
    };
    let file = sleep_service(
        dir.path(),
        "steady",
        "    - three: { type: Redundancy, properties: { minimum_count: 3 }, targets: [ app ] }\n",
    );
    let output = deploy(one, &file, "steady");
    assert!(output.status.success(), "{output:?}\n{}", one.log());
    let before = running(one, "steady");

    // host3 is cut off: the others see it down, but it still reaches the store and renews
    // its lease, so its instance stays where it is (nothing runs twice).
    network.set_link(3, false);
    wait_until(&[one, two], "host3", "down");
    // Past the lease term and a few rounds of failover: still nothing moved.
    sleep(Duration::from_secs(10));
    let during = running(one, "steady");
    assert_eq!(during, before, "an instance moved during the partition");
    // Asked of a host that sees host3 down, its instance is not reported as simply running.
    let output = one.khutulun(&["service", "status", "steady", "--format", "json"]);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let status: Json = serde_json::from_slice(&output.stdout).unwrap();
    for instance in status["instances"].as_array().unwrap() {
        let on_three = instance["host"] == "host3";
        assert_eq!(
            instance["host_down"].as_bool().unwrap_or(false),
            on_three,
            "{status:#}"
        );
    }
    let list = one.json(&["service", "list"]);
    assert_eq!(
        list[0]["running"], 2,
        "host3's instance counts as running: {list:#}"
    );

    network.set_link(3, true);
    wait_all_alive(&[one, two, three]);
    let after = running(three, "steady");
    assert_eq!(after, before);
    assert!(
        after.iter().all(|(_, pid)| process_exists(*pid)),
        "{after:?}"
    );
    let pids: Vec<i64> = after.iter().map(|(_, pid)| *pid).collect();
    let output = two.khutulun(&["service", "delete", "steady"]);
    assert!(output.status.success(), "{output:?}");
    gone(one, "steady", &pids);
}

#[test]
fn draining_a_host_moves_its_instances_and_keeps_new_ones_away() {
    if !netns_usable("cluster_netns") {
        return;
    }
    let mut testbed = Testbed::running(2);
    let Testbed { agents, dir, .. } = &mut testbed;
    let [one, two] = &agents[..] else {
        unreachable!()
    };
    let pair = sleep_service(
        dir.path(),
        "pair",
        "    - two: { type: Redundancy, properties: { minimum_count: 2 }, targets: [ app ] }\n",
    );
    assert!(deploy(one, &pair, "pair").status.success());
    let before = running(one, "pair");
    let (_, on_two) = before
        .iter()
        .find(|(host, _)| host == "host2")
        .unwrap()
        .clone();

    let output = one.khutulun(&["host", "drain", "host2"]);
    assert!(output.status.success(), "{output:?}");
    let began = Instant::now();
    loop {
        let now = running(two, "pair");
        if now.iter().all(|(host, _)| host == "host1") && !process_exists(on_two) {
            break;
        }
        assert!(
            began.elapsed() < PATIENCE,
            "host2 was not drained: {now:?}\n--- host1's log:\n{}\n--- host2's log:\n{}",
            one.log(),
            two.log()
        );
        sleep(Duration::from_millis(200));
    }
    let hosts = one.json(&["host", "list"]);
    let drained = hosts
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "host2")
        .unwrap();
    assert_eq!(drained["drained"], true, "{hosts:#}");
    assert_eq!(drained["instances"], 0, "{hosts:#}");

    // Drained, host2 takes nothing new even though host1 is busier; undrained, it does.
    let single = sleep_service(dir.path(), "single", "    []\n");
    assert!(deploy(two, &single, "kept-away").status.success());
    assert_eq!(running(one, "kept-away")[0].0, "host1");
    let output = two.khutulun(&["host", "undrain", "host2"]);
    assert!(output.status.success(), "{output:?}");
    assert!(deploy(one, &single, "welcome").status.success());
    assert_eq!(running(one, "welcome")[0].0, "host2");

    let mut pids = Vec::new();
    for service in ["pair", "kept-away", "welcome"] {
        pids.extend(running(one, service).into_iter().map(|(_, pid)| pid));
        assert!(
            one.khutulun(&["service", "delete", service])
                .status
                .success()
        );
    }
    for service in ["pair", "kept-away", "welcome"] {
        gone(two, service, &pids);
    }
}

#[test]
fn the_last_host_standing_runs_every_instance() {
    if !netns_usable("cluster_netns") {
        return;
    }
    let mut testbed = Testbed::running(3);
    let Testbed { agents, dir, .. } = &mut testbed;
    let file = sleep_service(
        dir.path(),
        "last",
        "    - three: { type: Redundancy, properties: { minimum_count: 3 }, targets: [ app ] }\n",
    );
    assert!(deploy(&agents[1], &file, "last").status.success());
    let before = running(&agents[0], "last");

    // Two hosts die with their instances; the third runs all three.
    for h in [1, 2] {
        agents[h].kill();
        let name = format!("host{}", h + 1);
        for (_, pid) in before.iter().filter(|(host, _)| *host == name) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    let one = &agents[0];
    let began = Instant::now();
    let after = loop {
        let now = running(one, "last");
        if now.iter().all(|(host, _)| host == "host1") {
            break now;
        }
        assert!(
            began.elapsed() < PATIENCE * 2,
            "host1 does not run everything: {now:?}\n--- its log:\n{}",
            one.log()
        );
        sleep(Duration::from_millis(500));
    };
    assert!(
        after.iter().all(|(_, pid)| process_exists(*pid)),
        "{after:?}"
    );
    let list = one.json(&["service", "list"]);
    assert_eq!(list[0]["running"], 3, "{list:#}");

    let pids: Vec<i64> = after.iter().map(|(_, pid)| *pid).collect();
    assert!(
        one.khutulun(&["service", "delete", "last"])
            .status
            .success()
    );
    gone(one, "last", &pids);
}

#[test]
fn a_host_that_leaves_hands_its_instances_over_and_is_forgotten() {
    if !netns_usable("cluster_netns") {
        return;
    }
    let mut testbed = Testbed::running(2);
    let Testbed { agents, dir, .. } = &mut testbed;
    let file = sleep_service(
        dir.path(),
        "handed",
        "    - two: { type: Redundancy, properties: { minimum_count: 2 }, targets: [ app ] }\n",
    );
    assert!(deploy(&agents[0], &file, "handed").status.success());
    let before = running(&agents[0], "handed");
    let (_, on_two) = before
        .iter()
        .find(|(host, _)| host == "host2")
        .unwrap()
        .clone();

    let output = agents[1].khutulun(&["host", "leave"]);
    assert!(output.status.success(), "{output:?}\n{}", agents[1].log());
    let status = agents[1].wait_exit();
    assert!(status.success(), "host2's agent exited with {status}");
    assert!(!process_exists(on_two), "host2 left its instance running");

    let one = &agents[0];
    let after = running(one, "handed");
    assert!(after.iter().all(|(host, _)| host == "host1"), "{after:?}");
    let began = Instant::now();
    while one.sees("host2").is_some() {
        assert!(began.elapsed() < PATIENCE, "host1 still lists host2");
        sleep(Duration::from_millis(200));
    }
    let pids: Vec<i64> = after.iter().map(|(_, pid)| *pid).collect();
    assert!(
        one.khutulun(&["service", "delete", "handed"])
            .status
            .success()
    );
    gone(one, "handed", &pids);
}

#[test]
fn ten_hosts_spread_a_service_and_replace_a_lost_one() {
    if !netns_usable("cluster_netns") {
        return;
    }
    let mut testbed = Testbed::running(10);
    let Testbed { agents, dir, .. } = &mut testbed;
    // Nine instances, each on its own host: one host stays free for the failover.
    let file = sleep_service(
        dir.path(),
        "nine",
        "    - nine: { type: Redundancy, properties: { minimum_count: 9 }, targets: [ app ] }\n\
         \x20   - apart: { type: Separation, targets: [ app ] }\n",
    );
    let output = deploy(&agents[4], &file, "nine");
    assert!(output.status.success(), "{output:?}\n{}", agents[4].log());
    let before = running(&agents[0], "nine");
    let hosts: BTreeSet<&str> = before.iter().map(|(host, _)| host.as_str()).collect();
    assert_eq!(hosts.len(), 9, "{before:?}");

    // The host of app-0 dies with its instance.
    let (doomed, pid) = before[0].clone();
    let index: usize = doomed.trim_start_matches("host").parse().unwrap();
    agents[index - 1].kill();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let observer = agents.iter().find(|a| a.name != doomed).unwrap();
    let began = Instant::now();
    let after = loop {
        let now = running(observer, "nine");
        if now.iter().all(|(host, _)| *host != doomed) {
            break now;
        }
        assert!(
            began.elapsed() < PATIENCE * 2,
            "{doomed}'s instance never moved: {now:?}"
        );
        sleep(Duration::from_millis(500));
    };
    let hosts: BTreeSet<&str> = after.iter().map(|(host, _)| host.as_str()).collect();
    assert_eq!(hosts.len(), 9, "still one per host: {after:?}");
    assert!(
        after.iter().all(|(_, pid)| process_exists(*pid)),
        "{after:?}"
    );

    let pids: Vec<i64> = after.iter().map(|(_, pid)| *pid).collect();
    assert!(
        observer
            .khutulun(&["service", "delete", "nine"])
            .status
            .success()
    );
    gone(observer, "nine", &pids);
}

/// Runs `service logs NAME` on `agent` until its output has `text`; the output.
fn logs_with(agent: &Agent, service: &str, text: &str) -> String {
    let began = Instant::now();
    loop {
        let output = agent.khutulun(&["service", "logs", service]);
        let printed = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() && printed.contains(text) {
            return printed;
        }
        assert!(
            began.elapsed() < PATIENCE,
            "`service logs {service}` on {} never printed {text:?}: {output:?}\n--- its log:\n{}",
            agent.name,
            agent.log()
        );
        sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_host_asked_about_another_s_instances_asks_that_host() {
    if !netns_usable("cluster_netns") {
        return;
    }
    let mut testbed = Testbed::running(2);
    let Testbed { agents, dir, .. } = &mut testbed;
    wait_linked(&agents[0], "host2");
    let file = process_service(
        dir.path(),
        "chatty",
        "sh",
        "'-c', 'echo \"hello from $$\"; exec sleep 600'",
        "    - there: { type: Placement, properties: { hosts: { name: host2 } }, targets: [ app ] }\n",
    );
    let one = &agents[0];
    assert!(
        deploy(one, &file, "chatty").status.success(),
        "{}",
        one.log()
    );
    let placed = running(one, "chatty");
    let [(host, pid)] = &placed[..] else {
        panic!("one instance: {placed:?}")
    };
    let pid = *pid;
    assert_eq!(host, "host2");

    // Its output, as host2 sends it to host1.
    logs_with(one, "chatty", &format!("hello from {pid}"));

    // A restart asked of host1 is carried out by host2.
    let output = one.khutulun(&["service", "restart", "chatty"]);
    assert!(output.status.success(), "{output:?}\n{}", one.log());
    let began = Instant::now();
    let restarted = loop {
        let [(_, now)] = running(one, "chatty")[..] else {
            panic!("one instance")
        };
        if now != pid {
            break now;
        }
        assert!(began.elapsed() < PATIENCE, "never restarted");
        sleep(Duration::from_millis(200));
    };
    assert!(!process_exists(pid), "the old process still runs");
    logs_with(one, "chatty", &format!("hello from {restarted}"));

    // A command asked of host1 runs on host2, in the instance's directory (under host2's
    // runtime directory), with the input given; its outputs and exit code come back.
    let command = ["sh", "-c", "pwd; cat; echo oops >&2; exit 7"];
    let args = [
        &["service", "exec", "chatty", "app-0", "--"][..],
        &command[..],
    ]
    .concat();
    let output = one.khutulun_with_input(&args, b"piped in\n");
    let (printed, error) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(output.status.code(), Some(7), "{output:?}\n{}", one.log());
    let runtime = agents[1].runtime.display().to_string();
    let lines: Vec<&str> = printed.lines().collect();
    assert!(
        matches!(&lines[..], [dir, "piped in"] if dir.starts_with(&runtime)),
        "not run in host2's instance directory ({runtime}) with the input: {printed:?}"
    );
    assert_eq!(error.trim(), "oops");

    // host2's agent is gone (its instance, pinned there, stays): asking for its output fails
    // and says which host did not answer.
    agents[1].kill();
    wait_until(&[&agents[0]], "host2", "down");
    let output = agents[0].khutulun(&["service", "logs", "chatty"]);
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{output:?}");
    assert!(error.contains("host host2 did not answer"), "{error}");

    agents[1].start();
    wait_linked(&agents[0], "host2");
    let output = agents[0].khutulun(&["service", "delete", "chatty"]);
    assert!(output.status.success(), "{output:?}");
    gone(&agents[0], "chatty", &[restarted]);
}

/// Fetches `url` from inside host `from`'s namespace until it answers; the page.
fn fetch(network: &Network, from: usize, url: &str) -> String {
    let script = "import sys, urllib.request\n\
                  print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())";
    let began = Instant::now();
    loop {
        let output = std::process::Command::new("ip")
            .args(["netns", "exec", &network.namespace(from), "python3", "-c"])
            .args([script, url])
            .output()
            .expect("python3 runs");
        if output.status.success() {
            return String::from_utf8_lossy(&output.stdout).into_owned();
        }
        assert!(
            began.elapsed() < PATIENCE,
            "{url} never answered from host{from}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        sleep(Duration::from_millis(200));
    }
}

/// The web service's host, the pid of its server and its URL once both run, as `observer`
/// sees them, on a host other than `not_on`.
fn served(observer: &Agent, not_on: &str) -> (String, i64, String) {
    let began = Instant::now();
    loop {
        // It exits 3 while an instance's host is down, and still prints the status.
        let output = observer.khutulun(&["service", "status", "web", "--format", "json"]);
        let status: Json = serde_json::from_slice(&output.stdout).unwrap_or(Json::Null);
        let instance = |id: &str| {
            status["instances"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|i| i["id"] == id && i["state"] == "running" && i["host"] != not_on)
                .cloned()
        };
        if let (Some(web), Some(port)) = (instance("web-0"), instance("port-0")) {
            let attributes = &port["attributes"];
            let url = format!(
                "http://{}:{}/",
                attributes["address"].as_str().unwrap(),
                attributes["port"]
            );
            let pid = web["attributes"]["pid"].as_i64().expect("a pid");
            return (web["host"].as_str().unwrap().to_owned(), pid, url);
        }
        assert!(
            began.elapsed() < PATIENCE * 2,
            "web is not served off {not_on}: {status:#}\n--- the log:\n{}",
            observer.log()
        );
        sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_lost_hosts_web_server_answers_again_from_another_host() {
    if !netns_usable("cluster_netns") {
        return;
    }
    let mut testbed = Testbed::running(3);
    let Testbed {
        agents,
        dir,
        network,
    } = &mut testbed;
    let file = dir.path().join("web.yaml");
    std::fs::write(
        &file,
        "tosca_definitions_version: tosca_2_0\n\
         imports:\n  - profile: khutulun\n\
         service_template:\n\
         \x20 node_templates:\n\
         \x20   port:\n\
         \x20     type: TCPPort\n\
         \x20   web:\n\
         \x20     type: Process\n\
         \x20     properties:\n\
         \x20       command: sh\n\
         \x20       arguments: [ '-c', 'exec python3 -m http.server --bind \"$HTTP_HOST\" \"$HTTP_PORT\"' ]\n\
         \x20     requirements:\n\
         \x20       - connection: { node: port, relationship: { type: ConnectsTo, properties: { variable: HTTP } } }\n",
    )
    .unwrap();
    assert!(
        deploy(&agents[0], &file, "web").status.success(),
        "{}",
        agents[0].log()
    );
    let (host, pid, url) = served(&agents[0], "");
    let index: usize = host.trim_start_matches("host").parse().unwrap();
    let observer = if index == 1 { 2 } else { 1 };
    assert!(fetch(network, observer, &url).contains("Directory listing"));

    // Its host is lost with the server: the web server answers again, from another host.
    agents[index - 1].kill();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let (moved_to, moved_pid, moved_url) = served(&agents[observer - 1], &host);
    assert_ne!(moved_url, url, "the port is reserved on the new host");
    assert!(fetch(network, observer, &moved_url).contains("Directory listing"));

    let output = agents[observer - 1].khutulun(&["service", "delete", "web"]);
    assert!(output.status.success(), "{output:?}");
    gone(&agents[observer - 1], "web", &[moved_pid]);
    eprintln!("web moved from {host} to {moved_to}");
}

/// A service of one sleeping process per host, sleeping `{ $get_input: seconds }`; `extra`
/// adds a node `extra` pinned to host2.
fn spread_sleepers(dir: &Path, extra: bool) -> std::path::PathBuf {
    let path = dir.join(format!("naps-{extra}.yaml"));
    let mut text = "tosca_definitions_version: tosca_2_0\n\
                imports:\n  - profile: khutulun\n\
                service_template:\n\
                \x20 inputs:\n\
                \x20   seconds: { type: string }\n\
                \x20 node_templates:\n\
                \x20   app:\n\
                \x20     type: Process\n\
                \x20     properties:\n\
                \x20       command: sleep\n\
                \x20       arguments: [ { $get_input: seconds } ]\n\
                \x20 policies:\n\
                \x20   - everywhere: { type: Distribution, properties: { hosts: { ratio: 1.0 } }, targets: [ app ] }\n"
        .to_owned();
    if extra {
        text.push_str(
            "    - pinned: { type: Placement, properties: { hosts: { name: host2 } }, targets: [ extra ] }\n",
        );
        text = text.replace(
            "  policies:\n",
            "    extra:\n\
             \x20     type: Process\n\
             \x20     properties:\n\
             \x20       command: sleep\n\
             \x20       arguments: [ '900' ]\n\
             \x20 policies:\n",
        );
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// The command line of process `pid`, its arguments joined by spaces.
fn command_line(pid: i64) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

/// (And places what an update adds by the service's policies.)
#[test]
fn an_update_asked_of_one_host_makes_again_the_instances_of_every_host_or_rolls_all_back() {
    if !netns_usable("cluster_netns") {
        return;
    }
    let mut testbed = Testbed::running(2);
    let Testbed { agents, dir, .. } = &mut testbed;
    wait_linked(&agents[0], "host2");
    let [one, two] = &agents[..] else {
        unreachable!()
    };
    let file = spread_sleepers(dir.path(), false);
    let file = file.to_str().unwrap();
    let deployed = one.khutulun(&[
        "service",
        "deploy",
        file,
        "--name",
        "naps",
        "--input",
        "seconds='600'",
    ]);
    assert!(deployed.status.success(), "{deployed:?}\n{}", one.log());
    let before = running(one, "naps");
    let hosts: BTreeSet<&str> = before.iter().map(|(host, _)| host.as_str()).collect();
    assert_eq!(hosts, BTreeSet::from(["host1", "host2"]), "{before:?}");

    // Asked of host1: host2 makes its instance again too, and the update ends once both are.
    let update_to = |file: &str, seconds: &str| {
        let input = format!("seconds='{seconds}'");
        one.khutulun(&["service", "update", "naps", file, "--input", &input])
    };
    let update = |seconds: &str| update_to(file, seconds);
    let succeeded = |output: &std::process::Output| {
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{said}\n{}\n{}",
            one.log(),
            two.log()
        );
    };
    succeeded(&update("700"));
    let after = running(one, "naps");
    for ((host, old), (_, new)) in before.iter().zip(&after) {
        assert_ne!(old, new, "the instance on {host} was not made again");
        assert!(
            !process_exists(*old),
            "the old process on {host} still runs"
        );
        assert!(
            command_line(*new).ends_with("700 "),
            "{host}: {}",
            command_line(*new)
        );
    }
    for agent in [one, two] {
        let status = agent.json(&["service", "status", "naps"]);
        assert_eq!(
            status["update"],
            Json::Null,
            "{} still updating: {status:#}",
            agent.name
        );
    }

    // An update whose processes cannot start (`sleep` refuses the value) fails on both hosts
    // and is rolled back on both: each runs the previous definition again.
    let refused = update("soon");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains("the update failed and was rolled back"),
        "{said}"
    );
    let began = Instant::now();
    loop {
        let status = two.json(&["service", "status", "naps"]);
        let restored = running(two, "naps");
        let lines: Vec<String> = restored.iter().map(|(_, pid)| command_line(*pid)).collect();
        if status["update"] == Json::Null && lines.iter().all(|line| line.ends_with("700 ")) {
            break;
        }
        assert!(
            began.elapsed() < PATIENCE,
            "not rolled back everywhere: {lines:?} {status:#}\n{}\n{}",
            one.log(),
            two.log()
        );
        sleep(Duration::from_millis(200));
    }

    // An instance an update adds goes where the policies say (host2), not to the host the
    // update was asked of; the others are left alone.
    let kept = running(one, "naps");
    let grown = spread_sleepers(dir.path(), true);
    succeeded(&update_to(grown.to_str().unwrap(), "700"));
    let status = one.json(&["service", "status", "naps"]);
    let instances = status["instances"].as_array().unwrap();
    let extra = instances.iter().find(|i| i["id"] == "extra-0");
    let extra = extra.unwrap_or_else(|| panic!("no extra-0: {status:#}"));
    assert_eq!(extra["host"], "host2", "{status:#}");
    let now = running(one, "naps");
    for (host, pid) in &kept {
        assert!(
            now.contains(&(host.clone(), *pid)),
            "{host}'s app was touched: {now:?}"
        );
    }

    let pids: Vec<i64> = running(one, "naps").iter().map(|(_, pid)| *pid).collect();
    let output = one.khutulun(&["service", "delete", "naps"]);
    assert!(output.status.success(), "{output:?}");
    gone(two, "naps", &pids);
}
