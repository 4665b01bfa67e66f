//! End to end through the `khutulun` command: deploy examples/hello-world.yaml on a fresh agent
//! and store, fetch its URL, kill -9 the agent and see the page still served, restart the agent
//! and see `status` right, kill the web server and see it restarted, delete the service and see
//! no process, unit, port or temporary directory left.
//!
//! The scenario runs twice: with the systemd user manager of the environment (when one answers;
//! `scripts/test` starts one and sets KHUTULUN_REQUIRE_SYSTEMD=1, which makes its absence a
//! failure), and with none, where the agent supervises the processes itself.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// How long any one step may take before the test gives up (not a performance bound).
const PATIENCE: Duration = Duration::from_secs(60);

/// Which process supervisor the agent under test may use.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Supervisor {
    /// The environment's systemd user manager, when one answers.
    Systemd,
    /// No user manager reachable: the agent supervises its processes itself.
    Agent,
}

/// A store and runtime directory of our own, and the agent running on them.
struct Cluster {
    dir: tempfile::TempDir,
    supervisor: Supervisor,
    agent: Option<Child>,
    /// The service deployed and not yet deleted, which a failing test must not leave behind.
    deployed: Option<String>,
    /// The user units its processes ran as, stopped at the end whatever happened.
    units: Vec<String>,
}

impl Cluster {
    fn new(supervisor: Supervisor) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("khutulun-e2e-")
            .tempdir()
            .expect("a temporary directory");
        Cluster {
            dir,
            supervisor,
            agent: None,
            deployed: None,
            units: Vec::new(),
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn runtime(&self) -> PathBuf {
        self.dir.path().join("runtime")
    }

    /// A `khutulun` command aimed at this cluster's agent, with the chosen supervisor visible.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_khutulun"));
        command
            .args(args)
            .env("KHUTULUN_STATE", self.state())
            .env("KHUTULUN_RUNTIME", self.runtime())
            .stdin(Stdio::null());
        if self.supervisor == Supervisor::Agent {
            command.env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/khutulun-e2e",
            );
        }
        command
    }

    /// Runs a CLI command to its end.
    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("khutulun runs")
    }

    /// Runs a CLI command that must succeed; returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "`khutulun {}` failed ({}):\n{}\nagent log:\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr),
            self.agent_log()
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// Runs a CLI command with `--format json` and parses what it printed.
    fn json(&self, args: &[&str]) -> Json {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        let text = self.ok(&args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
    }

    fn agent_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    /// Starts the agent and waits until it answers.
    fn start_agent(&mut self) {
        assert!(self.agent.is_none(), "the agent already runs");
        assert!(
            self.spawn_agent(),
            "the agent did not answer; its log:\n{}",
            self.agent_log()
        );
    }

    /// Starts the agent; whether it answered within [`PATIENCE`].
    fn spawn_agent(&mut self) -> bool {
        let Ok(log) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("agent.log"))
        else {
            return false;
        };
        let Ok(log_too) = log.try_clone() else {
            return false;
        };
        let Ok(child) = self
            .command(&["agent", "--name", "e2e"])
            .stdout(log_too)
            .stderr(log)
            .spawn()
        else {
            return false;
        };
        self.agent = Some(child);
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if self.run(&["service", "list"]).status.success() {
                return true;
            }
            sleep(Duration::from_millis(100));
        }
        false
    }

    /// Kills the agent with SIGKILL, as a crash would.
    fn kill_agent(&mut self) {
        let mut child = self.agent.take().expect("the agent runs");
        child.kill().expect("SIGKILL to the agent");
        child.wait().expect("the agent is reaped");
    }

    /// The service's status as `status --format json` prints it.
    fn status(&self, service: &str) -> Json {
        self.json(&["service", "status", service])
    }
}

impl Drop for Cluster {
    /// Deletes what a failed test left deployed, then stops the agent.
    fn drop(&mut self) {
        if let Some(service) = self.deployed.take()
            && (self.agent.is_some() || self.spawn_agent())
        {
            let _ = self.run(&["service", "delete", &service]);
        }
        for unit in &self.units {
            let _ = Command::new("systemctl")
                .args(["--user", "stop", unit])
                .stderr(Stdio::null())
                .status();
        }
        if let Some(mut child) = self.agent.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Retries `check` every 100 ms until it holds; panics after [`PATIENCE`].
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        sleep(Duration::from_millis(100));
    }
}

/// A plain HTTP GET of `url` (`http://HOST:PORT/PATH`); the body when the answer is 200.
fn http_get(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(authority).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200").then(|| body.to_string())
}

/// The page is served at `url` with `greeting` in it.
fn serves_the_page(url: &str, greeting: &str) -> bool {
    http_get(url).is_some_and(|body| body.contains(greeting))
}

/// The instance of `node` in a status document.
fn instance<'a>(status: &'a Json, node: &str) -> &'a Json {
    status["instances"]
        .as_array()
        .expect("instances is a list")
        .iter()
        .find(|i| i["node"] == node)
        .unwrap_or_else(|| panic!("no instance of {node} in {status:#}"))
}

fn attribute<'a>(status: &'a Json, node: &str, name: &str) -> &'a Json {
    &instance(status, node)["attributes"][name]
}

fn all_running(status: &Json) -> bool {
    status["instances"]
        .as_array()
        .is_some_and(|list| !list.is_empty() && list.iter().all(|i| i["state"] == "running"))
}

fn pid_of(status: &Json, node: &str) -> i32 {
    let pid = attribute(status, node, "pid")
        .as_i64()
        .unwrap_or_else(|| panic!("{node} has no pid in {status:#}"));
    i32::try_from(pid).expect("a pid fits in i32")
}

/// Whether `pid` runs: a zombie has ended and only waits for its parent (systemd reaps a
/// unit's process just after it marks the unit stopped), so it does not count.
fn process_exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// The scenarios run one at a time: two stores on one host keep separate port ledgers, so two
/// agents at once could hand out the same port (under nextest, the `e2e` test group in
/// .config/nextest.toml does the same across processes).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether the environment has a systemd user manager answering.
fn user_manager_answers() -> bool {
    Command::new("systemctl")
        .args(["--user", "list-units", "--no-legend", "--no-pager"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a user unit of that name is loaded.
fn unit_is_loaded(unit: &str) -> bool {
    Command::new("systemctl")
        .args([
            "--user",
            "list-units",
            "--all",
            "--no-legend",
            "--no-pager",
            unit,
        ])
        .output()
        .is_ok_and(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/hello-world.yaml")
        .to_string_lossy()
        .into_owned()
}

/// The whole scenario; `service` names the deployment (unique per test).
fn scenario(supervisor: Supervisor, service: &str) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cluster = Cluster::new(supervisor);
    cluster.start_agent();

    // Deploy: the CLI waits until every instance runs, then prints the outputs.
    // A greeting of our own tells our page from any other on the machine.
    let greeting = format!("Hello from {service}!");
    let input = format!("greeting={greeting}");
    cluster.deployed = Some(service.to_string());
    let outputs = cluster.json(&[
        "service",
        "deploy",
        &example(),
        "--name",
        service,
        "--input",
        &input,
    ]);
    let url = outputs["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no url output in {outputs:#}"))
        .to_string();
    assert_eq!(cluster.json(&["service", "output", service]), outputs);
    wait_for("the page to be served", || serves_the_page(&url, &greeting));

    let status = cluster.status(service);
    assert!(all_running(&status), "{status:#}");
    let web_pid = pid_of(&status, "web");
    let writer_pid = pid_of(&status, "writer");
    let site = attribute(&status, "site", "path")
        .as_str()
        .expect("the site has a path")
        .to_string();
    assert!(Path::new(&site).join("index.html").is_file());
    let units: Vec<String> = ["web", "writer"]
        .iter()
        .filter_map(|node| attribute(&status, node, "unit").as_str().map(String::from))
        .collect();
    cluster.units.extend(units.iter().cloned());
    match supervisor {
        Supervisor::Systemd => {
            assert_eq!(
                units.len(),
                2,
                "both processes run as user units: {status:#}"
            );
            assert!(units.iter().all(|unit| unit_is_loaded(unit)));
        }
        Supervisor::Agent => assert!(units.is_empty(), "no unit without systemd: {status:#}"),
    }

    // A crashed agent leaves the workload serving.
    cluster.kill_agent();
    assert!(process_exists(web_pid) && process_exists(writer_pid));
    assert!(
        serves_the_page(&url, &greeting),
        "the page is gone with the agent"
    );

    // A restarted agent adopts what runs and reports it as it is.
    cluster.start_agent();
    let status = cluster.status(service);
    assert!(all_running(&status), "{status:#}");
    assert_eq!(pid_of(&status, "web"), web_pid);

    // A killed web server is started again (restart: on-failure is the profile's default).
    let killed = Command::new("kill")
        .args(["-9", &web_pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let last = cluster.status(service);
        let restarted = attribute(&last, "web", "pid")
            .as_i64()
            .is_some_and(|pid| pid != i64::from(web_pid));
        if all_running(&last) && restarted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the web server was not restarted:\n{last:#}\nagent log:\n{}",
            cluster.agent_log()
        );
        sleep(Duration::from_millis(100));
    }
    wait_for("the page to be served again", || {
        serves_the_page(&url, &greeting)
    });
    let status = cluster.status(service);
    let pids = [pid_of(&status, "web"), pid_of(&status, "writer")];

    // Delete: nothing is left.
    cluster.ok(&["service", "delete", service]);
    cluster.deployed = None;
    wait_for("the processes to end", || {
        pids.iter().all(|pid| !process_exists(*pid))
    });
    assert!(
        !serves_the_page(&url, &greeting),
        "{url} still serves the page"
    );
    assert!(!Path::new(&site).exists(), "{site} is still there");
    for unit in &units {
        assert!(!unit_is_loaded(unit), "{unit} is still loaded");
    }
    let list = cluster.json(&["service", "list"]);
    assert_eq!(list, Json::Array(Vec::new()), "services left: {list:#}");
    let ports = std::fs::read_to_string(cluster.state().join("ports/e2e.yaml")).unwrap_or_default();
    let port = url.rsplit(':').next().unwrap_or("").trim_end_matches('/');
    assert!(
        !ports.contains(port),
        "port {port} is still reserved:\n{ports}"
    );
}

#[test]
fn hello_world_under_systemd() {
    if !user_manager_answers() {
        assert!(
            std::env::var_os("KHUTULUN_REQUIRE_SYSTEMD").is_none(),
            "KHUTULUN_REQUIRE_SYSTEMD is set, but no systemd user manager answers"
        );
        eprintln!("SKIPPED: no systemd user manager answers (scripts/test starts one)");
        return;
    }
    scenario(
        Supervisor::Systemd,
        &format!("hello-systemd-{}", std::process::id()),
    );
}

#[test]
fn hello_world_supervised_by_the_agent() {
    scenario(
        Supervisor::Agent,
        &format!("hello-agent-{}", std::process::id()),
    );
}
