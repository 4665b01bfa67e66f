//! What the end-to-end tests share: a store and runtime directory of their own with a real
//! `khutulun agent` on them, driven through the real `khutulun` command, and looking at what
//! it made (pages, processes, units).

#![allow(dead_code)] // Each test file uses its own part of this.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// How long any one step may take before the test gives up (not a performance bound).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Which process supervisor the agent under test may use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Supervisor {
    /// The environment's systemd user manager, when one answers.
    Systemd,
    /// No user manager reachable: the agent supervises its processes itself.
    Agent,
}

/// A store and runtime directory of our own, and the agent running on them.
pub struct Cluster {
    dir: tempfile::TempDir,
    supervisor: Supervisor,
    agent: Option<Child>,
    /// The service deployed and not yet deleted, which a failing test must not leave behind.
    pub deployed: Option<String>,
    /// Services of other namespaces deployed and not yet deleted: `(namespace, name)`.
    pub deployed_elsewhere: Vec<(String, String)>,
    /// The user units its processes ran as, stopped at the end whatever happened.
    pub units: Vec<String>,
    /// The agent's limit on open file descriptors (RLIMIT_NOFILE), when not the test's own.
    pub agent_file_limit: Option<u64>,
    /// Environment variables every command (the agent too) gets, after the supervisor's.
    pub env: Vec<(String, String)>,
    /// More arguments for `khutulun agent` (labels, limits).
    pub agent_args: Vec<String>,
    /// The user (uid, gid) the agent and every command run as, when not the test's own.
    pub run_as: Option<(u32, u32)>,
}

impl Cluster {
    pub fn new(supervisor: Supervisor) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("khutulun-e2e-")
            .tempdir()
            .expect("a temporary directory");
        Cluster {
            dir,
            supervisor,
            agent: None,
            deployed: None,
            deployed_elsewhere: Vec::new(),
            units: Vec::new(),
            agent_file_limit: None,
            env: Vec::new(),
            agent_args: Vec::new(),
            run_as: None,
        }
    }

    /// The cluster's own scratch directory (the store and runtime directory are in it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn runtime(&self) -> PathBuf {
        self.dir.path().join("runtime")
    }

    /// A `khutulun` command aimed at this cluster's agent, with the chosen supervisor visible.
    pub fn command(&self, args: &[&str]) -> Command {
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
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Runs a CLI command to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("khutulun runs")
    }

    /// Runs a CLI command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
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
    pub fn json(&self, args: &[&str]) -> Json {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        let text = self.ok(&args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
    }

    pub fn agent_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    /// Starts the agent and waits until it answers.
    pub fn start_agent(&mut self) {
        assert!(self.agent.is_none(), "the agent already runs");
        assert!(
            self.spawn_agent(),
            "the agent did not answer; its log:\n{}",
            self.agent_log()
        );
    }

    /// Starts the agent; whether it answered within [`PATIENCE`].
    pub fn spawn_agent(&mut self) -> bool {
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
        let mut args = vec!["agent", "--name", "e2e"];
        args.extend(self.agent_args.iter().map(String::as_str));
        let mut command = self.command(&args);
        command.stdout(log_too).stderr(log);
        if let Some(limit) = self.agent_file_limit {
            limit_files(&mut command, limit);
        }
        let Ok(child) = command.spawn() else {
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
    pub fn kill_agent(&mut self) {
        let mut child = self.agent.take().expect("the agent runs");
        child.kill().expect("SIGKILL to the agent");
        child.wait().expect("the agent is reaped");
    }

    /// Sends the agent SIGTERM, as a service manager stopping it would; how long it took to
    /// exit and how it exited (panics after [`PATIENCE`]).
    pub fn terminate_agent(&mut self) -> (Duration, std::process::ExitStatus) {
        let mut child = self.agent.take().expect("the agent runs");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let asked = Instant::now();
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        while asked.elapsed() < PATIENCE {
            if let Some(status) = child.try_wait().expect("the agent's status") {
                return (asked.elapsed(), status);
            }
            sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the agent did not exit within {PATIENCE:?} of SIGTERM");
    }

    /// The service's status as `status --format json` prints it, whether it exits 0 (all
    /// well) or 3 (an instance failed).
    pub fn status(&self, service: &str) -> Json {
        let output = self.run(&["service", "status", service, "--format", "json"]);
        assert!(
            matches!(output.status.code(), Some(0 | 3)),
            "`khutulun service status {service}` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("status is JSON")
    }
}

impl Drop for Cluster {
    /// Deletes what a failed test left deployed, then stops the agent.
    fn drop(&mut self) {
        let mut left: Vec<(String, String)> = std::mem::take(&mut self.deployed_elsewhere);
        left.extend(self.deployed.take().map(|s| ("default".to_owned(), s)));
        if !left.is_empty() && (self.agent.is_some() || self.spawn_agent()) {
            for (namespace, service) in &left {
                let _ = self.run(&["service", "delete", service, "--namespace", namespace]);
            }
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

/// Has the process `command` starts open at most `limit` files (soft and hard limit).
fn limit_files(command: &mut Command, limit: u64) {
    use nix::sys::resource::{Resource, setrlimit};
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure only makes the setrlimit system call, which
    // is async-signal-safe, and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            setrlimit(Resource::RLIMIT_NOFILE, limit, limit).map_err(std::io::Error::from)
        });
    }
}

/// Retries `check` every 100 ms until it holds; panics after [`PATIENCE`].
pub fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        sleep(Duration::from_millis(100));
    }
}

/// A plain HTTP GET of `url` (`http://HOST:PORT/PATH`); the body when the answer is 200.
pub fn http_get(url: &str) -> Option<String> {
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
    let status = head.split_whitespace().nth(1);
    (status == Some("200")).then(|| body.to_string())
}

/// The page is served at `url` with `greeting` in it.
/// The path of `examples/<name>` in this repository.
pub fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

pub fn serves_the_page(url: &str, greeting: &str) -> bool {
    http_get(url).is_some_and(|body| body.contains(greeting))
}

/// The instance of `node` in a status document.
pub fn instance<'a>(status: &'a Json, node: &str) -> &'a Json {
    status["instances"]
        .as_array()
        .expect("instances is a list")
        .iter()
        .find(|i| i["node"] == node)
        .unwrap_or_else(|| panic!("no instance of {node} in {status:#}"))
}

pub fn attribute<'a>(status: &'a Json, node: &str, name: &str) -> &'a Json {
    &instance(status, node)["attributes"][name]
}

pub fn all_running(status: &Json) -> bool {
    status["instances"]
        .as_array()
        .is_some_and(|list| !list.is_empty() && list.iter().all(|i| i["state"] == "running"))
}

pub fn pid_of(status: &Json, node: &str) -> i32 {
    let pid = attribute(status, node, "pid")
        .as_i64()
        .unwrap_or_else(|| panic!("{node} has no pid in {status:#}"));
    i32::try_from(pid).expect("a pid fits in i32")
}

/// Whether `pid` runs: a zombie has ended and only waits for its parent (systemd reaps a
/// unit's process just after it marks the unit stopped), so it does not count.
pub fn process_exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// The scenarios run one at a time: two stores on one host keep separate port ledgers, so two
/// agents at once could hand out the same port (under nextest, the `e2e` test group in
/// .config/nextest.toml does the same across processes).
pub static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether the environment has a systemd user manager answering.
pub fn user_manager_answers() -> bool {
    Command::new("systemctl")
        .args(["--user", "list-units", "--no-legend", "--no-pager"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a user manager answers, so a test of user units can run; without one the test is
/// skipped, unless `KHUTULUN_REQUIRE_SYSTEMD=1` (scripts/test starts one) makes that a failure.
pub fn user_units_testable() -> bool {
    if user_manager_answers() {
        return true;
    }
    if std::env::var("KHUTULUN_REQUIRE_SYSTEMD").as_deref() == Ok("1") {
        panic!("KHUTULUN_REQUIRE_SYSTEMD=1 but no systemd user manager answers");
    }
    eprintln!("\n!!! SKIPPED: no systemd user manager answers (scripts/test starts one)\n");
    false
}

/// Whether a user unit of that name is loaded.
pub fn unit_is_loaded(unit: &str) -> bool {
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

/// A service of one `sleep 600` process, `napper`.
pub const NAPPER: &str = "\
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    napper:
      type: Process
      properties:
        command: sleep
        arguments: [ '600' ]
";
