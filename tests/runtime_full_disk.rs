//! `service delete` on a full disk: deleting frees space and must never need it. The store
//! lives on a 1 MiB tmpfs filled to the last byte; the delete goes through (on the room the
//! store keeps for it), the process is stopped, the records are gone, and once space returns
//! the store keeps that room again. Through the `khutulun` command on a real agent; needs root
//! to mount the tmpfs.

#[path = "support/cluster.rs"]
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

/// A tmpfs mounted at a directory, unmounted (lazily: the agent may still hold its lock file)
/// when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it) at `at`; `None` when this
    /// machine does not let this test mount one.
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let options = format!("size={size},mode=0700");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|status| status.success());
        mounted.then(|| Tmpfs(at.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros to `path` until the disk refuses more.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 16 * 1024];
    while file.write_all(&block).is_ok() {}
    // The last bytes, one at a time.
    while file.write_all(&[0]).is_ok() {}
    let _ = file.sync_all();
}

/// A cluster whose store is on a tmpfs; the cluster goes first (its drop deletes what the
/// test left deployed, through the store), then the tmpfs.
struct OnTmpfs {
    cluster: Cluster,
    _tmpfs: Tmpfs,
}

#[test]
fn a_delete_on_a_full_disk_goes_through_and_the_room_for_it_comes_back() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::new(Supervisor::Agent);
    let Some(tmpfs) = Tmpfs::mount(&cluster.state(), "1m") else {
        let required = std::env::var("KHUTULUN_REQUIRE_NETNS").as_deref() == Ok("1");
        assert!(
            !required,
            "as root (KHUTULUN_REQUIRE_NETNS=1) a tmpfs must mount"
        );
        let _ = writeln!(
            std::io::stderr(),
            "\n!!! SKIPPED: this test mounts a tmpfs, which needs root !!!\n"
        );
        return;
    };
    let mut on = OnTmpfs {
        cluster,
        _tmpfs: tmpfs,
    };
    let cluster = &mut on.cluster;
    cluster.start_agent();
    let reserve = cluster.state().join("locks/reserve");
    assert!(reserve.exists(), "the store keeps room for deletes");
    let template = cluster.dir().join("napper.yaml");
    std::fs::write(&template, NAPPER).unwrap();
    let template = template.to_str().unwrap();
    cluster.deployed = Some("nap".into());
    cluster.ok(&["service", "deploy", template, "--name", "nap"]);
    let pid = pid_of(&cluster.status("nap"), "napper");

    let filler = cluster.state().join("filler");
    fill(&filler);
    cluster.ok(&["service", "delete", "nap"]);
    cluster.deployed = None;
    wait_for("the process to stop", || !process_exists(pid));
    let listed = cluster.ok(&["service", "list", "--format", "json"]);
    assert_eq!(listed.trim(), "[]", "the records are gone");
    assert!(
        cluster
            .agent_log()
            .contains("using the room kept for deletes"),
        "the delete needed the room kept for it:\n{}",
        cluster.agent_log()
    );

    // Space comes back: the next write keeps the room again, and deploys work.
    std::fs::remove_file(&filler).unwrap();
    cluster.deployed = Some("nap".into());
    cluster.ok(&["service", "deploy", template, "--name", "nap"]);
    assert!(reserve.exists(), "the room is kept again");
}
