//! The nspawn delegate with a real `systemd-nspawn` and a real `systemd --user`: a busybox
//! system container serving a page from a bound directory on its reserved port, as a user
//! unit. The tests say loudly that they skip where systemd-nspawn or a user manager is
//! missing; with KHUTULUN_REQUIRE_NSPAWN=1 and KHUTULUN_REQUIRE_SYSTEMD=1 (scripts/test sets
//! both) they fail instead. tests/delegates_nspawn_needs_systemd.rs checks the refusal where
//! no user manager answers.

#[path = "support/busybox.rs"]
mod busybox;
#[path = "support/delegates.rs"]
mod support;

use std::path::Path;
use std::time::Duration;

use busybox::busybox_root;
use khutulun::delegates::process::{SupervisorChoice, find_program};
use khutulun::delegates::protocol::{self, DelegateKind, InstanceHealth, InstanceSpec};
use khutulun::delegates::systemd::SystemdMsg;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ractor::call;
use serde_json::json;
use support::{
    Agent, available, dependency, free_port, instance_spec, is_alive, log_with, page_with, pid_of,
};

const SYSTEM_CONTAINER: &[&str] = &["SystemContainer", "Workload", "Root"];

/// Whether systemd-nspawn and a static busybox are here to build and run a container with.
fn nspawn_available() -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    let missing = ["systemd-nspawn", "busybox"]
        .into_iter()
        .filter(|program| find_program(program, &path, Path::new("/")).is_none())
        .collect::<Vec<_>>();
    available(
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("{} not installed", missing.join(" and ")))
        },
        "KHUTULUN_REQUIRE_NSPAWN",
    )
}

/// A container that serves `site` read-only on its reserved port, after checking that it
/// cannot write there and writing to its own (ephemeral) root.
fn web_container(state: &Path, service: &str, root: &Path, site: &Path, port: u16) -> InstanceSpec {
    let mut storage = dependency(
        "site",
        &["LocalDirectory", "Directory", "Root"],
        json!({"path": site}),
    );
    storage.relationship_properties = json!({"read_only": true}).as_object().unwrap().clone();
    instance_spec(
        state,
        service,
        SYSTEM_CONTAINER,
        json!({
            "image": {"directory": root},
            "ephemeral": true,
            "command": ["sh", "-c", concat!(
                "touch /written-inside; ",
                "if touch $SITE_PATH/x 2>/dev/null; then echo site writable; else echo site read-only; fi; ",
                "echo serving on $WEB_HOST:$WEB_PORT as $(hostname); ",
                "exec httpd -f -p $WEB_HOST:$WEB_PORT -h $SITE_PATH",
            )],
            "restart": "on-failure",
        }),
        vec![
            dependency(
                "web",
                &["TCPPort", "Port", "Endpoint", "Root"],
                json!({"address": "127.0.0.1", "port": port}),
            ),
            storage,
        ],
    )
}

/// A container's whole life as a systemd user unit, whoever supervises the agent's plain
/// processes: it serves, sees its requirements, is restarted after a kill (with nothing of its
/// first run left in the way), outlives its agent, is adopted, and leaves nothing behind.
async fn serve_restart_adopt_delete(choice: SupervisorChoice, service: &str) {
    let scratch = tempfile::tempdir().unwrap();
    let root = busybox_root(scratch.path());
    let site = scratch.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("index.html"), "Hello from a system container\n").unwrap();
    let port = free_port();
    let spec = web_container(scratch.path(), service, &root, &site, port);

    let agent = Agent::start(choice).await;
    let nspawn = agent.delegate(DelegateKind::Nspawn);
    let created = protocol::create(&nspawn, spec.clone()).await.unwrap();
    let started = protocol::start(&nspawn, spec.clone(), created)
        .await
        .unwrap();
    let machine = khutulun::delegates::nspawn::machine_name("default", service, "worker-0");
    assert_eq!(started["machine"], machine.as_str(), "{started:?}");
    assert_eq!(started["supervisor"], "systemd", "{started:?}");
    let unit = khutulun::delegates::systemd::unit_name("default", service, "worker-0");
    assert_eq!(started["unit"], unit.as_str(), "{started:?}");
    let first = pid_of(&started);

    let page = page_with(port, "Hello from a system container").await;
    assert!(page.is_some(), "the container serves on its reserved port");
    let log = spec.state_dir.join("output.log");
    let output = log_with(&log, "serving on", 1).await;
    assert!(
        output.contains(&format!("serving on 127.0.0.1:{port} as {machine}")),
        "its requirements and machine name reach it: {output}"
    );
    assert!(output.contains("site read-only"), "{output}");
    assert!(!site.join("x").exists(), "the site is bound read-only");
    assert!(
        !root.join("written-inside").exists(),
        "an ephemeral container leaves its image as it was"
    );

    // Killed: started again, per its policy.
    kill(Pid::from_raw(first), Signal::SIGKILL).unwrap();
    let restarted = eventually_running(&nspawn, &spec, &started, first).await;
    assert!(
        page_with(port, "Hello from a system container")
            .await
            .is_some()
    );
    let output = log_with(&log, "serving on", 2).await;
    assert_eq!(output.matches("serving on").count(), 2, "{output}");
    assert!(
        !output.contains("Address already in use"),
        "nothing of the first run was left holding the port: {output}"
    );

    // The agent goes away: the container stays; a new agent adopts it.
    agent.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = pid_of(&restarted.attributes);
    assert!(
        is_alive(second),
        "the container outlived its agent: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let agent = Agent::start(choice).await;
    let nspawn = agent.delegate(DelegateKind::Nspawn);
    let adopted = protocol::adopt(&nspawn, spec.clone(), restarted.attributes.clone())
        .await
        .unwrap();
    assert_eq!(adopted.health, InstanceHealth::Running);
    assert_eq!(pid_of(&adopted.attributes), second);
    assert_eq!(adopted.attributes["machine"], machine.as_str());

    protocol::delete(&nspawn, spec.clone(), adopted.attributes.clone())
        .await
        .unwrap();
    assert!(!is_alive(second), "deleted means no container");
    let shown = std::process::Command::new("systemctl")
        .args(["--user", "is-active", &unit])
        .output()
        .unwrap();
    assert_ne!(
        String::from_utf8_lossy(&shown.stdout).trim(),
        "active",
        "deleted means no unit"
    );
    assert!(support::http_get(port).is_none(), "nothing serves any more");
    assert!(!spec.state_dir.exists(), "deleted means no state left");
    assert!(
        site.join("index.html").exists(),
        "the site is not the container's"
    );
    agent.stop();
}

/// Status until the container runs with another main process than `before`.
async fn eventually_running(
    nspawn: &protocol::DelegateRef,
    spec: &InstanceSpec,
    attributes: &protocol::Attributes,
    before: i32,
) -> protocol::Observation {
    for _ in 0..300 {
        let seen = protocol::status(nspawn, spec.clone(), attributes.clone())
            .await
            .unwrap();
        if seen.health == InstanceHealth::Running
            && seen
                .attributes
                .get("pid")
                .is_some_and(|pid| pid.as_i64() != Some(i64::from(before)))
        {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the container was never started again after its kill");
}

/// Whether a systemd user manager answers (says so loudly when not).
async fn user_manager_available() -> bool {
    let probe = Agent::start(SupervisorChoice::Auto).await;
    let answer = call!(
        probe.delegates.systemd().expect("the real delegates"),
        |reply| SystemdMsg::Available { reply }
    )
    .unwrap();
    probe.stop();
    available(
        answer.map(|_| ()).map_err(|e| e.to_string()),
        "KHUTULUN_REQUIRE_SYSTEMD",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_container_runs_as_a_user_unit() {
    if !nspawn_available() || !user_manager_available().await {
        return;
    }
    serve_restart_adopt_delete(
        SupervisorChoice::Auto,
        &format!("nspawn-unit-{}", std::process::id()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_container_is_a_unit_even_where_the_agent_supervises_processes() {
    if !nspawn_available() || !user_manager_available().await {
        return;
    }
    serve_restart_adopt_delete(
        SupervisorChoice::Agent,
        &format!("nspawn-agent-{}", std::process::id()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_is_no_root_filesystem_is_refused_and_nothing_starts() {
    if !nspawn_available() {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let not_a_root = scratch.path().join("empty");
    std::fs::create_dir_all(&not_a_root).unwrap();
    let spec = instance_spec(
        scratch.path(),
        "nspawn-bad",
        SYSTEM_CONTAINER,
        json!({"image": {"directory": not_a_root}, "command": ["sh"]}),
        Vec::new(),
    );
    let agent = Agent::start(SupervisorChoice::Auto).await;
    let error = protocol::create(&agent.delegate(DelegateKind::Nspawn), spec.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("nspawn-bad/worker-0"), "{error}");
    assert!(error.contains("/etc/os-release"), "{error}");
    assert!(!spec.state_dir.exists(), "nothing was made for it");
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_archive_artifact_is_unpacked_for_the_container_and_removed_with_it() {
    if !nspawn_available() || !user_manager_available().await {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let root = busybox_root(scratch.path());
    let archive = scratch.path().join("busybox.tar.gz");
    let packed = std::process::Command::new("tar")
        .arg("--create")
        .arg("--gzip")
        .arg("--file")
        .arg(&archive)
        .arg("--directory")
        .arg(&root)
        .arg(".")
        .status()
        .unwrap();
    assert!(packed.success());
    let mut spec = instance_spec(
        scratch.path(),
        &format!("nspawn-archive-{}", std::process::id()),
        SYSTEM_CONTAINER,
        json!({
            "image": {"artifact": "rootfs"},
            "command": ["sh", "-c", "echo running from the archive; exec sleep 600"],
        }),
        Vec::new(),
    );
    spec.artifacts.insert(
        "rootfs".into(),
        protocol::Artifact {
            types: vec![
                protocol::TypeRef::khutulun("SystemImage"),
                protocol::TypeRef::khutulun("Root"),
            ],
            file: "busybox.tar.gz".into(),
            location: protocol::ArtifactLocation::File {
                path: archive.display().to_string(),
            },
        },
    );

    let agent = Agent::start(SupervisorChoice::Auto).await;
    let nspawn = agent.delegate(DelegateKind::Nspawn);
    let created = protocol::create(&nspawn, spec.clone()).await.unwrap();
    assert!(
        spec.state_dir.join("root/bin/busybox").is_file(),
        "the archive is unpacked in the instance's directory"
    );
    let started = protocol::start(&nspawn, spec.clone(), created)
        .await
        .unwrap();
    let output = log_with(
        &spec.state_dir.join("output.log"),
        "running from the archive",
        1,
    )
    .await;
    assert!(output.contains("running from the archive"), "{output}");
    protocol::delete(&nspawn, spec.clone(), started)
        .await
        .unwrap();
    assert!(
        !spec.state_dir.exists(),
        "the unpacked root is gone with the container"
    );
    agent.stop();
}
