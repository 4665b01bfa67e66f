//! A full disk under the store, through the `khutulun` command on a real agent (the store
//! lives on a 1 MiB tmpfs filled to the last byte; needs root to mount it):
//! - `service delete` frees space and never needs it: it goes through on the room the store
//!   keeps for it, releasing its port and directory too, and the room comes back with space;
//! - a deploy that meets the full disk mid-way waits for room and resumes once space returns.

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

/// A cluster with its store on a 1 MiB tmpfs, its agent not started yet; `None` (after saying
/// so) where this machine does not let the test mount one.
fn on_tmpfs() -> Option<OnTmpfs> {
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
        return None;
    };
    Some(OnTmpfs {
        cluster,
        _tmpfs: tmpfs,
    })
}

/// Writes `text` as `<name>.yaml` in the cluster's directory and deploys it as service `name`
/// (waiting for it to run); the template's path.
fn deploy(cluster: &mut Cluster, name: &str, text: &str) -> String {
    let template = cluster.dir().join(format!("{name}.yaml"));
    std::fs::write(&template, text).unwrap();
    let template = template.to_str().unwrap().to_owned();
    cluster.deployed = Some(name.into());
    cluster.ok(&["service", "deploy", &template, "--name", name]);
    template
}

#[test]
fn a_delete_on_a_full_disk_goes_through_and_the_room_for_it_comes_back() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut on) = on_tmpfs() else {
        return;
    };
    let cluster = &mut on.cluster;
    cluster.start_agent();
    let reserve = cluster.state().join("locks/reserve");
    assert!(reserve.exists(), "the store keeps room for deletes");
    let template = deploy(cluster, "nap", NAPPER);
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
    cluster.ok(&["service", "deploy", &template, "--name", "nap"]);
    assert!(reserve.exists(), "the room is kept again");
}

/// A process with a reserved port and a directory of its own: their releases are writes to
/// the host's port and claim tables, which must go through on a full disk too.
const HOLDER: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    scratch:
      type: LocalDirectory
      properties:
        temporary: true
    port:
      type: TCPPort
      properties:
        address: 127.0.0.1
    holder:
      type: Process
      properties:
        command: sleep
        arguments: [ '600' ]
      requirements:
        - storage: scratch
        - connection: port
";

#[test]
fn a_delete_on_a_full_disk_releases_its_port_and_its_directory() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut on) = on_tmpfs() else {
        return;
    };
    let cluster = &mut on.cluster;
    cluster.start_agent();
    deploy(cluster, "held", HOLDER);
    let status = cluster.status("held");
    let pid = pid_of(&status, "holder");
    let directory = attribute(&status, "scratch", "path")
        .as_str()
        .expect("the directory has a path")
        .to_owned();
    let port = attribute(&status, "port", "port").to_string();
    // The host's tables (the test agent is host `e2e`).
    let ports = cluster.state().join("ports/e2e.yaml");
    let claims = cluster.state().join("directories/e2e.yaml");
    let held = |table: &Path, what: &str| {
        std::fs::read_to_string(table).is_ok_and(|text| text.contains(what))
    };
    assert!(
        held(&ports, &port),
        "the port {port} is in {}",
        ports.display()
    );
    assert!(held(&claims, &directory), "{directory} is claimed");

    fill(&cluster.state().join("filler"));
    // Bounded: without the room kept for it, a release on a full disk is tried again and
    // again, and the delete would wait out its default five minutes.
    cluster.ok(&["service", "delete", "held", "--timeout", "60"]);
    cluster.deployed = None;
    wait_for("the process to stop", || !process_exists(pid));
    assert!(!held(&ports, &port), "the port {port} is released");
    assert!(!held(&claims, &directory), "{directory} is released");
    assert!(
        !Path::new(&directory).exists(),
        "the temporary directory is removed"
    );
    let listed = cluster.ok(&["service", "list", "--format", "json"]);
    assert_eq!(listed.trim(), "[]", "the records are gone");
}

#[test]
fn a_deploy_that_meets_a_full_disk_waits_for_room_and_resumes() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut on) = on_tmpfs() else {
        return;
    };
    let cluster = &mut on.cluster;
    cluster.start_agent();
    // The instance's step ends (and writes its record) once the gate opens.
    let template =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime/full-disk/gated.yaml");
    let gate = cluster.dir().join("gate");
    let gate_input = format!("gate={}", gate.display());
    cluster.deployed = Some("gated".into());
    cluster.ok(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        "gated",
        "--input",
        &gate_input,
        "--no-wait",
    ]);
    let filler = cluster.state().join("filler");
    fill(&filler);
    std::fs::write(&gate, "").unwrap();

    wait_for("the instance's record to wait for room", || {
        cluster.agent_log().contains("waits for room")
    });
    let status = cluster.status("gated");
    assert_ne!(status["phase"], "failed", "{status:#}");
    assert_ne!(status["instances"][0]["state"], "failed", "{status:#}");

    std::fs::remove_file(&filler).unwrap();
    wait_for("the deploy to resume and end", || {
        let status = cluster.status("gated");
        status["phase"] == "active" && status["instances"][0]["state"] == "running"
    });
}
