//! The agent under a flood of idle connections to its control socket (connected, nothing
//! sent): it goes on answering the CLI, and when the flood takes all its file descriptors it
//! neither restarts the processes it cannot look at nor floods its log.
//!
//! The agents here supervise their processes themselves (no systemd), and run with a limit on
//! open files: 1024, the usual default, or far less, to run them out.

#[path = "support/cluster.rs"]
mod support;

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use khutulun::actors::service::CHECK_PERIOD;
use khutulun::control::RuntimePaths;
use support::{Cluster, ONE_AT_A_TIME, Supervisor, all_running, attribute, pid_of, wait_for};

/// A process the agent starts again whenever it seems to have ended.
const SLEEPER: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    sleeper:
      type: Process
      properties:
        command: /bin/sh
        arguments: [ -c, 'exec sleep 1000' ]
        restart: always
        restart_delay: 50 ms
";

/// How long the idle connections may take to open (not a performance bound).
const OPENING: Duration = Duration::from_secs(30);

/// Raises this test process's soft limit on open files to its hard limit (the idle
/// connections are ours too); panics when even that is below `needed`.
fn allow_open_files(needed: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < needed {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    }
    assert!(
        hard >= needed,
        "this test needs {needed} open files, the limit is {hard}"
    );
}

/// Opens `count` connections to the agent's control socket that never send anything; panics
/// when the agent stops taking them (its listen backlog full) for [`OPENING`].
fn idle_connections(runtime: &Path, count: usize) -> Vec<UnixStream> {
    let socket = RuntimePaths::new(runtime).socket();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..count {
            if send.send(UnixStream::connect(&socket)).is_err() {
                return;
            }
        }
    });
    (0..count)
        .map(|opened| {
            receive
                .recv_timeout(OPENING)
                .unwrap_or_else(|_| panic!("the agent took no more after {opened} connections"))
                .expect("a connection to the agent")
        })
        .collect()
}

/// The end of the agent's log (all of it can be huge when the agent spins on errors).
fn log_tail(cluster: &Cluster) -> String {
    let log = cluster.agent_log();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Runs `command`, killing it after `limit`; its output and how long it took.
fn run_within(mut command: Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    (child.wait_with_output().unwrap(), took)
}

/// Deploys [`SLEEPER`] as `name`; the pid it runs as.
fn deploy_sleeper(cluster: &mut Cluster, name: &str) -> i32 {
    let template = cluster.dir().join("sleeper.yaml");
    std::fs::write(&template, SLEEPER).unwrap();
    cluster.ok(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        name,
    ]);
    cluster.deployed = Some(name.into());
    let status = cluster.status(name);
    assert!(all_running(&status), "{status:#}");
    pid_of(&status, "sleeper")
}

/// The sleeper still runs as `pid` and was never started again.
fn assert_not_restarted(cluster: &Cluster, name: &str, pid: i32) {
    let status = cluster.status(name);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(pid_of(&status, "sleeper"), pid, "{status:#}");
    assert_eq!(attribute(&status, "sleeper", "restarts"), 0, "{status:#}");
}

#[test]
fn the_cli_is_answered_while_two_thousand_idle_connections_are_open() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    allow_open_files(2_200);
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.agent_file_limit = Some(1024);
    cluster.start_agent();
    let pid = deploy_sleeper(&mut cluster, "flooded");

    let idle = idle_connections(&cluster.runtime(), 2_000);
    let (output, took) = run_within(
        cluster.command(&["service", "list"]),
        Duration::from_secs(10),
    );
    assert!(
        output.status.success(),
        "`service list` failed after {took:?}: {}\nthe agent's log ends:\n{}",
        String::from_utf8_lossy(&output.stderr),
        log_tail(&cluster)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("flooded"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        took < Duration::from_secs(2),
        "`service list` took {took:?}"
    );
    eprintln!("`service list` answered in {took:?} with 2,000 idle connections open");
    assert_not_restarted(&cluster, "flooded", pid);
    drop(idle);

    cluster.ok(&["service", "delete", "flooded"]);
    cluster.deployed = None;
}

#[test]
fn an_agent_out_of_file_descriptors_restarts_nothing_and_logs_little() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    allow_open_files(1_000);
    let mut cluster = Cluster::new(Supervisor::Agent);
    // Far fewer than the connections that may wait for their request: the flood takes them all.
    cluster.agent_file_limit = Some(128);
    cluster.start_agent();
    let pid = deploy_sleeper(&mut cluster, "starved");
    // A new agent adopts the process and watches it through /proc, which needs descriptors.
    cluster.kill_agent();
    cluster.start_agent();
    assert_not_restarted(&cluster, "starved", pid);
    let log_before = cluster.agent_log().len();

    let idle = idle_connections(&cluster.runtime(), 400);
    wait_for("the watcher to find /proc unreadable", || {
        cluster
            .agent_log()
            .contains("cannot tell whether its process runs")
    });
    let log = cluster.agent_log();
    assert!(log.contains("control socket accept failed"), "{log}");
    drop(idle);

    wait_for("the agent to answer again", || {
        cluster.run(&["service", "list"]).status.success()
    });
    // A wrong restart is recorded by the next check of the service: give it two.
    sleep(2 * CHECK_PERIOD + Duration::from_millis(500));
    assert_not_restarted(&cluster, "starved", pid);
    let log = cluster.agent_log();
    assert!(!log.contains("starting it again"), "{}", log_tail(&cluster));
    assert!(
        !log.contains("could not start it again"),
        "{}",
        log_tail(&cluster)
    );
    let logged = log.len() - log_before;
    eprintln!("the agent logged {logged} bytes while out of descriptors");
    assert!(logged < 100_000, "the agent logged {logged} bytes");

    cluster.ok(&["service", "delete", "starved"]);
    cluster.deployed = None;
}
