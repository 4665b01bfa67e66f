//! The podman delegate with a real Podman: a busybox web server container behind a reserved
//! port, serving a bind-mounted directory; restarted by Podman when killed; outliving the
//! delegates and adopted by new ones; deleted without a trace. An image loaded from an archive
//! artifact, and the clear errors of a missing image, a missing OCI runtime and a socket that
//! does not answer (those errors through the docker delegate too, on Podman's Docker API). The tests say loudly that they skip when Podman's API does not answer;
//! with KHUTULUN_REQUIRE_PODMAN=1 (scripts/test sets it) they fail instead.

#[path = "support/delegates.rs"]
mod delegates;
#[path = "support/podman.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use delegates::{Agent, dependency_through, eventually, free_port, named_instance_spec};
use khutulun::delegates::podman::container_name;
use khutulun::delegates::protocol::{
    self, Artifact, ArtifactLocation, Attributes, DelegateKind, Dependency, InstanceHealth,
    InstanceSpec, LogSource, TypeRef,
};
use support::{TEST_IMAGE, ensure_test_image, podman, podman_available, podman_ok};

/// One agent's worth of delegates, talking to Podman at `socket` (the default socket when
/// `None`).
async fn start_agent(socket: Option<String>) -> Agent {
    Agent::start_configured(|config| config.podman_socket = socket).await
}

/// Removes the test's containers when it ends, passed or failed.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        support::remove_containers(&self.0);
    }
}

fn container_spec(
    state: &Path,
    service: &str,
    properties: serde_json::Value,
    requirements: Vec<Dependency>,
) -> InstanceSpec {
    named_instance_spec(
        state,
        service,
        "web-0",
        &["Container", "Workload", "Root"],
        properties,
        requirements,
    )
}

/// A service name no other test run uses at the same time.
fn service_name(test: &str) -> String {
    format!("podtest-{test}-{}", std::process::id())
}

/// The body of `GET /` at 127.0.0.1:`port`, once something answers there.
async fn page(port: u16) -> String {
    let mut last = String::new();
    for _ in 0..200 {
        match get(port) {
            Ok(body) => return body,
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing served on port {port}: {last}");
}

fn get(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.") && head.contains(" 200 ") => {
            Ok(body.to_owned())
        }
        _ => Err(std::io::Error::other(format!(
            "unexpected answer {response:?}"
        ))),
    }
}

/// The container's main process id on the host, as Podman reports it.
fn main_pid(name: &str) -> i32 {
    podman_ok(&["inspect", "--format", "{{.State.Pid}}", name])
        .parse()
        .unwrap()
}

fn container_status(name: &str) -> Option<String> {
    let output = podman(&["inspect", "--format", "{{.State.Status}}", name]);
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// What the command of a [`LogSource::Command`] prints.
fn log_text(source: &LogSource) -> String {
    let LogSource::Command {
        program, arguments, ..
    } = source
    else {
        panic!("a container's logs are a command, not {source:?}");
    };
    let output = std::process::Command::new(program)
        .args(arguments)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{program} {arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// A busybox web server on a reserved port, serving a read-only directory; the whole life.
#[tokio::test(flavor = "multi_thread")]
async fn a_web_server_container_lives_restarts_outlives_the_agent_and_goes() {
    if !podman_available() {
        return;
    }
    ensure_test_image();
    let service = service_name("web");
    let name = container_name("default", &service, "web-0");
    let _cleanup = Cleanup(vec![name.clone()]);
    let state = tempfile::tempdir().unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "served from a container\n").unwrap();
    let site_path = site.path().to_str().unwrap().to_owned();
    let port = free_port();
    let spec = container_spec(
        state.path(),
        &service,
        serde_json::json!({
            "image": {"reference": TEST_IMAGE},
            "command": "/bin/sh",
            "arguments": ["-c", "echo \"serving $SITE_PATH on $HTTP_PORT as $GREETING\"; trap 'exit 0' TERM; httpd -f -p \"$HTTP_PORT\" -h \"$SITE_PATH\" & wait"],
            "environment": {"GREETING": "hello"},
            "restart": "on-failure",
        }),
        vec![
            dependency_through(
                "connection",
                &["TCPPort", "Port", "Endpoint"],
                serde_json::json!({"address": "127.0.0.1", "port": port, "protocol": "tcp"}),
                serde_json::json!({"variable": "http"}),
            ),
            dependency_through(
                "storage",
                &["LocalDirectory", "Directory"],
                serde_json::json!({"path": site_path}),
                serde_json::json!({"variable": "site", "read_only": true}),
            ),
        ],
    );
    let agent = start_agent(None).await;
    let delegate = agent.delegate(DelegateKind::Podman);

    // Create: the container exists, named for the instance, and does not run yet.
    let created = protocol::create(&delegate, spec.clone()).await.unwrap();
    assert_eq!(created["name"], name.as_str());
    let id = created["container_id"].as_str().unwrap().to_owned();
    assert!(!id.is_empty());
    assert_eq!(container_status(&name).as_deref(), Some("created"));
    let before = protocol::status(&delegate, spec.clone(), created.clone())
        .await
        .unwrap();
    assert_eq!(before.health, InstanceHealth::Stopped);

    // Start: the page is served at the reserved port, from the mounted directory.
    let started = protocol::start(&delegate, spec.clone(), created.clone())
        .await
        .unwrap();
    assert_eq!(started["container_id"], id.as_str());
    assert_eq!(started["name"], name.as_str());
    assert_eq!(page(port).await, "served from a container\n");
    let running = podman_ok(&["ps", "--format", "{{.Names}}"]);
    assert!(
        running.lines().any(|line| line == name),
        "podman ps: {running}"
    );
    let labels = podman_ok(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"khutulun.service\"}} {{index .Config.Labels \"khutulun.instance\"}}",
        &name,
    ]);
    assert_eq!(labels, format!("{service} web-0"));
    let write = podman(&[
        "exec",
        &name,
        "/bin/sh",
        "-c",
        &format!("echo x > {site_path}/written"),
    ]);
    assert!(
        !write.status.success(),
        "the read-only directory took a write"
    );
    let complaint = String::from_utf8_lossy(&write.stderr);
    assert!(complaint.contains("Read-only file system"), "{complaint}");
    assert!(!site.path().join("written").exists());
    let logs = protocol::logs(&delegate, spec.clone(), started.clone())
        .await
        .unwrap();
    let text = log_text(&logs);
    assert!(
        text.contains(&format!("serving {site_path} on {port} as hello")),
        "{text}"
    );

    // Killed, it is started again by Podman (its restart policy).
    let first_pid = main_pid(&name);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    eventually(
        &delegate,
        &spec,
        &started,
        "running again after a kill",
        |seen| seen.health == InstanceHealth::Running && main_pid(&name) != first_pid,
    )
    .await;
    // Podman may record the restart a moment after the new process runs.
    let began = std::time::Instant::now();
    loop {
        let restarts = podman_ok(&["inspect", "--format", "{{.RestartCount}}", &name]);
        if restarts.parse::<u32>().unwrap() >= 1 {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "restarts {restarts}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(page(port).await, "served from a container\n");

    // The delegates stop; the container runs on, and new delegates adopt it.
    agent.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(container_status(&name).as_deref(), Some("running"));
    assert_eq!(page(port).await, "served from a container\n");
    let agent = start_agent(None).await;
    let delegate = agent.delegate(DelegateKind::Podman);
    let adopted = protocol::adopt(&delegate, spec.clone(), started.clone())
        .await
        .unwrap();
    assert_eq!(adopted.health, InstanceHealth::Running);
    assert_eq!(adopted.attributes["container_id"], id.as_str());

    // Removed by hand while no agent looked: adopting makes and starts it again.
    agent.stop();
    podman_ok(&["rm", "--force", "--time", "0", &name]);
    assert!(get(port).is_err(), "still served without its container");
    let agent = start_agent(None).await;
    let delegate = agent.delegate(DelegateKind::Podman);
    let adopted = protocol::adopt(&delegate, spec.clone(), adopted.attributes.clone())
        .await
        .unwrap();
    assert_eq!(adopted.health, InstanceHealth::Running);
    assert_ne!(adopted.attributes["container_id"], id.as_str());
    assert_eq!(page(port).await, "served from a container\n");

    // Stop keeps the container; Start runs it again.
    let stopped = protocol::stop(&delegate, spec.clone(), adopted.attributes.clone())
        .await
        .unwrap();
    assert_eq!(container_status(&name).as_deref(), Some("exited"));
    let seen = protocol::status(&delegate, spec.clone(), stopped.clone())
        .await
        .unwrap();
    assert_eq!(seen.health, InstanceHealth::Stopped, "stopped on purpose");
    assert!(get(port).is_err(), "still served after Stop");
    protocol::start(&delegate, spec.clone(), stopped.clone())
        .await
        .unwrap();
    assert_eq!(page(port).await, "served from a container\n");

    // Delete leaves nothing, and deleting again is fine.
    protocol::delete(&delegate, spec.clone(), stopped.clone())
        .await
        .unwrap();
    assert_eq!(container_status(&name), None);
    let all = podman_ok(&["ps", "--all", "--format", "{{.Names}}"]);
    assert!(!all.lines().any(|line| line == name), "podman ps -a: {all}");
    assert!(!spec.state_dir.exists());
    protocol::delete(&delegate, spec.clone(), stopped.clone())
        .await
        .unwrap();
    let gone = protocol::status(&delegate, spec.clone(), stopped)
        .await
        .unwrap();
    assert_eq!(gone.health, InstanceHealth::Missing);
    assert!(get(port).is_err(), "still served after Delete");
    agent.stop();
}

/// The image comes from an image archive artifact of the node, loaded into Podman.
#[tokio::test(flavor = "multi_thread")]
async fn an_image_archive_artifact_is_loaded_and_run() {
    archive_loaded_and_run(DelegateKind::Podman).await;
}

/// The same through the docker delegate (`POST /images/load` of the Docker API).
#[tokio::test(flavor = "multi_thread")]
async fn an_image_archive_artifact_is_loaded_and_run_with_docker() {
    archive_loaded_and_run(DelegateKind::Docker).await;
}

/// What [`an_image_archive_artifact_is_loaded_and_run`] checks, with the delegate of `kind`.
async fn archive_loaded_and_run(kind: DelegateKind) {
    if !podman_available() {
        return;
    }
    let service = service_name(&format!("archive-{kind}"));
    let name = container_name("default", &service, "web-0");
    let _cleanup = Cleanup(vec![name.clone()]);
    let image = format!(
        "localhost/khutulun-archive-{kind}-{}:test",
        std::process::id()
    );
    let files = tempfile::tempdir().unwrap();
    let archive = files.path().join("image.tar");
    support::save_archive(&image, &archive);
    let state = tempfile::tempdir().unwrap();
    let mut spec = container_spec(
        state.path(),
        &service,
        serde_json::json!({
            "image": {"artifact": "image"},
            "command": "/bin/sh",
            "arguments": ["-c", "echo loaded from the archive; exec sleep 600"],
            "restart": "no",
        }),
        vec![],
    );
    spec.artifacts.insert(
        "image".into(),
        Artifact {
            types: vec![TypeRef::khutulun("OCIImageArchive")],
            file: "image.tar".into(),
            location: ArtifactLocation::File {
                path: archive.to_str().unwrap().into(),
            },
        },
    );
    let agent = start_agent(None).await;
    let delegate = agent.delegate(kind);
    let created = protocol::create(&delegate, spec.clone()).await.unwrap();
    assert!(
        podman(&["image", "exists", &image]).status.success(),
        "{image} was not loaded"
    );
    let started = protocol::start(&delegate, spec.clone(), created)
        .await
        .unwrap();
    let from = podman_ok(&["inspect", "--format", "{{.ImageName}}", &name]);
    assert_eq!(from, image);
    eventually(&delegate, &spec, &started, "running", |seen| {
        seen.health == InstanceHealth::Running
    })
    .await;
    let logs = protocol::logs(&delegate, spec.clone(), started.clone())
        .await
        .unwrap();
    for _ in 0..100 {
        if log_text(&logs).contains("loaded from the archive") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(log_text(&logs).contains("loaded from the archive"));
    protocol::delete(&delegate, spec, started).await.unwrap();
    assert_eq!(container_status(&name), None);
    let _ = podman(&["rmi", &image]);
    agent.stop();
}

/// A reference to an image that is nowhere, and a runtime that is not installed: clear
/// errors, and no container left behind.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_image_or_runtime_is_a_clear_error() {
    clear_errors(DelegateKind::Podman, "Podman").await;
}

/// The same through the docker delegate, on Podman's Docker-compatible API (which takes no
/// runtime at all: the delegate sees the container would run with another and refuses).
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_image_or_runtime_is_a_clear_error_with_docker() {
    clear_errors(DelegateKind::Docker, "the Docker engine").await;
}

/// What [`a_missing_image_or_runtime_is_a_clear_error`] checks, with the delegate of `kind`,
/// whose messages call its engine `engine`.
async fn clear_errors(kind: DelegateKind, engine: &str) {
    if !podman_available() {
        return;
    }
    ensure_test_image();
    let agent = start_agent(None).await;
    let delegate = agent.delegate(kind);
    let state = tempfile::tempdir().unwrap();

    let service = service_name(&format!("noimage-{kind}"));
    let _cleanup = Cleanup(vec![container_name("default", &service, "web-0")]);
    let missing = "localhost/khutulun-no-such-image:never";
    let spec = container_spec(
        state.path(),
        &service,
        serde_json::json!({"image": {"reference": missing}, "command": "/bin/true"}),
        vec![],
    );
    let error = protocol::create(&delegate, spec.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "could not pull image {missing} for default/{service}/web-0: "
        )),
        "{error}"
    );
    assert_eq!(
        container_status(&container_name("default", &service, "web-0")),
        None
    );

    // An archive artifact whose file is gone.
    let service = service_name(&format!("noarchive-{kind}"));
    let _cleanup = Cleanup(vec![container_name("default", &service, "web-0")]);
    let mut spec = container_spec(
        state.path(),
        &service,
        serde_json::json!({"image": {"artifact": "image"}, "command": "/bin/true"}),
        vec![],
    );
    let gone = state.path().join("gone.tar");
    spec.artifacts.insert(
        "image".into(),
        Artifact {
            types: vec![TypeRef::khutulun("OCIImageArchive")],
            file: "gone.tar".into(),
            location: ArtifactLocation::File {
                path: gone.to_str().unwrap().into(),
            },
        },
    );
    let error = protocol::create(&delegate, spec)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "could not load the image archive {} (artifact \"image\" of default/{service}/web-0): ",
            gone.display()
        )),
        "{error}"
    );
    assert_eq!(
        container_status(&container_name("default", &service, "web-0")),
        None
    );

    // Kata, not installed here: refused before the engine is asked. Another runtime the
    // engine's API would quietly replace with its default one (gVisor's, not installed here
    // either): the container is refused once made, and removed.
    for (runtime, refusal) in [
        (
            "kata",
            "its runtime is \"kata\", but Kata Containers is not installed: neither kata-runtime nor containerd-shim-kata-v2 is on PATH".to_owned(),
        ),
        (
            "runsc",
            format!("{engine} has no OCI runtime \"runsc\" (it would have run container "),
        ),
    ] {
        let service = service_name(&format!("{runtime}-{kind}"));
        let name = container_name("default", &service, "web-0");
        let _cleanup = Cleanup(vec![name.clone()]);
        let spec = container_spec(
            state.path(),
            &service,
            serde_json::json!({"image": {"reference": TEST_IMAGE}, "command": "/bin/sh", "runtime": runtime}),
            vec![],
        );
        let error = protocol::create(&delegate, spec.clone())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("default/{service}/web-0: {refusal}")),
            "{error}"
        );
        assert_eq!(container_status(&name), None);
    }
    agent.stop();
}

/// With no Podman API at the socket, every call says so and how to start it (no Podman needed).
#[tokio::test(flavor = "multi_thread")]
async fn a_socket_that_does_not_answer_says_how_to_start_podman() {
    let dir = tempfile::tempdir().unwrap();
    let socket = format!("unix://{}/podman.sock", dir.path().display());
    let agent = start_agent(Some(socket.clone())).await;
    let delegate = agent.delegate(DelegateKind::Podman);
    let spec = container_spec(
        dir.path(),
        "nosocket",
        serde_json::json!({"image": {"reference": TEST_IMAGE}}),
        vec![],
    );
    let errors = [
        protocol::create(&delegate, spec.clone()).await.unwrap_err(),
        protocol::status(&delegate, spec.clone(), Attributes::new())
            .await
            .unwrap_err(),
        protocol::delete(&delegate, spec.clone(), Attributes::new())
            .await
            .unwrap_err(),
    ];
    for error in errors {
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("Podman's API does not answer at {socket} (")),
            "{text}"
        );
        assert!(
            text.contains(&format!("podman system service --time=0 {socket}")),
            "{text}"
        );
    }
    agent.stop();
}

fn pod_status(name: &str) -> Option<String> {
    let output = podman(&["pod", "inspect", "--format", "{{.State}}", name]);
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A pod of two containers sharing one network: a web server on the pod's published port and
/// a probe that reaches it at 127.0.0.1 inside the pod. Restarted, adopted, deleted.
#[tokio::test(flavor = "multi_thread")]
async fn a_pod_shares_its_network_and_published_port() {
    if !podman_available() {
        return;
    }
    ensure_test_image();
    let service = service_name("pod");
    let pod = container_name("default", &service, "web-0");
    let web = format!("{pod}-web");
    let probe = format!("{pod}-probe");
    let _cleanup = Cleanup(vec![web.clone(), probe.clone()]);
    struct RemovePod(String);
    impl Drop for RemovePod {
        fn drop(&mut self) {
            let _ = podman(&["pod", "rm", "--force", &self.0]);
        }
    }
    let _remove_pod = RemovePod(pod.clone());
    let state = tempfile::tempdir().unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "served from a pod\n").unwrap();
    let port = free_port();
    let mut spec = container_spec(
        state.path(),
        &service,
        serde_json::json!({
            "containers": {
                "web": {
                    "image": {"reference": TEST_IMAGE},
                    "command": "/bin/sh",
                    "arguments": ["-c", "echo web serving; trap 'exit 0' TERM; httpd -f -p \"$HTTP_PORT\" -h \"$SITE_PATH\" & wait"],
                },
                "probe": {
                    "image": {"reference": TEST_IMAGE},
                    "command": "/bin/sh",
                    "arguments": ["-c", "trap 'exit 0' TERM; until wget -q -O - \"http://127.0.0.1:$HTTP_PORT/\"; do sleep 0.2; done; sleep 600 & wait"],
                },
            },
            "restart": "on-failure",
        }),
        vec![
            dependency_through(
                "connection",
                &["TCPPort", "Port", "Endpoint"],
                serde_json::json!({"address": "127.0.0.1", "port": port, "protocol": "tcp"}),
                serde_json::json!({"variable": "http"}),
            ),
            dependency_through(
                "storage",
                &["LocalDirectory", "Directory"],
                serde_json::json!({"path": site.path().to_str().unwrap()}),
                serde_json::json!({"variable": "site", "read_only": true}),
            ),
        ],
    );
    spec.types = ["Pod", "Workload", "Root"]
        .iter()
        .map(|t| TypeRef::khutulun(t))
        .collect();
    let agent = start_agent(None).await;
    let delegate = agent.delegate(DelegateKind::Podman);

    let created = protocol::create(&delegate, spec.clone()).await.unwrap();
    assert_eq!(created["name"], pod.as_str());
    assert!(pod_status(&pod).is_some(), "no pod {pod}");
    assert_eq!(container_status(&web).as_deref(), Some("created"));
    assert_eq!(container_status(&probe).as_deref(), Some("created"));

    let started = protocol::start(&delegate, spec.clone(), created)
        .await
        .unwrap();
    assert_eq!(page(port).await, "served from a pod\n");
    let seen = eventually(&delegate, &spec, &started, "the pod running", |seen| {
        seen.health == InstanceHealth::Running
    })
    .await;
    assert_eq!(seen.attributes["pod_id"], started["pod_id"]);
    let logs = protocol::logs(&delegate, spec.clone(), started.clone())
        .await
        .unwrap();
    let LogSource::Command {
        program, arguments, ..
    } = &logs
    else {
        panic!("{logs:?}");
    };
    let mut text = String::new();
    for _ in 0..100 {
        let output = std::process::Command::new(program)
            .args(arguments)
            .output()
            .unwrap();
        text = String::from_utf8_lossy(&output.stdout).into_owned();
        if text.contains(&format!("{probe} | served from a pod")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        text.contains(&format!("{probe} | served from a pod")),
        "the probe did not reach the web server inside the pod: {text}"
    );
    assert!(text.contains(&format!("{web} | web serving")), "{text}");

    // One container killed: Podman starts it again.
    let first_pid = main_pid(&web);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    eventually(
        &delegate,
        &spec,
        &started,
        "the web container again",
        |seen| seen.health == InstanceHealth::Running && main_pid(&web) != first_pid,
    )
    .await;
    assert_eq!(page(port).await, "served from a pod\n");

    // New delegates adopt the pod as it is.
    agent.stop();
    let agent = start_agent(None).await;
    let delegate = agent.delegate(DelegateKind::Podman);
    let adopted = protocol::adopt(&delegate, spec.clone(), started.clone())
        .await
        .unwrap();
    assert_eq!(adopted.health, InstanceHealth::Running);
    assert_eq!(adopted.attributes["pod_id"], started["pod_id"]);

    // Removed by hand while no agent looked: adopting makes and starts it again.
    agent.stop();
    podman_ok(&["pod", "rm", "--force", &pod]);
    let agent = start_agent(None).await;
    let delegate = agent.delegate(DelegateKind::Podman);
    let adopted = protocol::adopt(&delegate, spec.clone(), started.clone())
        .await
        .unwrap();
    assert_eq!(adopted.health, InstanceHealth::Running);
    assert_ne!(adopted.attributes["pod_id"], started["pod_id"]);
    assert_eq!(page(port).await, "served from a pod\n");
    assert_eq!(container_status(&probe).as_deref(), Some("running"));

    protocol::delete(&delegate, spec.clone(), started.clone())
        .await
        .unwrap();
    assert_eq!(pod_status(&pod), None);
    assert_eq!(container_status(&web), None);
    assert_eq!(container_status(&probe), None);
    assert!(get(port).is_err(), "still served after Delete");
    let gone = protocol::status(&delegate, spec, started).await.unwrap();
    assert_eq!(gone.health, InstanceHealth::Missing);
    agent.stop();
}

/// A container that has an instance's name but not its labels is someone else's: the delegate
/// refuses to create over it or delete it, and leaves it alone.
#[tokio::test(flavor = "multi_thread")]
async fn a_container_khutulun_did_not_make_is_left_alone() {
    if !podman_available() {
        return;
    }
    ensure_test_image();
    let service = service_name("foreign");
    let name = container_name("default", &service, "web-0");
    let _cleanup = Cleanup(vec![name.clone()]);
    podman_ok(&["create", "--name", &name, TEST_IMAGE, "/bin/sh"]);
    let id = podman_ok(&["inspect", "--format", "{{.Id}}", &name]);
    let state = tempfile::tempdir().unwrap();
    let spec = container_spec(
        state.path(),
        &service,
        serde_json::json!({"image": {"reference": TEST_IMAGE}, "command": "/bin/sh"}),
        vec![],
    );
    let agent = start_agent(None).await;
    let delegate = agent.delegate(DelegateKind::Podman);
    let refused = [
        protocol::create(&delegate, spec.clone()).await.unwrap_err(),
        protocol::delete(&delegate, spec.clone(), Attributes::new())
            .await
            .unwrap_err(),
    ];
    for error in refused {
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "default/{service}/web-0: a container named {name} exists that Khutulun did not make for it"
            )),
            "{text}"
        );
    }
    assert_eq!(podman_ok(&["inspect", "--format", "{{.Id}}", &name]), id);
    agent.stop();
}
