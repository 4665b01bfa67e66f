//! The verbs of a service's life as operators expect them, through the `khutulun` command on a
//! real agent: `service logs --tail` for every kind of output (and `--since`/`--timestamps`
//! where lines have times, refused with the reason where they do not), Ctrl-C while `deploy`
//! or `delete` waits (exit 130, the work goes on in the agent), and `delegate list` saying
//! which delegates can really work here and why not.

#[path = "support/podman.rs"]
mod podman;
#[path = "support/cluster.rs"]
mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value as Json;
use support::*;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runtime/verbs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Waits until `child` ends (panics after [`PATIENCE`]); its exit status and standard error.
fn finish(child: Child) -> (ExitStatus, String) {
    let output = wait_with_deadline(child);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status, stderr)
}

fn sigint(child: &Child) {
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    kill(pid, Signal::SIGINT).expect("SIGINT to the CLI");
}

/// `service logs` with `args` after the name; its standard output (it must succeed).
fn logs(cluster: &Cluster, service: &str, args: &[&str]) -> String {
    let mut all = vec!["service", "logs", service];
    all.extend(args);
    cluster.ok(&all)
}

/// Deploys the talker and waits until its output has all five lines.
fn deploy_talker(cluster: &mut Cluster, template: &str, inputs: &[&str]) {
    let mut args = vec!["service", "deploy", template, "--name", "talker"];
    for input in inputs {
        args.extend(["--input", input]);
    }
    cluster.deployed = Some("talker".into());
    cluster.ok(&args);
    wait_for("the talker's five lines", || {
        logs(cluster, "talker", &[]).contains("line 5")
    });
}

#[test]
fn logs_of_a_process_take_tail_and_refuse_times_with_the_reason() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    deploy_talker(&mut cluster, &fixture("talker.yaml"), &[]);

    assert_eq!(
        logs(&cluster, "talker", &["--tail", "2"]),
        "line 4\nline 5\n"
    );
    assert_eq!(
        logs(&cluster, "talker", &["talker-0", "--tail", "1"]),
        "line 5\n"
    );
    assert_eq!(logs(&cluster, "talker", &["--tail", "0"]), "");
    let mut follow = cluster
        .command(&["service", "logs", "talker", "--tail", "2", "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(follow.stdout.take().unwrap()));
    assert_eq!(lines.next().unwrap().unwrap(), "line 4");
    assert_eq!(lines.next().unwrap().unwrap(), "line 5");
    follow.kill().unwrap();
    follow.wait().unwrap();

    for times in [&["--since", "10m"][..], &["--timestamps"]] {
        let mut args = vec!["service", "logs", "talker"];
        args.extend(times);
        let output = cluster.run(&args);
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{times:?} was not refused");
        assert!(
            text.contains("plain file") && text.contains("talker-0"),
            "{times:?}: {text}"
        );
    }
    let output = cluster.run(&["service", "logs", "talker", "--since", "yesterday"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("RFC 3339"));

    cluster.ok(&["service", "delete", "talker"]);
    cluster.deployed = None;
}

#[test]
fn logs_of_a_container_take_tail_since_and_timestamps() {
    if !podman::podman_available() {
        return;
    }
    podman::ensure_test_image();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let image = format!("image={}", podman::TEST_IMAGE);
    deploy_talker(&mut cluster, &fixture("talker-container.yaml"), &[&image]);

    assert_eq!(
        logs(&cluster, "talker", &["--tail", "2"]),
        "line 4\nline 5\n"
    );
    let stamped = logs(&cluster, "talker", &["--tail", "1", "--timestamps"]);
    let (time, line) = stamped.trim_end().split_once(' ').expect("a time, a line");
    assert_eq!(line, "line 5", "{stamped}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(time).is_ok(),
        "not a time: {stamped}"
    );
    assert!(logs(&cluster, "talker", &["--since", "10m"]).contains("line 1"));
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(logs(&cluster, "talker", &["--since", &later]), "");

    cluster.ok(&["service", "delete", "talker"]);
    cluster.deployed = None;
}

/// The gates directory the slow template's scripts wait on.
fn gates(cluster: &Cluster) -> PathBuf {
    let gates = cluster.dir().join("gates");
    std::fs::create_dir_all(&gates).unwrap();
    gates
}

#[test]
fn ctrl_c_stops_waiting_for_deploy_and_delete_but_not_the_agent() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let gates = gates(&cluster);
    let input = format!("gates={}", gates.display());
    let in_verbs = ["--namespace", "verbs"];
    cluster
        .deployed_elsewhere
        .push(("verbs".into(), "slow".into()));
    let deploy = cluster
        .command(&[
            "service",
            "deploy",
            &fixture("slow.yaml"),
            "--name",
            "slow",
            "--input",
            &input,
            "--namespace",
            "verbs",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the slow service to be recorded", || {
        cluster
            .run(&["service", "status", "slow", in_verbs[0], in_verbs[1]])
            .status
            .success()
    });
    sigint(&deploy);
    let (status, stderr) = finish(deploy);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("the deployment of service slow goes on in the agent")
            && stderr.contains("`khutulun service status slow --namespace verbs`"),
        "{stderr}"
    );
    let status = cluster.json(&["service", "status", "slow", in_verbs[0], in_verbs[1]]);
    assert_ne!(status["instances"][0]["state"], "running", "{status:#}");
    std::fs::write(gates.join("start"), "").unwrap();
    wait_for("the slow service to run", || {
        all_running(&cluster.json(&["service", "status", "slow", in_verbs[0], in_verbs[1]]))
    });

    let delete = cluster
        .command(&["service", "delete", "slow", in_verbs[0], in_verbs[1]])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the delete script to wait", || {
        cluster.json(&["service", "status", "slow", in_verbs[0], in_verbs[1]])["instances"][0]["state"]
            != "running"
    });
    sigint(&delete);
    let (status, stderr) = finish(delete);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("the deletion of service slow goes on in the agent"),
        "{stderr}"
    );
    std::fs::write(gates.join("delete"), "").unwrap();
    wait_for("the slow service to be gone", || {
        cluster.json(&["service", "list", in_verbs[0], in_verbs[1]]) == Json::Array(vec![])
    });
    cluster.deployed_elsewhere.clear();
}

#[test]
fn status_watch_prints_each_change_until_the_service_is_gone() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    cluster.start_agent();
    let gates = gates(&cluster);
    let input = format!("gates={}", gates.display());
    cluster.deployed = Some("slow".into());
    let slow = fixture("slow.yaml");
    cluster.ok(&[
        "service",
        "deploy",
        &slow,
        "--name",
        "slow",
        "--input",
        &input,
        "--no-wait",
    ]);
    let mut watch = cluster
        .command(&["service", "status", "slow", "--watch", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // What the watch prints, as it prints it (a state that lasts less than its pace may be
    // folded into the next: the test waits for each state it checks to be printed).
    let printed = Arc::new(Mutex::new(String::new()));
    let reader = {
        let (mut stdout, printed) = (watch.stdout.take().unwrap(), printed.clone());
        std::thread::spawn(move || {
            let mut chunk = [0; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut chunk) {
                let text = String::from_utf8_lossy(&chunk[..n]).into_owned();
                printed.lock().unwrap().push_str(&text);
            }
        })
    };
    let seen = |state: &str| {
        printed
            .lock()
            .unwrap()
            .contains(&format!("\"state\": \"{state}\""))
    };
    // The start script waits for its gate: the watch prints the instance creating.
    wait_for("the watch to print creating", || seen("creating"));
    std::fs::write(gates.join("start"), "").unwrap();
    wait_for("the watch to print running", || seen("running"));
    std::fs::write(gates.join("delete"), "").unwrap();
    cluster.ok(&["service", "delete", "slow"]);
    cluster.deployed = None;

    let output = wait_with_deadline(watch);
    reader.join().unwrap();
    let stdout = printed.lock().unwrap().clone();
    assert!(output.status.success(), "{output:?}");
    let states: Vec<String> = serde_json::Deserializer::from_str(
        stdout.trim_end().trim_end_matches("service slow is gone"),
    )
    .into_iter::<Json>()
    .map(|status| status.unwrap()["instances"][0]["state"].to_string())
    .collect();
    let position = |state: &str| states.iter().position(|s| s == &format!("\"{state}\""));
    let (creating, running) = (position("creating"), position("running"));
    assert!(
        creating.is_some() && running > creating,
        "the watch printed {states:?}"
    );
    assert!(
        stdout.trim_end().ends_with("service slow is gone"),
        "{stdout}"
    );
}

#[test]
fn stop_start_and_restart_act_on_the_process_and_a_stop_outlives_the_agent() {
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
    let first = pid_of(&cluster.status("nap"), "napper");

    cluster.ok(&["service", "stop", "nap"]);
    let status = cluster.status("nap");
    assert_eq!(
        instance(&status, "napper")["state"],
        "stopped",
        "{status:#}"
    );
    assert!(
        !process_exists(first),
        "the stopped process {first} still runs"
    );
    // Stopped as asked is not a failure, and an agent that restarts leaves it stopped.
    assert!(cluster.run(&["service", "status", "nap"]).status.success());
    cluster.terminate_agent();
    cluster.start_agent();
    std::thread::sleep(Duration::from_secs(3));
    let status = cluster.status("nap");
    assert_eq!(
        instance(&status, "napper")["state"],
        "stopped",
        "{status:#}"
    );

    cluster.ok(&["service", "start", "nap", "napper-0"]);
    let status = cluster.status("nap");
    assert!(all_running(&status), "{status:#}");
    let second = pid_of(&status, "napper");
    assert!(second != first && process_exists(second), "{status:#}");

    cluster.ok(&["service", "restart", "nap"]);
    let status = cluster.status("nap");
    assert!(all_running(&status), "{status:#}");
    let third = pid_of(&status, "napper");
    assert!(third != second && process_exists(third), "{status:#}");
    assert!(
        !process_exists(second),
        "the restarted process {second} still runs"
    );

    let unknown = cluster.run(&["service", "stop", "nap", "nobody-0"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("has no instance nobody-0"),
        "{unknown:?}"
    );
}

/// Waits until `child` ends (panics after [`PATIENCE`]); all it printed.
fn wait_with_deadline(mut child: Child) -> std::process::Output {
    let deadline = Instant::now() + PATIENCE;
    while child
        .try_wait()
        .expect("the CLI can be waited for")
        .is_none()
    {
        assert!(Instant::now() < deadline, "the CLI did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("its output")
}

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
    cluster.env.push((
        "DBUS_SYSTEM_BUS_ADDRESS".into(),
        "unix:path=/nonexistent/system_bus_socket".into(),
    ));
    // Asked through the libvirt helper, which the agent finds beside its binary.
    cluster.env.push((
        "KHUTULUN_LIBVIRT_URI".into(),
        "qemu+unix:///system?socket=/nonexistent/libvirt-sock".into(),
    ));
    cluster.start_agent();
    let list = delegates(&cluster);
    for (name, needs) in [
        ("systemd", "session bus"),
        ("nspawn", "user manager"),
        ("podman", "/nonexistent/podman.sock"),
        (
            "firewalld",
            "/nonexistent/system_bus_socket does not answer",
        ),
        ("libvirt", "/nonexistent/libvirt-sock"),
    ] {
        let (_, running, reason) = delegate(&list, name);
        assert!(!running, "{name} said running: {list:?}");
        let reason = reason.as_deref().unwrap_or_default();
        assert!(reason.contains(needs), "{name}: {reason}");
    }
    for name in ["process", "directory", "ipport"] {
        assert_eq!(delegate(&list, name), &(name.to_owned(), true, None));
    }
    if nix::unistd::geteuid().is_root() {
        // Distrobox refuses root (or, where it is not installed, that is the reason).
        let (_, running, reason) = delegate(&list, "distrobox");
        let reason = reason.as_deref().unwrap_or_default();
        assert!(!running && reason.contains("distrobox"), "{reason}");
        assert!(
            reason.contains("root") || reason.contains("not installed"),
            "{reason}"
        );
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
