//! Every wait is bounded: a container engine that hangs (a Podman API socket that accepts
//! connections and never answers) fails its instance with a timeout naming the instance and
//! the operation, meanwhile the agent answers every request about other services at once, and
//! SIGTERM stops the agent within seconds even while the hung call is in flight.

#[path = "support/cluster.rs"]
mod support;

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::*;

/// A Unix socket that accepts every connection and never answers; dropping the returned
/// holder's contents closes them.
fn hung_engine(socket: &Path) -> Arc<Mutex<Vec<UnixStream>>> {
    let listener = UnixListener::bind(socket).expect("bind the hung socket");
    let held = Arc::new(Mutex::new(Vec::new()));
    let holder = held.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            holder.lock().unwrap().push(stream);
        }
    });
    held
}

/// `service deploy` of the container example as `name`, whose image create hangs.
fn deploy_stuck(cluster: &Cluster, name: &str, extra: &[&str]) -> std::process::Command {
    let template = example("hello-container.yaml");
    let mut args = vec!["service", "deploy", &template, "--name", name];
    args.extend_from_slice(&["--input", "image=localhost/khutulun-never:hung"]);
    args.extend_from_slice(extra);
    cluster.command(&args)
}

/// Runs a CLI command that must succeed three times, and says how long the quickest took
/// (a request held up by the hang would never answer; a busy machine slows some runs).
fn timed(cluster: &Cluster, args: &[&str]) -> Duration {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            cluster.ok(args);
            started.elapsed()
        })
        .min()
        .expect("three runs")
}

#[test]
fn a_hung_engine_fails_its_instance_and_the_agent_keeps_answering() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    let socket: PathBuf = cluster.dir().join("hung-podman.sock");
    let held = hung_engine(&socket);
    cluster.env = vec![
        (
            "CONTAINER_HOST".into(),
            format!("unix://{}", socket.display()),
        ),
        ("KHUTULUN_DELEGATE_TIMEOUT".into(), "3".into()),
    ];
    cluster.start_agent();

    let other = format!("other-{}", std::process::id());
    cluster.deployed = Some(other.clone());
    cluster.ok(&[
        "service",
        "deploy",
        &example("hello-world.yaml"),
        "--name",
        &other,
    ]);

    let stuck = format!("stuck-{}", std::process::id());
    // The container's create waits on the hung engine; while it does, the agent answers.
    let deploy = deploy_stuck(&cluster, &stuck, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the deploy starts");
    wait_for("the stuck service to be recorded", || {
        cluster
            .run(&["service", "status", &stuck])
            .status
            .code()
            .is_some_and(|code| code == 0 || code == 3)
    });
    for args in [
        vec!["service", "list"],
        vec!["service", "status", &other],
        vec!["service", "logs", &other, "web-0"],
        // Its own Service actor answers too: its steps run beside it.
        vec!["service", "logs", &stuck, "writer-0"],
    ] {
        let took = timed(&cluster, &args);
        assert!(
            took < Duration::from_secs(1),
            "`khutulun {}` took {took:?} while an engine hung",
            args.join(" ")
        );
    }

    let deploy = deploy.wait_with_output().expect("the deploy ran");
    assert_eq!(deploy.status.code(), Some(1), "{deploy:?}");
    let error = String::from_utf8_lossy(&deploy.stderr);
    let expected =
        format!("default/{stuck}/web-0: the podman delegate did not finish create within 3 s");
    assert!(error.contains(&expected), "{error}");
    let status = cluster.status(&stuck);
    assert_eq!(instance(&status, "web")["state"], "failed", "{status:#}");
    assert!(
        instance(&status, "web")["message"]
            .as_str()
            .is_some_and(|message| message.contains(&expected)),
        "{status:#}"
    );
    assert!(all_running(&cluster.status(&other)));

    // The engine is let go: nothing of it is left waiting.
    held.lock().unwrap().clear();
}

#[test]
fn sigterm_stops_the_agent_within_seconds_while_an_engine_hangs() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    let socket: PathBuf = cluster.dir().join("hung-podman.sock");
    let held = hung_engine(&socket);
    // No --delegate-timeout: the create would wait its full 300 s.
    cluster.env = vec![(
        "CONTAINER_HOST".into(),
        format!("unix://{}", socket.display()),
    )];
    cluster.start_agent();
    let stuck = format!("stuck-{}", std::process::id());
    let recorded = deploy_stuck(&cluster, &stuck, &["--no-wait"])
        .output()
        .expect("the deploy runs");
    assert!(recorded.status.success(), "{recorded:?}");
    wait_for("the container's create to hang", || {
        instance(&cluster.status(&stuck), "web")["state"] == "creating"
            && !held.lock().unwrap().is_empty()
    });
    // The writer outlives the agent, as workloads do; the test stops it itself at the end.
    wait_for("the writer to run", || {
        instance(&cluster.status(&stuck), "writer")["state"] == "running"
    });
    let writer = pid_of(&cluster.status(&stuck), "writer");

    let (took, status) = cluster.terminate_agent();
    assert!(status.success(), "{status:?}\n{}", cluster.agent_log());
    assert!(
        took < Duration::from_secs(10),
        "the agent took {took:?} to stop:\n{}",
        cluster.agent_log()
    );
    held.lock().unwrap().clear();
    let group = nix::unistd::Pid::from_raw(writer);
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL).expect("the writer runs");
}
