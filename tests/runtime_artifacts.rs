//! Artifact checksums through the `khutulun` command: a process whose program is an artifact
//! with a `checksum` runs only when its file has that checksum. A wrong one fails the deploy
//! at once, naming the instance, the artifact and both checksums, and runs nothing; the right
//! one (computed by `sha256sum`, not by Khutulun) deploys.

#[path = "support/cluster.rs"]
mod support;

use std::path::Path;
use std::process::Command;

use support::*;

/// A service of one process running `program.sh` (an Executable artifact vouched for by
/// `checksum`), which writes `started` beside it and sleeps.
fn template(dir: &Path, name: &str, checksum: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    worker:
      type: Process
      properties:
        command: /bin/sh
        arguments: [ {{ $get_artifact: [ SELF, program ] }} ]
      artifacts:
        program:
          type: Executable
          file: program.sh
          checksum: \"{checksum}\"
          checksum_algorithm: SHA-256
"
        ),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

fn sha256sum(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .expect("a checksum")
        .to_owned()
}

#[test]
fn a_process_runs_only_from_the_file_its_checksum_vouches_for() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    let dir = cluster.dir().to_owned();
    let started = dir.join("started");
    let program = dir.join("program.sh");
    std::fs::write(
        &program,
        format!("echo started > '{}'\nexec sleep 600\n", started.display()),
    )
    .unwrap();
    let right = sha256sum(&program);
    let wrong = "0".repeat(64);
    cluster.start_agent();

    cluster.deployed = Some("tampered".into());
    let refused = cluster.run(&[
        "service",
        "deploy",
        &template(&dir, "tampered.yaml", &wrong),
        "--name",
        "tampered",
    ]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "deployed: {said}");
    let expected = format!(
        "default/tampered/worker-0: artifact program: its file {} has the SHA-256 checksum {right}, not {wrong}",
        program.display()
    );
    assert!(said.contains(&expected), "{said}");
    assert!(!started.exists(), "the program ran");
    cluster.ok(&["service", "delete", "tampered"]);

    cluster.deployed = Some("vouched".into());
    cluster.ok(&[
        "service",
        "deploy",
        &template(&dir, "vouched.yaml", &right.to_uppercase()),
        "--name",
        "vouched",
    ]);
    let status = cluster.status("vouched");
    assert!(all_running(&status), "{status:#}");
    wait_for("the program to start", || started.exists());
    let pid = pid_of(&status, "worker");
    cluster.ok(&["service", "delete", "vouched"]);
    cluster.deployed = None;
    assert!(!process_exists(pid), "{pid} is still running");
}
