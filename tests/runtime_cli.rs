//! The agent and the CLI as a person uses them: real agent processes on a temporary store,
//! driven through the built `khutulun` binary. Covers the control channel's authentication,
//! clear errors that change nothing, corrupt and future-version store files, one agent per
//! runtime directory, and concurrent deploys from several CLI calls and two agents on one store.
//!
//! The services here are made of ports and directories only, so they need no process
//! supervisor; the end-to-end test of processes is tests/e2e_hello_world.rs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use khutulun::control::protocol::{FailureKind, Request};
use khutulun::control::{Client, ClientError, RuntimePaths};
use serde_json::Value as Json;

/// How long an agent may take to answer after it starts (not a performance bound).
const PATIENCE: Duration = Duration::from_secs(60);

const RESOURCES: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    data:
      type: LocalDirectory
      properties:
        temporary: true
    port:
      type: TCPPort
      properties:
        address: 127.0.0.1
  outputs:
    port:
      value: { $get_attribute: [ port, port ] }
";

const BROKEN: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    data:
      type: NoSuchType
";

fn khutulun(runtime: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_khutulun"))
        .args(args)
        .env("KHUTULUN_RUNTIME", runtime)
        .stdin(Stdio::null())
        .output()
        .expect("khutulun runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One agent process on a store, with its own runtime directory.
struct Agent {
    child: Child,
    runtime: PathBuf,
}

impl Agent {
    fn start(state: &Path, runtime: &Path, name: &str) -> Agent {
        let child = Command::new(env!("CARGO_BIN_EXE_khutulun"))
            .args(["agent", "--name", name])
            .arg("--state")
            .arg(state)
            .arg("--runtime")
            .arg(runtime)
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/khutulun-test",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the agent starts");
        let agent = Agent {
            child,
            runtime: runtime.to_owned(),
        };
        let began = Instant::now();
        while !khutulun(runtime, &["host", "list"]).status.success() {
            assert!(began.elapsed() < PATIENCE, "the agent did not answer");
            sleep(Duration::from_millis(50));
        }
        agent
    }

    fn run(&self, args: &[&str]) -> Output {
        khutulun(&self.runtime, args)
    }

    fn json(&self, args: &[&str]) -> Json {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        serde_json::from_slice(&output.stdout).expect("JSON output")
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Every record of the store under `dir`, with its content. The store's bookkeeping under
/// `locks/` (lock files and the fencing epoch) is left out: a commit renames its records in
/// before it bumps the epoch, so the CLI can see a deploy's last record (and return) while
/// that commit is still writing `locks/epoch.yaml` (seen about once in eight deploys).
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let bookkeeping = dir.join("locks");
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path == bookkeeping {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn without_an_agent_the_cli_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = khutulun(&dir.path().join("runtime"), &["service", "list"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("no Khutulun agent is running"),
        "{message}"
    );
    assert!(message.contains("khutulun agent"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
}

#[test]
fn the_control_channel_refuses_a_wrong_token_and_keeps_its_secret_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(
        &dir.path().join("state"),
        &dir.path().join("runtime"),
        "alpha",
    );
    let paths = RuntimePaths::new(&agent.runtime);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&paths.token()), 0o600);
    assert_eq!(mode(&paths.socket()), 0o600);
    assert_eq!(mode(paths.dir()), 0o700);

    let wrong = Client::with_token(paths.clone(), "f".repeat(64))
        .request(Request::ListServices { namespace: None });
    assert!(
        matches!(&wrong, Err(ClientError::Failed(f)) if f.kind == FailureKind::Unauthorized),
        "{wrong:?}"
    );
    let right = Client::connect(paths)
        .unwrap()
        .request(Request::ListServices { namespace: None });
    assert!(right.is_ok(), "{right:?}");
}

#[test]
fn bad_templates_and_bad_input_get_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let agent = Agent::start(&state, &dir.path().join("runtime"), "alpha");
    let broken = write(dir.path(), "broken.yaml", BROKEN);
    let good = write(dir.path(), "good.yaml", RESOURCES);
    let before = tree(&state);

    let output = agent.run(&["service", "deploy", broken.to_str().unwrap(), "--name", "x"]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("broken.yaml:7:"),
        "no file:line:column in {message}"
    );

    let output = agent.run(&[
        "service",
        "deploy",
        good.to_str().unwrap(),
        "--name",
        "x",
        "--input",
        "nokeyvalue",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("KEY=VALUE"), "{}", stderr(&output));

    let output = agent.run(&[
        "service",
        "deploy",
        good.to_str().unwrap(),
        "--name",
        "../escape",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("not allowed"),
        "{}",
        stderr(&output)
    );

    let output = agent.run(&["service", "deploy", "/no/such/file.yaml", "--name", "x"]);
    assert_eq!(output.status.code(), Some(1));

    let output = agent.run(&["service", "status", "nothing"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("there is no service nothing"),
        "{}",
        stderr(&output)
    );

    assert_eq!(
        agent.json(&["service", "list", "--format", "json"]),
        Json::Array(vec![])
    );
    assert_eq!(tree(&state), before, "a refused request changed the store");
}

#[test]
fn a_resource_service_deploys_reports_and_deletes_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let agent = Agent::start(&state, &dir.path().join("runtime"), "alpha");
    let good = write(dir.path(), "good.yaml", RESOURCES);
    let output = agent.run(&[
        "service",
        "deploy",
        good.to_str().unwrap(),
        "--name",
        "res",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let outputs: Json = serde_json::from_slice(&output.stdout).unwrap();
    let port = outputs["port"]
        .as_u64()
        .expect("the port output is a number");

    let status = agent.json(&["service", "status", "res", "--format", "json"]);
    assert_eq!(status["name"], "res");
    let instances = status["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 2);
    for instance in instances {
        assert_eq!(instance["state"], "running", "{instance}");
        assert_eq!(instance["host"], "alpha");
    }
    let directory = instances
        .iter()
        .find(|i| i["node"] == "data")
        .and_then(|i| i["attributes"]["path"].as_str())
        .map(PathBuf::from)
        .expect("the directory reports its path");
    assert!(directory.is_dir());
    assert_eq!(
        agent.json(&["service", "output", "res", "--format", "json"])["port"],
        port
    );

    let output = agent.run(&["service", "delete", "res"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!directory.exists(), "the temporary directory is left");
    let private = dir.path().join("runtime/instances/default/res");
    assert!(!private.exists(), "the instances' private files are left");
    assert_eq!(
        agent.json(&["service", "list", "--format", "json"]),
        Json::Array(vec![])
    );
    let ports = std::fs::read_to_string(state.join("ports/alpha.yaml")).unwrap();
    assert!(
        !ports.contains(&format!("port: {port}")),
        "the port is still reserved: {ports}"
    );
}

#[test]
fn corrupt_and_future_store_files_are_reported_with_their_path_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let agent = Agent::start(&state, &dir.path().join("runtime"), "alpha");
    let good = write(dir.path(), "good.yaml", RESOURCES);
    let output = agent.run(&["service", "deploy", good.to_str().unwrap(), "--name", "res"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let instance = state.join("services/default/res/instances/port-0.yaml");
    for broken in [
        "format_version: 1\nid: [unclosed\n",
        "format_version: 7\nid: port-0\n",
    ] {
        std::fs::write(&instance, broken).unwrap();
        let output = agent.run(&["service", "status", "res"]);
        assert_eq!(output.status.code(), Some(1));
        let message = stderr(&output);
        assert!(
            message.contains(instance.to_str().unwrap()),
            "no path in {message}"
        );
        let output = agent.run(&["service", "delete", "res"]);
        assert!(!output.status.success());
        assert_eq!(
            std::fs::read_to_string(&instance).unwrap(),
            broken,
            "the file was touched"
        );
    }
}

#[test]
fn one_agent_per_runtime_directory_and_per_host_name() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let runtime = dir.path().join("runtime");
    let _agent = Agent::start(&state, &runtime, "alpha");
    let second = Command::new(env!("CARGO_BIN_EXE_khutulun"))
        .args(["agent", "--name", "alpha"])
        .arg("--state")
        .arg(&state)
        .arg("--runtime")
        .arg(&runtime)
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        stderr(&second).contains("another agent already runs"),
        "{}",
        stderr(&second)
    );

    // Nor may a second agent act as the same host on the same store.
    let same_host = Command::new(env!("CARGO_BIN_EXE_khutulun"))
        .args(["agent", "--name", "alpha"])
        .arg("--state")
        .arg(&state)
        .arg("--runtime")
        .arg(dir.path().join("other-runtime"))
        .output()
        .unwrap();
    assert!(!same_host.status.success());
    assert!(
        stderr(&same_host).contains("as host alpha"),
        "{}",
        stderr(&same_host)
    );
}

#[test]
fn concurrent_deploys_through_two_agents_on_one_store_lose_nothing() {
    const PER_AGENT: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let alpha = Agent::start(&state, &dir.path().join("runtime-alpha"), "alpha");
    let beta = Agent::start(&state, &dir.path().join("runtime-beta"), "beta");
    let good = write(dir.path(), "good.yaml", RESOURCES);
    let template = good.to_str().unwrap().to_owned();

    let mut calls = Vec::new();
    for (agent, host) in [(&alpha, "alpha"), (&beta, "beta")] {
        for index in 0..PER_AGENT {
            let name = format!("{host}-{index}");
            calls.push(
                Command::new(env!("CARGO_BIN_EXE_khutulun"))
                    .args(["service", "deploy", &template, "--name", &name])
                    .env("KHUTULUN_RUNTIME", &agent.runtime)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap(),
            );
        }
        // Both agents race for the same name too: exactly one may win.
        calls.push(
            Command::new(env!("CARGO_BIN_EXE_khutulun"))
                .args([
                    "service",
                    "deploy",
                    &template,
                    "--name",
                    "contested",
                    "--no-wait",
                ])
                .env("KHUTULUN_RUNTIME", &agent.runtime)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    let outcomes: Vec<Output> = calls
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let succeeded: Vec<&Output> = outcomes.iter().filter(|o| o.status.success()).collect();
    assert_eq!(
        succeeded.len(),
        2 * PER_AGENT + 1,
        "exactly one contested deploy wins"
    );
    let losers: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.status.success())
        .map(stderr)
        .collect();
    assert_eq!(losers.len(), 1);
    assert!(losers[0].contains("already exists"), "{losers:?}");

    let services = alpha.json(&["service", "list", "--format", "json"]);
    let names: HashSet<String> = services
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 2 * PER_AGENT + 1, "{names:?}");

    for host in ["alpha", "beta"] {
        let table: Json = serde_yaml_ng::from_str(
            &std::fs::read_to_string(state.join(format!("ports/{host}.yaml"))).unwrap(),
        )
        .unwrap();
        let reservations = table["reservations"].as_array().unwrap();
        let ports: HashSet<u64> = reservations
            .iter()
            .map(|r| r["port"].as_u64().unwrap())
            .collect();
        assert_eq!(
            ports.len(),
            reservations.len(),
            "a port was reserved twice on {host}"
        );
        assert!(
            reservations.len() >= PER_AGENT,
            "reservations lost on {host}"
        );
    }
    let hosts = alpha.json(&["host", "list", "--format", "json"]);
    assert_eq!(hosts.as_array().unwrap().len(), 2);
}

#[test]
fn a_killed_agent_comes_back_and_adopts_its_services() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let runtime = dir.path().join("runtime");
    let good = write(dir.path(), "good.yaml", RESOURCES);
    let mut agent = Agent::start(&state, &runtime, "alpha");
    let output = agent.run(&["service", "deploy", good.to_str().unwrap(), "--name", "res"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let before = agent.json(&["service", "status", "res", "--format", "json"]);

    agent.child.kill().unwrap();
    agent.child.wait().unwrap();
    let output = agent.run(&["service", "list"]);
    assert_eq!(output.status.code(), Some(2), "a dead agent still answered");

    let agent = Agent::start(&state, &runtime, "alpha");
    let after = agent.json(&["service", "status", "res", "--format", "json"]);
    assert_eq!(
        after["instances"], before["instances"],
        "adoption changed the instances"
    );
    assert_eq!(after["outputs"], before["outputs"]);
}

const ECHO: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    talker:
      type: Process
      properties:
        command: /bin/sh
        arguments: [ -c, 'echo hello-from-the-talker; exec sleep 1000' ]
";

#[test]
fn logs_show_what_a_process_wrote_and_delete_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(
        &dir.path().join("state"),
        &dir.path().join("runtime"),
        "alpha",
    );
    let template = write(dir.path(), "echo.yaml", ECHO);
    let output = agent.run(&[
        "service",
        "deploy",
        template.to_str().unwrap(),
        "--name",
        "talk",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let status = agent.json(&["service", "status", "talk", "--format", "json"]);
    let pid = status["instances"][0]["attributes"]["pid"]
        .as_u64()
        .expect("the process reports its pid");
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    let began = Instant::now();
    loop {
        let output = agent.run(&["service", "logs", "talk", "talker-0"]);
        assert!(output.status.success(), "{}", stderr(&output));
        if String::from_utf8_lossy(&output.stdout).contains("hello-from-the-talker") {
            break;
        }
        assert!(began.elapsed() < PATIENCE, "the output never showed");
        sleep(Duration::from_millis(50));
    }
    let output = agent.run(&["service", "logs", "talk", "nobody-0"]);
    assert_eq!(output.status.code(), Some(1));

    let output = agent.run(&["service", "delete", "talk"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let began = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            began.elapsed() < PATIENCE,
            "the process outlived its service"
        );
        sleep(Duration::from_millis(50));
    }
}

#[test]
fn deploy_gives_up_waiting_at_its_timeout_and_the_service_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let agent = Agent::start(&state, &dir.path().join("runtime"), "alpha");
    let good = write(dir.path(), "good.yaml", RESOURCES);
    let output = agent.run(&[
        "service",
        "deploy",
        good.to_str().unwrap(),
        "--name",
        "slow",
        "--timeout",
        "0",
    ]);
    assert!(!output.status.success(), "a zero timeout cannot be met");
    assert!(
        stderr(&output).contains("still not running"),
        "{}",
        stderr(&output)
    );
    // The service stays recorded and its instances come up anyway.
    let mut running = false;
    for _ in 0..200 {
        let status = agent.json(&["service", "status", "slow", "--format", "json"]);
        if status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "running")
        {
            running = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(running, "the service ran after the client stopped waiting");
    let output = agent.run(&["service", "delete", "slow"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// A service whose `shared` directory is the `data` directory of another service.
const SELECTING: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    shared:
      type: LocalDirectory
      directives: [ select ]
    port:
      type: TCPPort
      properties:
        address: 127.0.0.1
";

#[test]
fn a_service_others_select_from_is_only_deleted_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let agent = Agent::start(&state, &dir.path().join("runtime"), "alpha");
    let producer = write(dir.path(), "producer.yaml", RESOURCES);
    let consumer = write(dir.path(), "consumer.yaml", SELECTING);
    let deploy = |template: &Path, name: &str| {
        let output = agent.run(&[
            "service",
            "deploy",
            template.to_str().unwrap(),
            "--name",
            name,
        ]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
    };
    let names = || -> Vec<String> {
        let services = agent.json(&["service", "list", "--format", "json"]);
        let mut names: Vec<String> = services
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };

    // The consumer deleted first, the producer goes too.
    deploy(&producer, "producer");
    deploy(&consumer, "consumer");
    let output = agent.run(&["service", "delete", "consumer"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = agent.run(&["service", "delete", "producer"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(names().is_empty(), "{:?}", names());

    // The producer first: refused, naming who selects what, and nothing changes.
    deploy(&producer, "producer");
    deploy(&consumer, "consumer");
    let before = tree(&state);
    let output = agent.run(&["service", "delete", "producer"]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("service producer cannot be deleted while service consumer selects")
            && message.contains("shared-0 of consumer (selecting data-0)")
            && message.contains("--force"),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    let after = tree(&state);
    let changed: Vec<_> = after
        .iter()
        .filter(|file| !before.contains(file))
        .map(|(path, content)| format!("{}:\n{}", path.display(), String::from_utf8_lossy(content)))
        .collect();
    assert!(
        changed.is_empty(),
        "a refused delete changed the store: {changed:#?}"
    );
    assert_eq!(
        after.len(),
        before.len(),
        "a refused delete added or removed files"
    );
    assert_eq!(names(), ["consumer", "producer"]);

    // With --force it goes, and says what now points at nothing.
    let output = agent.run(&["service", "delete", "producer", "--force"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("shared-0 of consumer (selecting data-0)"),
        "{}",
        stderr(&output)
    );
    assert_eq!(names(), ["consumer"]);
    let output = agent.run(&["service", "delete", "consumer"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// A service with a temporary directory at `PATH` (replaced by the test).
const AT_PATH: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    data:
      type: LocalDirectory
      properties:
        path: PATH
        temporary: true
";

#[test]
fn two_services_never_share_one_temporary_directory() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let runtime = dir.path().join("runtime");
    let mut agent = Agent::start(&state, &runtime, "alpha");
    let shared = dir.path().join("shared/site");
    let template = AT_PATH.replace("PATH", shared.to_str().unwrap());
    let template = write(dir.path(), "at-path.yaml", &template);
    let deploy = |agent: &Agent, name: &str| {
        agent.run(&[
            "service",
            "deploy",
            template.to_str().unwrap(),
            "--name",
            name,
        ])
    };
    let output = deploy(&agent, "first");
    assert!(output.status.success(), "{}", stderr(&output));

    // Refused while the directory is still empty (it used to be taken over), once it has
    // content, and after the agent restarted (the claim is in the store); neither the
    // refusal's rollback nor deleting the refused services touches the directory.
    for (second, content) in [("second", false), ("third", true), ("fourth", false)] {
        if content {
            std::fs::write(shared.join("precious"), "keep").unwrap();
        }
        if second == "fourth" {
            drop(agent);
            agent = Agent::start(&state, &runtime, "alpha");
        }
        let output = deploy(&agent, second);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let message = stderr(&output);
        assert!(
            message.contains("already claimed by default/first/data-0"),
            "{message}"
        );
        assert!(shared.is_dir(), "refusing {second} removed the directory");
    }
    for second in ["second", "third", "fourth"] {
        let output = agent.run(&["service", "delete", second]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    assert_eq!(
        std::fs::read_to_string(shared.join("precious")).unwrap(),
        "keep",
        "deleting a refused service touched the first's directory"
    );

    let output = agent.run(&["service", "delete", "first"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!shared.exists(), "the temporary directory is left");
    let claims = std::fs::read_to_string(state.join("directories/alpha.yaml")).unwrap();
    assert!(!claims.contains("first"), "the claim is kept: {claims}");
}
