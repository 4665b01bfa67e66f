//! The directory delegate mounting a networked directory for the instances that attach it,
//! driven through its actor as the runtime drives it, against a real sshd on 127.0.0.1: two
//! instances attaching at once share one mount, the first to go leaves it, the last unmounts
//! it and removes the mount point, and attaching again after the mount was lost (unmounted
//! behind the agent's back, or its sshfs killed) mounts it again, once. A mount that does not
//! finish within its deadline is given up and leaves nothing behind.
//!
//! Needs root, sshfs and openssh-server: skips loudly without them unless
//! KHUTULUN_REQUIRE_SSHFS=1 (scripts/test sets it).

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/parent.rs"]
mod parent;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use khutulun::delegates::directory::DirectoryMsg;
use khutulun::delegates::ipport::MemoryPortLedger;
use khutulun::delegates::protocol::{InstanceSpec, TypeRef};
use khutulun::delegates::{Delegates, DelegatesConfig};
use ractor::ActorRef;
use ractor::rpc::CallResult;
use sshd::{Sshd, sshfs_mounts_of, sshfs_pids_of, sshfs_processes_of, sshfs_usable};

fn share(state: &Path, server: &Sshd) -> InstanceSpec {
    let properties = serde_json::json!({
        "source": server.source(),
        "identity_file": server.client_key(),
        "options": server.options(),
    });
    InstanceSpec {
        namespace: "default".into(),
        service: "shared".into(),
        instance: "share-0".into(),
        node: "share".into(),
        types: ["NetworkDirectory", "Directory", "Root"]
            .iter()
            .map(|t| TypeRef::khutulun(t))
            .collect(),
        properties: properties.as_object().unwrap().clone(),
        requirements: Vec::new(),
        state_dir: state.join("share-0"),
        artifacts: Default::default(),
    }
}

const PATIENCE: Option<Duration> = Some(Duration::from_secs(60));

async fn attach(delegates: &Delegates, directory: &InstanceSpec, holder: &str) -> PathBuf {
    try_attach(delegates, directory, holder).await.unwrap()
}

async fn try_attach(
    delegates: &Delegates,
    directory: &InstanceSpec,
    holder: &str,
) -> Result<PathBuf, String> {
    let asked = delegates.directory().unwrap().call(
        |reply| DirectoryMsg::Attach {
            directory: Box::new(directory.clone()),
            holder: holder.into(),
            reply,
        },
        PATIENCE,
    );
    match asked.await {
        Ok(CallResult::Success(result)) => result.map_err(|e| e.to_string()),
        _ => panic!("the directory delegate did not answer"),
    }
}

async fn detach(delegates: &Delegates, directory: &InstanceSpec, holder: &str) {
    let asked = delegates.directory().unwrap().call(
        |reply| DirectoryMsg::Detach {
            directory: Box::new(directory.clone()),
            holder: holder.into(),
            reply,
        },
        PATIENCE,
    );
    match asked.await {
        Ok(CallResult::Success(result)) => result.unwrap(),
        _ => panic!("the directory delegate did not answer"),
    }
}

async fn spawn(mount_deadline: Duration) -> (Delegates, ActorRef<parent::Nothing>) {
    let mut config = DelegatesConfig::new("alpha", Arc::new(MemoryPortLedger::default()));
    config.mount_deadline = mount_deadline;
    let (delegates, supervisor) = parent::spawn_delegates(config).await;
    (delegates, supervisor)
}

#[tokio::test]
async fn instances_of_one_host_share_one_mount_until_the_last_goes() {
    if !sshfs_usable("instances_of_one_host_share_one_mount_until_the_last_goes") {
        return;
    }
    let server = Sshd::start();
    let state = tempfile::tempdir().unwrap();
    let (delegates, supervisor) = spawn(khutulun::delegates::directory::MOUNT_DEADLINE).await;
    let directory = share(state.path(), &server);
    let remote = server.remote();

    // Two instances at once: one mount.
    let (first, second) = tokio::join!(
        attach(&delegates, &directory, "default/shared/a-0"),
        attach(&delegates, &directory, "default/shared/b-0"),
    );
    assert_eq!(first, second);
    assert_eq!(first, directory.state_dir.join("mount"));
    assert_eq!(sshfs_mounts_of(&remote).len(), 1);
    std::fs::write(first.join("note"), "through the mount").unwrap();
    assert_eq!(
        std::fs::read_to_string(server.served().join("note")).unwrap(),
        "through the mount"
    );
    // Attaching again (an adoption) changes nothing.
    attach(&delegates, &directory, "default/shared/a-0").await;
    assert_eq!(sshfs_mounts_of(&remote).len(), 1);

    // The first to go leaves the mount to the other; the last unmounts it.
    detach(&delegates, &directory, "default/shared/a-0").await;
    assert_eq!(sshfs_mounts_of(&remote).len(), 1);
    assert!(first.join("note").is_file());
    detach(&delegates, &directory, "default/shared/b-0").await;
    assert!(sshfs_mounts_of(&remote).is_empty());
    assert!(!first.exists(), "the mount point Khutulun made is left");
    assert!(
        !directory.state_dir.exists(),
        "the directory's record is left"
    );
    assert!(
        server.served().join("note").is_file(),
        "the server lost a file"
    );
    detach(&delegates, &directory, "default/shared/b-0").await;

    // A mount lost behind the agent's back (its sshfs unmounted) is made again.
    let mount_point = attach(&delegates, &directory, "default/shared/a-0").await;
    let unmounted = std::process::Command::new("fusermount")
        .arg("-u")
        .arg(&mount_point)
        .status()
        .unwrap();
    assert!(unmounted.success());
    assert!(sshfs_mounts_of(&remote).is_empty());
    attach(&delegates, &directory, "default/shared/a-0").await;
    assert_eq!(sshfs_mounts_of(&remote).len(), 1);

    // A mount whose sshfs was killed stays in the table but no longer answers: it is
    // replaced, not stacked on.
    for (pid, _) in sshfs_pids_of(&remote) {
        let pid = nix::unistd::Pid::from_raw(pid);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    }
    while !sshfs_pids_of(&remote).is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        sshfs_mounts_of(&remote).len(),
        1,
        "a dead mount stays listed"
    );
    assert!(
        std::fs::metadata(&mount_point).is_err(),
        "a dead mount answers"
    );
    attach(&delegates, &directory, "default/shared/a-0").await;
    assert_eq!(sshfs_mounts_of(&remote).len(), 1);
    assert!(mount_point.join("note").is_file());
    detach(&delegates, &directory, "default/shared/a-0").await;
    assert!(sshfs_mounts_of(&remote).is_empty());
    supervisor.stop(None);
}

#[tokio::test]
async fn a_mount_that_hangs_is_given_up_at_its_deadline_and_leaves_nothing() {
    if !sshfs_usable("a_mount_that_hangs_is_given_up_at_its_deadline_and_leaves_nothing") {
        return;
    }
    // A server that accepts connections and never says a word: ssh waits for its greeting.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let (connection, _) = silent.accept().unwrap();
        std::thread::sleep(Duration::from_secs(4));
        drop(connection);
    });
    let server = Sshd::start();
    let state = tempfile::tempdir().unwrap();
    let (delegates, supervisor) = spawn(Duration::from_secs(2)).await;
    let mut directory = share(state.path(), &server);
    let source = format!("sshfs://root@127.0.0.1:{port}/srv");
    directory.properties["source"] = source.into();

    let began = std::time::Instant::now();
    let error = try_attach(&delegates, &directory, "default/shared/a-0")
        .await
        .unwrap_err();
    assert!(
        began.elapsed() < Duration::from_secs(8),
        "{:?}",
        began.elapsed()
    );
    assert!(error.contains("did not finish within 2 s"), "{error}");
    assert!(sshfs_mounts_of("root@127.0.0.1:/srv").is_empty());
    assert!(sshfs_processes_of("root@127.0.0.1:/srv").is_empty());
    assert!(
        !directory.state_dir.join("mount").exists() && !directory.state_dir.exists(),
        "the given-up mount left {}",
        directory.state_dir.display()
    );
    supervisor.stop(None);
    held.join().unwrap();
}
