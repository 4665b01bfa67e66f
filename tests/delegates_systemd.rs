//! The systemd delegate against a real `systemd --user` manager. Without one (nothing
//! answers on the session bus) every test says so loudly and passes
//! without checking; with KHUTULUN_REQUIRE_SYSTEMD=1 (set by `scripts/test`, which starts a
//! user manager) they fail instead.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use khutulun::delegates::profile::RestartPolicy;
use khutulun::delegates::systemd::{SystemdDelegate, SystemdMsg, UnitSpec, unit_name};
use ractor::{Actor, ActorRef, call};

async fn systemd() -> Option<ActorRef<SystemdMsg>> {
    let (actor, _) = Actor::spawn(None, SystemdDelegate, ()).await.unwrap();
    match call!(actor, |reply| SystemdMsg::Available { reply }).unwrap() {
        Ok(_) => Some(actor),
        Err(why) if std::env::var("KHUTULUN_REQUIRE_SYSTEMD").as_deref() == Ok("1") => {
            panic!("KHUTULUN_REQUIRE_SYSTEMD=1 but {why}")
        }
        Err(why) => {
            eprintln!("\n!!! SKIPPED: {why} (scripts/test starts one)\n");
            actor.stop(None);
            None
        }
    }
}

fn sleeper(state: &Path, name: &str, restart: RestartPolicy) -> UnitSpec {
    UnitSpec {
        name: name.to_owned(),
        description: "khutulun test sleeper".into(),
        program: "/bin/sh".into(),
        arguments: vec!["-c".into(), "echo started $GREETING; exec sleep 300".into()],
        working_directory: state.to_owned(),
        environment: vec!["GREETING=hello".into()],
        user: None,
        restart,
        restart_delay: Duration::from_millis(100),
        log_file: state.join("output.log"),
        on_started: None,
    }
}

/// Removes the unit when a test fails half-way (a passing test has removed it already).
struct UnitGuard(String);

impl Drop for UnitGuard {
    fn drop(&mut self) {
        for action in ["stop", "reset-failed"] {
            let _ = Command::new("systemctl")
                .args(["--user", action, &self.0])
                .output();
        }
    }
}

fn systemctl_status(name: &str) -> String {
    let output = Command::new("systemctl")
        .args(["--user", "status", "--no-pager", name])
        .output()
        .expect("systemctl runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn a_unit_runs_is_visible_to_systemctl_restarts_and_is_removed() {
    let Some(systemd) = systemd().await else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let name = unit_name(
        "default",
        "systemd-test",
        &format!("sleeper-{}", std::process::id()),
    );
    let _guard = UnitGuard(name.clone());
    let unit = sleeper(state.path(), &name, RestartPolicy::OnFailure);

    let status = call!(systemd, |reply| SystemdMsg::Run {
        unit: Box::new(unit.clone()),
        reply
    })
    .unwrap()
    .unwrap();
    assert!(status.is_running(), "{status:?}");
    let shown = systemctl_status(&name);
    assert!(shown.contains("active (running)"), "{shown}");
    assert!(shown.contains(&status.main_pid.to_string()), "{shown}");

    // Killing the main process: systemd starts it again (Restart=on-failure).
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(status.main_pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut restarted = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = call!(systemd, |reply| SystemdMsg::Status {
            name: name.clone(),
            reply
        })
        .unwrap()
        .unwrap()
        .unwrap();
        if now.is_running() && now.main_pid != status.main_pid {
            restarted = Some(now);
            break;
        }
    }
    let restarted = restarted.expect("systemd restarted the killed process");
    assert_eq!(restarted.restarts, 1);
    let log = std::fs::read_to_string(state.path().join("output.log")).unwrap();
    assert_eq!(log.matches("started hello").count(), 2, "{log}");

    call!(systemd, |reply| SystemdMsg::Remove {
        name: name.clone(),
        reply
    })
    .unwrap()
    .unwrap();
    let gone = call!(systemd, |reply| SystemdMsg::Status {
        name: name.clone(),
        reply
    })
    .unwrap()
    .unwrap();
    assert_eq!(gone, None);
    assert!(!is_alive(i64::from(restarted.main_pid)));
    // Removing again is fine.
    call!(systemd, |reply| SystemdMsg::Remove { name, reply })
        .unwrap()
        .unwrap();
    systemd.stop(None);
}

#[tokio::test]
async fn a_command_that_cannot_start_is_reported_and_leaves_no_unit() {
    let Some(systemd) = systemd().await else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let name = unit_name(
        "default",
        "systemd-test",
        &format!("broken-{}", std::process::id()),
    );
    let mut unit = sleeper(state.path(), &name, RestartPolicy::No);
    unit.program = state.path().join("no-such-program");
    let error = call!(systemd, |reply| SystemdMsg::Run {
        unit: Box::new(unit),
        reply
    })
    .unwrap()
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(&name) && error.contains("ended at once"),
        "{error}"
    );
    let gone = call!(systemd, |reply| SystemdMsg::Status { name, reply })
        .unwrap()
        .unwrap();
    assert_eq!(gone, None);
    systemd.stop(None);
}

#[tokio::test]
async fn arguments_reach_the_program_exactly_as_written() {
    let Some(systemd) = systemd().await else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    let name = unit_name(
        "default",
        "systemd-test",
        &format!("verbatim-{}", std::process::id()),
    );
    let _guard = UnitGuard(name.clone());
    let mut unit = sleeper(state.path(), &name, RestartPolicy::No);
    // systemd would expand $$, $GREETING and ${...} itself unless told not to.
    unit.arguments = vec![
        "-c".into(),
        "echo \"pid=$$ greeting=${GREETING:-unset} other=${OTHER:-fallback}\"; exec sleep 300"
            .into(),
    ];
    let status = call!(systemd, |reply| SystemdMsg::Run {
        unit: Box::new(unit),
        reply
    })
    .unwrap()
    .unwrap();
    let log = state.path().join("output.log");
    let mut output = String::new();
    for _ in 0..200 {
        output = std::fs::read_to_string(&log).unwrap_or_default();
        if output.contains("pid=") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        output.trim(),
        format!("pid={} greeting=hello other=fallback", status.main_pid)
    );
    call!(systemd, |reply| SystemdMsg::Remove { name, reply })
        .unwrap()
        .unwrap();
    systemd.stop(None);
}

/// Whether `pid` runs: a zombie has ended and only waits for its parent (systemd reaps a
/// unit's process just after it marks the unit stopped), so it does not count.
fn is_alive(pid: i64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}
