//! Adoption is exact: an agent killed with SIGKILL in the middle of a deploy, and started
//! again, ends up with exactly one process per instance (never a second copy beside one an
//! earlier start left), and `service delete` then leaves none; a `restart: "no"` process that
//! ended is not run again by the restarted agent. Under the agent's own supervision and under
//! systemd (when a user manager answers).
//!
//! The agent is killed at several moments (after a delay, or once some processes run), so that
//! some kills fall before, some amid and some after the starts.
//!
//! Processes are counted in `/proc`: each carries a marker of its test in its environment, and
//! runs in its instance's private directory (its working directory), which tells the instances
//! apart.

#[path = "support/cluster.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use support::*;

/// Instances per deploy.
const WORKERS: usize = 30;

/// `WORKERS` long-running processes, marked with `marker`.
fn sleepers(marker: &str) -> String {
    format!(
        "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    worker:
      type: Process
      count: {WORKERS}
      properties:
        command: sleep
        arguments: [ '1000' ]
        restart: on-failure
        environment:
          ADOPT_MARKER: {marker}
"
    )
}

/// `WORKERS` processes that each note their directory in `runs`, run a second and exit 0.
fn one_shots(runs: &Path, marker: &str) -> String {
    format!(
        "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    job:
      type: Process
      count: {WORKERS}
      properties:
        command: /bin/sh
        arguments: [ -c, 'echo \"$PWD\" >> \"$RUNS\"; exec sleep 1' ]
        restart: 'no'
        environment:
          RUNS: {}
          ADOPT_MARKER: {marker}
",
        runs.display()
    )
}

/// The live processes with `ADOPT_MARKER=<marker>`, by working directory (their instance).
fn marked(marker: &str) -> BTreeMap<PathBuf, usize> {
    let wanted = format!("ADOPT_MARKER={marker}");
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if !environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()) || !process_exists(pid) {
            continue;
        }
        // systemd's note that a unit started (`touch unit.started`) shares its environment.
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "touch" {
            continue;
        }
        if let Ok(cwd) = std::fs::read_link(format!("/proc/{pid}/cwd")) {
            *found.entry(cwd).or_default() += 1;
        }
    }
    found
}

/// Whether every instance of the service runs with a pid of its own.
fn all_running_with_pids(status: &serde_json::Value) -> bool {
    all_running(status)
        && status["instances"]
            .as_array()
            .is_some_and(|list| list.len() == WORKERS)
        && status["instances"].as_array().unwrap().iter().all(|i| {
            i["attributes"]["pid"]
                .as_i64()
                .is_some_and(|p| process_exists(p as i32))
        })
}

/// When the agent is killed: `after` the deploy returned, once `running` processes run.
type Moment = (Duration, usize);

/// The kill moments, from before the first start to after the last (the delays differ
/// between supervisors: systemd starts its units later).
fn moments(supervisor: Supervisor) -> [Moment; 4] {
    let ms = Duration::from_millis;
    match supervisor {
        Supervisor::Agent => [(ms(60), 0), (ms(0), 1), (ms(0), WORKERS / 2), (ms(400), 0)],
        Supervisor::Systemd => [(ms(200), 0), (ms(0), 1), (ms(0), WORKERS / 2), (ms(700), 0)],
    }
}

/// Deploys without waiting, kills the agent at `moment`, starts it again and checks that each
/// instance runs exactly once; then deletes and checks that none runs.
fn killed_mid_deploy(supervisor: Supervisor, name: &str, moment: Moment) {
    let mut cluster = Cluster::new(supervisor);
    cluster.start_agent();
    let marker = format!("{name}-{}", std::process::id());
    let template = cluster.dir().join("sleepers.yaml");
    std::fs::write(&template, sleepers(&marker)).unwrap();
    cluster.deployed = Some(name.to_owned());
    let template = template.to_str().unwrap();
    cluster.ok(&["service", "deploy", template, "--name", name, "--no-wait"]);
    // The crash: at a chosen moment of the deploy.
    sleep(moment.0);
    soon("processes to run", || {
        marked(&marker).values().sum::<usize>() >= moment.1
    });
    cluster.kill_agent();
    let before = marked(&marker).values().sum::<usize>();

    cluster.start_agent();
    wait_for("every instance to run", || {
        all_running_with_pids(&cluster.status(name))
    });
    let running = marked(&marker);
    let after_restart = running.values().sum::<usize>();
    eprintln!("{name}: {before} processes at the kill, {after_restart} once all run again");
    assert_eq!(
        running.len(),
        WORKERS,
        "instances with a process: {running:#?}"
    );
    assert!(running.values().all(|n| *n == 1), "{running:#?}");
    for instance in cluster.status(name)["instances"].as_array().unwrap() {
        let pid = instance["attributes"]["pid"].as_i64().unwrap();
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
        assert!(running.contains_key(&cwd), "{pid} is not a marked process");
    }

    cluster.ok(&["service", "delete", name]);
    cluster.deployed = None;
    wait_for("no process left", || marked(&marker).is_empty());
}

#[test]
fn a_killed_agent_leaves_one_process_per_instance_supervised_by_the_agent() {
    for (step, moment) in moments(Supervisor::Agent).into_iter().enumerate() {
        let name = format!("adopt-agent-{step}");
        killed_mid_deploy(Supervisor::Agent, &name, moment);
    }
}

#[test]
fn a_killed_agent_leaves_one_process_per_instance_under_systemd() {
    if !user_manager_answers() {
        assert!(
            std::env::var_os("KHUTULUN_REQUIRE_SYSTEMD").is_none(),
            "KHUTULUN_REQUIRE_SYSTEMD is set, but no systemd user manager answers"
        );
        eprintln!("SKIPPED: no systemd user manager answers (scripts/test starts one)");
        return;
    }
    for (step, moment) in moments(Supervisor::Systemd).into_iter().enumerate() {
        let name = format!("adopt-systemd-{}-{step}", std::process::id());
        killed_mid_deploy(Supervisor::Systemd, &name, moment);
    }
}

/// The directories in `runs`, each with how often a process ran there.
fn runs_by_instance(runs: &Path) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for line in std::fs::read_to_string(runs).unwrap_or_default().lines() {
        *seen.entry(line.to_owned()).or_default() += 1;
    }
    seen
}

/// Whether no instance waits to be made (the agent has called Start for all of them).
fn settled(status: &serde_json::Value) -> bool {
    status["instances"].as_array().is_some_and(|list| {
        list.len() == WORKERS
            && list
                .iter()
                .all(|i| i["state"] == "running" || i["state"] == "failed")
    })
}

/// Retries `check` every 5 ms until it holds (for a moment that passes quickly).
fn soon(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        sleep(Duration::from_millis(5));
    }
}

/// Deploys one-shot processes, kills the agent once the first runs, waits until they all
/// ended, starts the agent again: each ran once and no more.
fn run_once(supervisor: Supervisor, name: &str) {
    let mut cluster = Cluster::new(supervisor);
    cluster.start_agent();
    let marker = format!("{name}-{}", std::process::id());
    let runs = cluster.dir().join("runs.txt");
    let template = cluster.dir().join("one-shots.yaml");
    std::fs::write(&template, one_shots(&runs, &marker)).unwrap();
    cluster.deployed = Some(name.to_owned());
    let template = template.to_str().unwrap();
    cluster.ok(&["service", "deploy", template, "--name", name, "--no-wait"]);
    // Killed once some run, while others wait to be started or recorded.
    soon("a first run", || !marked(&marker).is_empty());
    cluster.kill_agent();
    wait_for("the runs to end", || marked(&marker).is_empty());
    let before = runs_by_instance(&runs).len();

    cluster.start_agent();
    wait_for("every instance to be started", || {
        settled(&cluster.status(name))
    });
    wait_for("every instance to have run", || {
        runs_by_instance(&runs).len() == WORKERS
    });
    let seen = runs_by_instance(&runs);
    eprintln!("{name}: {before} instances had run at the kill, runs: {seen:?}");
    assert!(seen.values().all(|n| *n == 1), "run again: {seen:#?}");
    cluster.ok(&["service", "delete", name]);
    cluster.deployed = None;
    wait_for("no process left", || marked(&marker).is_empty());
}

#[test]
fn a_process_whose_policy_says_no_is_not_run_again_by_a_restarted_agent() {
    run_once(Supervisor::Agent, "adopt-once-agent");
}

#[test]
fn a_unit_whose_policy_says_no_is_not_run_again_by_a_restarted_agent() {
    if !user_manager_answers() {
        assert!(
            std::env::var_os("KHUTULUN_REQUIRE_SYSTEMD").is_none(),
            "KHUTULUN_REQUIRE_SYSTEMD is set, but no systemd user manager answers"
        );
        eprintln!("SKIPPED: no systemd user manager answers (scripts/test starts one)");
        return;
    }
    run_once(
        Supervisor::Systemd,
        &format!("adopt-once-systemd-{}", std::process::id()),
    );
}
