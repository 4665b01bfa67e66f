//! The load balancer on a real agent, through the `khutulun` command: HAProxy in front of
//! three backends (`examples/hello-load-balancer.yaml`) spreads requests over all of them;
//! with a backend killed every request still succeeds; delete leaves nothing. Needs Debian's
//! `haproxy` (scripts/test installs it; skipped without it unless
//! `KHUTULUN_REQUIRE_HAPROXY=1`).

#[path = "support/cluster.rs"]
mod support;

use std::collections::BTreeSet;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::*;

fn haproxy_installed() -> bool {
    let found = std::process::Command::new("haproxy")
        .arg("-v")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        if std::env::var("KHUTULUN_REQUIRE_HAPROXY").as_deref() == Ok("1") {
            panic!("KHUTULUN_REQUIRE_HAPROXY=1 but haproxy is not installed");
        }
        eprintln!("\n!!! SKIPPED: haproxy is not installed (scripts/test installs it)\n");
    }
    found
}

/// Which backend answered `url`, or `None` when the request failed.
fn answer(url: &str) -> Option<String> {
    http_get(url).map(|body| body.trim().to_owned())
}

#[test]
fn a_load_balancer_spreads_requests_and_survives_a_dead_backend() {
    if haproxy_installed() {
        spreads_and_survives(Supervisor::Agent);
    }
}

#[test]
fn a_load_balancer_runs_as_a_user_unit() {
    if haproxy_installed() && user_units_testable() {
        spreads_and_survives(Supervisor::Systemd);
    }
}

fn spreads_and_survives(supervisor: Supervisor) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(supervisor);
    cluster.start_agent();
    let template = example("hello-load-balancer.yaml");
    cluster.deployed = Some("hello-lb".into());
    cluster.ok(&["service", "deploy", &template, "--name", "hello-lb"]);
    let status = cluster.status("hello-lb");
    let url = status["outputs"]["url"].as_str().expect("a url").to_owned();
    let balancer = pid_of(&status, "balancer");
    if supervisor == Supervisor::Systemd {
        let unit = attribute(&status, "balancer", "unit")
            .as_str()
            .expect("a unit");
        assert!(unit_is_loaded(unit), "HAProxy runs as the user unit {unit}");
        cluster.units.push(unit.to_owned());
    }

    // HAProxy marks a backend up after its first check passes: until all three are, some
    // answer and the others wait.
    let every = BTreeSet::from(["backend-0", "backend-1", "backend-2"].map(str::to_owned));
    wait_for("answers from every backend", || {
        let seen: BTreeSet<String> = (0..12).filter_map(|_| answer(&url)).collect();
        seen == every
    });

    // Killed, a backend refuses connections at once; HAProxy tries those on another
    // backend, then stops sending it any: no request fails.
    let victim = pid_of(&status, "backend");
    kill(Pid::from_raw(victim), Signal::SIGKILL).expect("the backend runs");
    for request in 0..60 {
        let got = answer(&url);
        assert!(got.is_some(), "request {request} after the kill failed");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    cluster.ok(&["service", "delete", "hello-lb"]);
    cluster.deployed = None;
    assert!(!process_exists(balancer), "HAProxy {balancer} is gone");
    assert!(answer(&url).is_none(), "nothing answers at {url} any more");
}

/// `service update` to one more backend: the backend is added and the balancer, whose only
/// change is that requirement, is rewired in place (same HAProxy) and sends it requests.
#[test]
fn an_update_adds_a_backend_behind_the_same_balancer() {
    if !haproxy_installed() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let template = example("hello-load-balancer.yaml");
    cluster.deployed = Some("hello-lb".into());
    cluster.ok(&["service", "deploy", &template, "--name", "hello-lb"]);
    let status = cluster.status("hello-lb");
    let url = status["outputs"]["url"].as_str().expect("a url").to_owned();
    let balancer = pid_of(&status, "balancer");

    let four = std::fs::read_to_string(&template)
        .unwrap()
        .replace("count: 3", "count: 4");
    let bigger = cluster.dir().join("four.yaml");
    std::fs::write(&bigger, four).unwrap();
    cluster.ok(&["service", "update", "hello-lb", bigger.to_str().unwrap()]);

    let after = cluster.status("hello-lb");
    assert_eq!(
        pid_of(&after, "balancer"),
        balancer,
        "the balancer is the same HAProxy"
    );
    assert!(all_running(&after), "{after:#}");
    wait_for("an answer from the new backend", || {
        (0..12).any(|_| answer(&url).as_deref() == Some("backend-3"))
    });
    cluster.ok(&["service", "delete", "hello-lb"]);
    cluster.deployed = None;
}
