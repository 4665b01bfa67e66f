//! The process delegate with real processes, on both paths: supervised by the agent itself,
//! and run as units of a real `systemd --user` manager. The systemd tests say loudly that they
//! skip when no user manager answers; with KHUTULUN_REQUIRE_SYSTEMD=1 (scripts/test sets it)
//! they fail instead.

#[path = "support/delegates.rs"]
mod support;

use std::path::Path;
use std::time::Duration;

use khutulun::delegates::process::SupervisorChoice;
use khutulun::delegates::protocol::{
    self, Attributes, Dependency, InstanceHealth, InstanceSpec, LogSource,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{Agent, dependency, eventually, instance_spec, is_alive, log_with, pid_of};

const PROCESS: &[&str] = &["Process", "Workload", "Root"];

fn process_spec(
    state: &Path,
    service: &str,
    properties: serde_json::Value,
    requirements: Vec<Dependency>,
) -> InstanceSpec {
    instance_spec(state, service, PROCESS, properties, requirements)
}

/// The environment of a running process. While it is inside `execve` (the shell below execs
/// `sleep` right after writing its log line) the kernel shows an empty environment for a moment,
/// so this waits for the new program's environment to appear.
async fn environ(pid: i32) -> Vec<String> {
    let mut raw = Vec::new();
    for _ in 0..100 {
        raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        if !raw.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    raw.split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// Stops what a failed test left running (a passing test has deleted it all already).
struct Cleanup {
    unit: String,
    pids: Vec<i32>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for pid in &self.pids {
            if is_alive(*pid) {
                let _ = nix::sys::signal::killpg(Pid::from_raw(*pid), Signal::SIGKILL);
            }
        }
        let _ = std::process::Command::new("systemctl")
            .args(["--user", "stop", &self.unit])
            .output();
        let _ = std::process::Command::new("systemctl")
            .args(["--user", "reset-failed", &self.unit])
            .output();
    }
}

/// The whole life of one process instance: environment and directory from its requirements,
/// restart after a kill, survival of the agent, adoption, deletion without a trace.
async fn full_life(choice: SupervisorChoice, service: &str) {
    let agent = Agent::start(choice).await;
    let state = tempfile::tempdir().unwrap();
    let site = state.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    let spec = process_spec(
        state.path(),
        service,
        serde_json::json!({
            "command": "sh",
            "arguments": ["-c", "echo serving $GREETING on $WEB_PORT in $(pwd); exec sleep 600"],
            "environment": {"GREETING": "hello"},
            "restart": "on-failure",
            "restart_delay": "100 ms",
        }),
        vec![
            dependency(
                "web",
                &["TCPPort", "Port", "Endpoint", "Root"],
                serde_json::json!({"address": "127.0.0.1", "port": 20123}),
            ),
            dependency(
                "storage",
                &["LocalDirectory", "Directory", "Root"],
                serde_json::json!({"path": site}),
            ),
        ],
    );
    let mut cleanup = Cleanup {
        unit: khutulun::delegates::systemd::unit_name("default", service, "worker-0"),
        pids: Vec::new(),
    };
    let process = agent.process();
    let created = protocol::create(&process, spec.clone()).await.unwrap();
    let started = protocol::start(&process, spec.clone(), created)
        .await
        .unwrap();
    let expected = match choice {
        SupervisorChoice::Systemd => "systemd",
        _ => "agent",
    };
    assert_eq!(started["supervisor"], expected, "{started:?}");
    let first = pid_of(&started);
    cleanup.pids.push(first);
    log_with(&spec.state_dir.join("output.log"), "serving", 1).await;
    let env = environ(first).await;
    for wanted in ["WEB_HOST=127.0.0.1", "WEB_PORT=20123", "GREETING=hello"] {
        assert!(env.iter().any(|v| v == wanted), "{wanted} in {env:?}");
    }
    assert!(
        env.iter()
            .any(|v| v == &format!("STORAGE_PATH={}", site.display()))
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{first}/cwd")).unwrap(),
        site
    );
    if choice == SupervisorChoice::Systemd {
        let unit = started["unit"].as_str().unwrap();
        let shown = std::process::Command::new("systemctl")
            .args(["--user", "status", "--no-pager", unit])
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.contains("active (running)"), "{shown}");
    }

    // Killed: started again, per its policy.
    kill(Pid::from_raw(first), Signal::SIGKILL).unwrap();
    let restarted = eventually(
        &process,
        &spec,
        &started,
        "a new pid after the kill",
        |seen| {
            seen.health == InstanceHealth::Running
                && seen
                    .attributes
                    .get("pid")
                    .is_some_and(|p| p.as_i64() != Some(i64::from(first)))
        },
    )
    .await;
    let second = pid_of(&restarted.attributes);
    cleanup.pids.push(second);
    assert_eq!(restarted.attributes["restarts"], 1);

    // The agent goes away: the process stays.
    agent.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(is_alive(second), "the process outlived its agent");

    // A new agent adopts it.
    let agent = Agent::start(choice).await;
    let process = agent.process();
    let adopted = protocol::adopt(&process, spec.clone(), restarted.attributes.clone())
        .await
        .unwrap();
    assert_eq!(adopted.health, InstanceHealth::Running);
    assert_eq!(pid_of(&adopted.attributes), second);

    // The new agent supervises it too.
    kill(Pid::from_raw(second), Signal::SIGKILL).unwrap();
    let again = eventually(
        &process,
        &spec,
        &adopted.attributes,
        "a pid after the second kill",
        |seen| {
            seen.health == InstanceHealth::Running
                && seen
                    .attributes
                    .get("pid")
                    .is_some_and(|p| p.as_i64() != Some(i64::from(second)))
        },
    )
    .await;
    let third = pid_of(&again.attributes);
    cleanup.pids.push(third);

    let LogSource::File(log) = protocol::logs(&process, spec.clone(), again.attributes.clone())
        .await
        .unwrap()
    else {
        panic!("a process has a log file")
    };
    let line = format!("serving hello on 20123 in {}", site.display());
    let output = log_with(&log, &line, 3).await;
    assert_eq!(output.matches(&line).count(), 3, "{output}");

    protocol::delete(&process, spec.clone(), again.attributes.clone())
        .await
        .unwrap();
    assert!(!is_alive(third), "deleted means no process");
    assert!(!spec.state_dir.exists(), "deleted means no state left");
    let gone = protocol::status(&process, spec.clone(), again.attributes.clone())
        .await
        .unwrap();
    assert!(
        matches!(
            gone.health,
            InstanceHealth::Missing | InstanceHealth::Stopped
        ),
        "{gone:?}"
    );
    assert!(
        site.is_dir(),
        "the attached directory is not the process's to remove"
    );
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_systemd_the_agent_supervises_the_process() {
    full_life(
        SupervisorChoice::Agent,
        &format!("agent-{}", std::process::id()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_systemd_the_process_is_a_user_unit() {
    let probe = Agent::start(SupervisorChoice::Auto).await;
    let available = probe.systemd_available().await;
    probe.stop();
    if available {
        full_life(
            SupervisorChoice::Systemd,
            &format!("systemd-{}", std::process::id()),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_whose_policy_says_no_stays_ended_and_says_why() {
    let agent = Agent::start(SupervisorChoice::Agent).await;
    let state = tempfile::tempdir().unwrap();
    let spec = process_spec(
        state.path(),
        "once",
        serde_json::json!({"command": "/bin/sh", "arguments": ["-c", "exit 3"], "restart": "no"}),
        Vec::new(),
    );
    let process = agent.process();
    let started = protocol::start(&process, spec.clone(), Attributes::new())
        .await
        .unwrap();
    let ended = eventually(&process, &spec, &started, "the exit", |seen| {
        seen.health != InstanceHealth::Running
    })
    .await;
    match ended.health {
        InstanceHealth::Failed { reason } => {
            assert!(reason.contains("exited with status 3"), "{reason}")
        }
        other => panic!("expected a failure, saw {other:?}"),
    }
    assert_eq!(ended.attributes["restarts"], 0);
    protocol::delete(&process, spec, ended.attributes)
        .await
        .unwrap();
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_keeps_failing_is_given_up_like_systemd_does() {
    let agent = Agent::start(SupervisorChoice::Agent).await;
    let state = tempfile::tempdir().unwrap();
    let spec = process_spec(
        state.path(),
        "flapping",
        serde_json::json!({
            "command": "/bin/sh",
            "arguments": ["-c", "echo try; exit 1"],
            "restart": "always",
            "restart_delay": "10 ms",
        }),
        Vec::new(),
    );
    let process = agent.process();
    let started = protocol::start(&process, spec.clone(), Attributes::new())
        .await
        .unwrap();
    let ended = eventually(&process, &spec, &started, "giving up", |seen| {
        matches!(&seen.health, InstanceHealth::Failed { reason } if reason.contains("not started again"))
    })
    .await;
    assert_eq!(ended.attributes["restarts"], 4);
    let output = log_with(&spec.state_dir.join("output.log"), "try", 5).await;
    assert_eq!(output.matches("try").count(), 5, "{output}");
    protocol::delete(&process, spec, ended.attributes)
        .await
        .unwrap();
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_commands_fail_clearly_and_start_nothing() {
    let agent = Agent::start(SupervisorChoice::Auto).await;
    let state = tempfile::tempdir().unwrap();
    let spec = process_spec(
        state.path(),
        "broken",
        serde_json::json!({"command": "definitely-not-a-program"}),
        Vec::new(),
    );
    let error = protocol::create(&agent.process(), spec.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("default/broken/worker-0: "), "{error}");
    assert!(error.contains("not an executable file"), "{error}");
    let error = protocol::start(&agent.process(), spec, Attributes::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("definitely-not-a-program"), "{error}");
    agent.stop();
}

async fn runs_as_nobody(choice: SupervisorChoice) {
    let agent = Agent::start(choice).await;
    if choice == SupervisorChoice::Systemd && !agent.systemd_available().await {
        agent.stop();
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let service = format!("user-{}-{}", choice_name(choice), std::process::id());
    let spec = process_spec(
        state.path(),
        &service,
        serde_json::json!({
            "command": "/bin/sh",
            "arguments": ["-c", "echo I am $(id -un); exec sleep 600"],
            "user": "nobody",
            "working_directory": "/",
        }),
        Vec::new(),
    );
    let mut cleanup = Cleanup {
        unit: khutulun::delegates::systemd::unit_name("default", &service, "worker-0"),
        pids: Vec::new(),
    };
    let process = agent.process();
    let started = protocol::start(&process, spec.clone(), Attributes::new())
        .await
        .unwrap();
    let pid = pid_of(&started);
    cleanup.pids.push(pid);
    let output = log_with(&spec.state_dir.join("output.log"), "I am nobody", 1).await;
    assert!(output.contains("I am nobody"), "{output}");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uid_line.split_whitespace().nth(1) == Some(&nobody.uid.to_string()),
        "{uid_line}"
    );
    protocol::delete(&process, spec, started).await.unwrap();
    assert!(!is_alive(pid));
    agent.stop();
}

fn choice_name(choice: SupervisorChoice) -> &'static str {
    match choice {
        SupervisorChoice::Systemd => "systemd",
        _ => "agent",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_runs_a_process_as_the_user_it_names() {
    runs_as_nobody(SupervisorChoice::Agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_runs_a_process_as_the_user_it_names() {
    runs_as_nobody(SupervisorChoice::Systemd).await;
}

/// A process that ignores SIGTERM holds its stop for the whole grace period; meanwhile the
/// delegate starts, observes and stops other instances at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_slow_stop_does_not_hold_up_other_instances() {
    let agent = Agent::start(SupervisorChoice::Agent).await;
    let process = agent.process();
    let state = tempfile::tempdir().unwrap();
    let stubborn = process_spec(
        state.path(),
        "slow-stop",
        serde_json::json!({"command": "/bin/sh", "arguments": ["-c", "trap '' TERM; exec sleep 600"]}),
        vec![],
    );
    let quick = |instance: &str| {
        support::named_instance_spec(
            state.path(),
            "slow-stop",
            instance,
            PROCESS,
            serde_json::json!({"command": "sleep", "arguments": ["600"]}),
            vec![],
        )
    };
    let created = protocol::create(&process, stubborn.clone()).await.unwrap();
    let started = protocol::start(&process, stubborn.clone(), created)
        .await
        .unwrap();
    let stubborn_pid = pid_of(&started);
    let mut cleanup = Cleanup {
        unit: String::new(),
        pids: vec![stubborn_pid],
    };
    // The shell must have set its trap (and exec'd sleep) before the stop begins.
    eventually(&process, &stubborn, &started, "sleep runs", |_| {
        std::fs::read_to_string(format!("/proc/{stubborn_pid}/comm"))
            .is_ok_and(|comm| comm.trim() == "sleep")
    })
    .await;
    let slow_stop = tokio::spawn({
        let (process, spec) = (process.clone(), stubborn.clone());
        async move { protocol::stop(&process, spec, started).await }
    });
    // Sent after the stop: on a delegate that stops inside its handler, these wait for it.
    let began = std::time::Instant::now();
    let other = quick("other-0");
    let created = protocol::create(&process, other.clone()).await.unwrap();
    let running = protocol::start(&process, other.clone(), created)
        .await
        .unwrap();
    cleanup.pids.push(pid_of(&running));
    let seen = protocol::status(&process, other.clone(), running.clone())
        .await
        .unwrap();
    assert_eq!(seen.health, InstanceHealth::Running);
    protocol::delete(&process, other, running).await.unwrap();
    let took = began.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "another instance waited {took:?} for the slow stop"
    );
    assert!(
        !slow_stop.is_finished(),
        "the stubborn process ended too soon"
    );

    slow_stop.await.unwrap().unwrap();
    assert!(!is_alive(stubborn_pid), "a stop kills what ignores SIGTERM");
    agent.stop();
}

/// A start finds the unit an earlier start ran (under another supervisor choice, before the
/// agent restarted) and adopts it instead of starting a second copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_adopts_a_running_unit_of_the_instance_instead_of_a_second_copy() {
    let first = Agent::start(SupervisorChoice::Systemd).await;
    if !first.systemd_available().await {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let service = format!("unit-adopt-{}", std::process::id());
    let spec = process_spec(
        state.path(),
        &service,
        serde_json::json!({"command": "sleep", "arguments": ["600"]}),
        vec![],
    );
    let created = protocol::create(&first.process(), spec.clone())
        .await
        .unwrap();
    let started = protocol::start(&first.process(), spec.clone(), created.clone())
        .await
        .unwrap();
    let unit = started["unit"].as_str().unwrap().to_owned();
    let mut cleanup = Cleanup { unit, pids: vec![] };
    first.stop();

    let second = Agent::start(SupervisorChoice::Agent).await;
    let again = protocol::start(&second.process(), spec.clone(), created)
        .await
        .unwrap();
    cleanup.pids.push(pid_of(&again));
    assert_eq!(again["supervisor"], "systemd", "{again:?}");
    assert_eq!(again["pid"], started["pid"], "{again:?}");
    assert!(!std::fs::exists(state.path().join("worker-0/process.pid")).unwrap());
    protocol::delete(&second.process(), spec, again)
        .await
        .unwrap();
    assert!(!is_alive(pid_of(&started)));
    second.stop();
}
