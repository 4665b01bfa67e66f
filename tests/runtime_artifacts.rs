//! Artifact checksums through the `khutulun` command: a process whose program is an artifact
//! with a `checksum` runs only when its file has that checksum. A wrong one fails the deploy
//! at once, naming the instance, the artifact and both checksums, and runs nothing; the right
//! one (computed by `sha256sum`, not by Khutulun) deploys. An artifact at a URL is downloaded
//! once; copies a node asks for (`$get_artifact` with a location) are in place when it runs.

#[path = "support/cluster.rs"]
mod support;
#[path = "support/web_server.rs"]
mod web_server;

use std::path::Path;
use std::process::Command;

use support::*;
use web_server::WebServer;

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

/// A service whose `Software` node is installed by `url`, an artifact of the node, with
/// `checksum`; the script writes `installed` to `marker`.
fn installed_from(dir: &Path, name: &str, url: &str, checksum: &str, marker: &Path) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    app:
      type: Software
      artifacts:
        install:
          type: Executable
          file: {url}
          checksum: \"{checksum}\"
          checksum_algorithm: SHA-256
      interfaces:
        Lifecycle:
          operations:
            create:
              implementation: install
              inputs:
                marker: {}
",
            marker.display()
        ),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

/// An artifact at a URL is downloaded into the store's cache once, verified, and run from
/// there: a second service installs from the cache with the server gone. A URL that answers
/// 404 fails the deploy, naming the artifact and the status.
#[test]
fn an_artifact_at_a_url_is_downloaded_once_into_the_store() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    let dir = cluster.dir().to_owned();
    let www = dir.join("www");
    std::fs::create_dir(&www).unwrap();
    let script = www.join("install.sh");
    std::fs::write(&script, "echo installed > \"$marker\"\n").unwrap();
    let checksum = sha256sum(&script);
    let server = WebServer::serve(&www);
    let url = format!("{}/install.sh", server.origin);
    cluster.start_agent();

    let missing = format!("{}/missing.sh", server.origin);
    let marker = dir.join("never");
    cluster.deployed = Some("broken".into());
    let refused = cluster.run(&[
        "service",
        "deploy",
        &installed_from(&dir, "broken.yaml", &missing, &checksum, &marker),
        "--name",
        "broken",
    ]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "deployed: {said}");
    assert!(
        said.contains(&format!(
            "default/broken/app-0: artifact install: cannot fetch {missing}: the server answered HTTP 404"
        )),
        "{said}"
    );
    cluster.ok(&["service", "delete", "broken"]);

    let mut server = Some(server);
    for service in ["first", "second"] {
        if service == "second" {
            // The cache serves it now: the server is gone.
            drop(server.take());
            assert!(http_get(&url).is_none(), "{url} still answers");
        }
        let marker = dir.join(format!("{service}.marker"));
        cluster.deployed = Some(service.into());
        cluster.ok(&[
            "service",
            "deploy",
            &installed_from(&dir, &format!("{service}.yaml"), &url, &checksum, &marker),
            "--name",
            service,
        ]);
        assert_eq!(
            std::fs::read_to_string(&marker).unwrap_or_default(),
            "installed\n",
            "{service}"
        );
        cluster.ok(&["service", "delete", service]);
        cluster.deployed = None;
    }
    let cached: Vec<String> = std::fs::read_dir(cluster.state().join("cache/artifacts"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached[0].ends_with("-install.sh"), "{cached:?}");
}

/// A process that asks for copies of its artifact (`$get_artifact` with a location) runs with
/// them in place; after delete the copy asked to be removed is gone and the other stays.
#[test]
fn a_process_gets_the_copies_of_its_artifact_it_asks_for() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(Supervisor::Agent);
    let dir = cluster.dir().to_owned();
    std::fs::write(dir.join("greeting.txt"), "hello from an artifact\n").unwrap();
    let kept = dir.join("copies/kept/greeting.txt");
    let removed = dir.join("copies/removed/greeting.txt");
    let path = dir.join("copies.yaml");
    std::fs::write(
        &path,
        format!(
            "tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    reader:
      type: Process
      properties:
        command: /bin/sh
        arguments:
          - -c
          - 'cat \"$1\" \"$2\"; exec sleep 600'
          - sh
          - {{ $get_artifact: [ SELF, greeting, {kept}, false ] }}
          - {{ $get_artifact: [ SELF, greeting, {removed}, true ] }}
      artifacts:
        greeting:
          type: Root
          file: greeting.txt
",
            kept = kept.display(),
            removed = removed.display()
        ),
    )
    .unwrap();
    cluster.start_agent();
    cluster.deployed = Some("copies".into());
    cluster.ok(&[
        "service",
        "deploy",
        path.to_str().unwrap(),
        "--name",
        "copies",
    ]);
    for copy in [&kept, &removed] {
        let content = std::fs::read_to_string(copy).unwrap_or_default();
        assert_eq!(content, "hello from an artifact\n", "{}", copy.display());
    }
    wait_for("the copies to be read", || {
        let logs = cluster.ok(&["service", "logs", "copies", "reader-0"]);
        logs.matches("hello from an artifact").count() == 2
    });
    cluster.ok(&["service", "delete", "copies"]);
    cluster.deployed = None;
    assert!(kept.exists(), "the copy to keep is gone");
    assert!(!removed.exists(), "the copy to remove is left");
}
