//! End to end through the `khutulun` command: examples/hello-network-directory.yaml mounted
//! with sshfs from a real sshd of the test's own on 127.0.0.1. Both processes share one mount;
//! a file one writes is read by the other and lands in the server's directory; `kill -9` of
//! the agent leaves the mount, and the restarted agent adopts it (one mount, not two); delete
//! leaves no mount, no sshfs process and no mount point. A mount that fails says why and
//! leaves nothing behind.
//!
//! Needs root, sshfs and openssh-server; skips with a message without them unless
//! KHUTULUN_REQUIRE_SSHFS=1 (scripts/test installs both and sets it).

#[path = "support/cluster.rs"]
mod support;

#[path = "support/sshd.rs"]
mod sshd;

use std::path::Path;

use sshd::{Sshd, sshfs_mounts_of, sshfs_processes_of, sshfs_usable};
use support::*;

/// The processes run as user units where a user manager answers (as a user would have it),
/// else under the agent.
fn supervisor() -> Supervisor {
    if user_manager_answers() {
        Supervisor::Systemd
    } else {
        Supervisor::Agent
    }
}

fn deploy_args(server: &Sshd, service: &str, source: &str, greeting: &str) -> Vec<String> {
    vec![
        "service".into(),
        "deploy".into(),
        example("hello-network-directory.yaml"),
        "--name".into(),
        service.into(),
        "--input".into(),
        format!("source={source}"),
        "--input".into(),
        format!("identity_file={}", server.client_key().display()),
        "--input".into(),
        format!("options=[{}]", server.options().join(", ")),
        "--input".into(),
        format!("greeting={greeting}"),
    ]
}

fn environment_of(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', "\n"))
        .unwrap_or_default()
}

#[test]
fn two_processes_share_one_sshfs_mount_that_outlives_the_agent() {
    if !sshfs_usable("two_processes_share_one_sshfs_mount_that_outlives_the_agent") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Sshd::start();
    let mut cluster = Cluster::new(supervisor());
    cluster.start_agent();
    let service = format!("netdir-{}", std::process::id());
    let greeting = format!("Hello from {service}!");
    cluster.deployed = Some(service.clone());
    let args = deploy_args(&server, &service, &server.source(), &greeting);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cluster.json(&args);

    // The writer's file reaches the server, and the reader saw it through its own mount.
    let served = server.served();
    wait_for("the writer's greeting on the server", || {
        std::fs::read_to_string(served.join("greeting.txt")).is_ok_and(|t| t.contains(&greeting))
    });
    let seen = format!("the reader saw: {greeting}");
    wait_for("the reader's copy on the server", || {
        std::fs::read_to_string(served.join("seen.txt")).is_ok_and(|t| t.contains(&seen))
    });
    let status = cluster.status(&service);
    assert!(all_running(&status), "{status:#}");
    let mount_point = attribute(&status, "share", "path")
        .as_str()
        .expect("the share has a path")
        .to_owned();
    for node in ["writer", "reader"] {
        let environment = environment_of(pid_of(&status, node));
        assert!(
            environment.contains(&format!("SHARE_PATH={mount_point}\n")),
            "{node} was not given the mount point {mount_point}:\n{environment}"
        );
        cluster
            .units
            .extend(attribute(&status, node, "unit").as_str().map(str::to_owned));
    }
    let remote = server.remote();
    assert_eq!(
        sshfs_mounts_of(&remote).len(),
        1,
        "both processes share one mount"
    );
    assert!(Path::new(&mount_point).join("greeting.txt").is_file());

    // A crashed agent leaves the mount; the restarted one adopts it instead of mounting again.
    cluster.kill_agent();
    assert_eq!(
        sshfs_mounts_of(&remote).len(),
        1,
        "the mount outlives the agent"
    );
    cluster.start_agent();
    wait_for("the service to run again", || {
        all_running(&cluster.status(&service))
    });
    let mounts = sshfs_mounts_of(&remote);
    assert_eq!(mounts.len(), 1, "adopted, not mounted twice: {mounts:#?}");
    assert_eq!(sshfs_processes_of(&remote).len(), 1);

    // Delete: no mount, no sshfs, no mount point; the server keeps its files.
    cluster.ok(&["service", "delete", &service]);
    cluster.deployed = None;
    wait_for("the mount to go", || sshfs_mounts_of(&remote).is_empty());
    wait_for("sshfs to end", || sshfs_processes_of(&remote).is_empty());
    assert!(!Path::new(&mount_point).exists(), "{mount_point} is left");
    assert!(served.join("greeting.txt").is_file());
}

#[test]
fn a_mount_that_fails_says_why_and_leaves_nothing() {
    if !sshfs_usable("a_mount_that_fails_says_why_and_leaves_nothing") {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Sshd::start();
    let mut cluster = Cluster::new(supervisor());
    cluster.start_agent();
    let service = format!("netdir-bad-{}", std::process::id());
    let missing = server.served().join("not-there");
    let source = format!(
        "sshfs://root@{}:{}{}",
        server.address.ip(),
        server.address.port(),
        missing.display()
    );
    cluster.deployed = Some(service.clone());
    let args = deploy_args(&server, &service, &source, "unused");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = cluster.run(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the deploy succeeded");
    assert!(
        stderr.contains("could not mount") && stderr.contains("No such file or directory"),
        "the error does not say why:\n{stderr}\nagent log:\n{}",
        cluster.agent_log()
    );
    let remote = format!("root@{}:{}", server.address.ip(), missing.display());
    assert!(sshfs_mounts_of(&remote).is_empty());
    assert!(sshfs_processes_of(&remote).is_empty());
    let share = cluster
        .runtime()
        .join("instances/default")
        .join(&service)
        .join("share-0");
    assert!(
        !share.join("mount").exists() && !share.join("mount.yaml").exists(),
        "a failed mount left its mount point or record in {}",
        share.display()
    );
}

#[test]
fn an_nfs_mount_on_a_kernel_without_nfs_says_so() {
    let kernel_has_nfs = std::fs::read_to_string("/proc/filesystems")
        .is_ok_and(|text| text.lines().any(|line| line.trim_end().ends_with("nfs")));
    if kernel_has_nfs || !nix::unistd::Uid::effective().is_root() {
        eprintln!("SKIPPED: this kernel has an NFS client, or this is not root");
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(supervisor());
    cluster.start_agent();
    let service = format!("netdir-nfs-{}", std::process::id());
    cluster.deployed = Some(service.clone());
    let output = cluster.run(&[
        "service",
        "deploy",
        &example("hello-network-directory.yaml"),
        "--name",
        &service,
        "--input",
        "source=nfs://127.0.0.1/export",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the deploy succeeded");
    assert!(
        stderr.contains("could not mount nfs://127.0.0.1/export")
            && stderr.contains("kernel has no NFS client"),
        "the error does not say why:\n{stderr}"
    );
    let share = cluster
        .runtime()
        .join("instances/default")
        .join(&service)
        .join("share-0");
    assert!(!share.join("mount").exists(), "{} is left", share.display());
}
