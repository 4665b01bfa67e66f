//! Real agents in network namespaces for multi-host tests: a bridge with one namespace per
//! host (10.77.0.N), each agent with its own runtime directory and all sharing one store
//! directory, driven through the real `khutulun` command. Everything is removed when dropped,
//! also when a test fails.

#![allow(dead_code)] // Each test file uses its own part of this.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// How long any one change may take to be seen everywhere (not a performance bound).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The UDP port every agent listens on (each in its own namespace).
pub const PORT: u16 = 7946;

fn ip(args: &[&str]) -> Output {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ip runs")
}

fn ip_ok(args: &[&str]) {
    let output = ip(args);
    assert!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Why network namespaces cannot be used here, if they cannot.
pub fn netns_unavailable() -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("not running as root".into());
    }
    let probe = format!("khprobe{}", std::process::id());
    match Command::new("ip")
        .args(["netns", "add", &probe])
        .stderr(Stdio::piped())
        .output()
    {
        Err(error) => Some(format!("iproute2's `ip` cannot run: {error}")),
        Ok(output) if !output.status.success() => Some(format!(
            "`ip netns add` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Ok(_) => {
            ip(&["netns", "del", &probe]);
            None
        }
    }
}

/// The bridge, the namespaces and their links of one run; removed when dropped.
pub struct Network {
    tag: String,
    hosts: usize,
}

impl Network {
    pub fn bridge(&self) -> String {
        format!("khb{}", self.tag)
    }

    pub fn namespace(&self, host: usize) -> String {
        format!("khutulun-test-{}-{host}", self.tag)
    }

    /// The link's end on the bridge side.
    fn outside(&self, host: usize) -> String {
        format!("khv{}{host}", self.tag)
    }

    /// The link's end inside the host's namespace.
    fn inside(&self, host: usize) -> String {
        format!("khp{}{host}", self.tag)
    }

    pub fn address(host: usize) -> String {
        format!("10.77.0.{host}")
    }

    /// Builds a bridge with `hosts` namespaces on it.
    pub fn build(hosts: usize) -> Network {
        // Short (link names are at most 15 bytes) and unique to this run.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let tag = format!("{:06x}", (std::process::id() ^ nanos) & 0xff_ffff);
        let network = Network { tag, hosts };
        ip_ok(&["link", "add", &network.bridge(), "type", "bridge"]);
        ip_ok(&["link", "set", &network.bridge(), "up"]);
        for host in 1..=hosts {
            let (ns, outside, inside) = (
                network.namespace(host),
                network.outside(host),
                network.inside(host),
            );
            ip_ok(&["netns", "add", &ns]);
            ip_ok(&[
                "link", "add", &outside, "type", "veth", "peer", "name", &inside,
            ]);
            ip_ok(&["link", "set", &inside, "netns", &ns]);
            ip_ok(&["link", "set", &outside, "master", &network.bridge()]);
            ip_ok(&["link", "set", &outside, "up"]);
            let address = format!("{}/24", Network::address(host));
            ip_ok(&["-n", &ns, "addr", "add", &address, "dev", &inside]);
            ip_ok(&["-n", &ns, "link", "set", "lo", "up"]);
            ip_ok(&["-n", &ns, "link", "set", &inside, "up"]);
        }
        network
    }

    /// Cuts or restores a host's only link, from inside its namespace.
    pub fn set_link(&self, host: usize, up: bool) {
        ip_ok(&[
            "-n",
            &self.namespace(host),
            "link",
            "set",
            &self.inside(host),
            if up { "up" } else { "down" },
        ]);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for host in 1..=self.hosts {
            // Deleting the namespace deletes the link's inside end, and with it the pair.
            ip(&["netns", "del", &self.namespace(host)]);
            ip(&["link", "del", &self.outside(host)]);
        }
        ip(&["link", "del", &self.bridge()]);
    }
}

/// One agent: its name, its own runtime directory, the shared store, its namespace.
pub struct Agent {
    pub name: String,
    namespace: String,
    address: String,
    /// The store (shared by default; a test may give an agent its own before starting it).
    pub state: PathBuf,
    pub runtime: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    /// More arguments for `khutulun agent`.
    pub extra: Vec<String>,
}

impl Agent {
    pub fn new(dir: &Path, network: &Network, host: usize) -> Agent {
        let name = format!("host{host}");
        Agent {
            namespace: network.namespace(host),
            address: format!("{}:{PORT}", Network::address(host)),
            state: dir.join("state"),
            runtime: dir.join(format!("runtime-{name}")),
            log: dir.join(format!("{name}.log")),
            name,
            child: None,
            extra: Vec::new(),
        }
    }

    pub fn start(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.namespace])
            .arg(env!("CARGO_BIN_EXE_khutulun"))
            .args(["agent", "--name", &self.name, "--listen", &self.address])
            .args(&self.extra)
            .arg("--state")
            .arg(&self.state)
            .arg("--runtime")
            .arg(&self.runtime)
            // No user manager: the agent supervises processes itself (none are deployed here).
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/khutulun-test",
            )
            .env("KHUTULUN_LOG", "info,khutulun::actors::membership=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the agent starts");
        self.child = Some(child);
        let began = Instant::now();
        while !self.host_list_output().status.success() {
            assert!(
                began.elapsed() < PATIENCE,
                "{} did not answer:\n{}",
                self.name,
                self.log()
            );
            sleep(Duration::from_millis(100));
        }
    }

    /// The agent's process id while it runs (`ip netns exec` becomes the agent).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits for the agent to exit by itself; how it exited.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("the agent runs");
        let began = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("the agent's status") {
                return status;
            }
            assert!(
                began.elapsed() < PATIENCE,
                "{} did not exit:\n{}",
                self.name,
                self.log()
            );
            sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL: no goodbye to the cluster.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, as systemd stops the agent: it says goodbye and exits cleanly.
    pub fn terminate(&mut self) {
        let mut child = self.child.take().expect("the agent runs");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status = child.wait().unwrap();
        assert!(
            status.success(),
            "{} exited with {status} on SIGTERM:\n{}",
            self.name,
            self.log()
        );
    }

    /// Runs `khutulun ARGS` against this agent (its control socket is a file, reachable from
    /// outside the namespace).
    pub fn khutulun(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_khutulun"))
            .args(args)
            .env("KHUTULUN_RUNTIME", &self.runtime)
            .stdin(Stdio::null())
            .output()
            .expect("khutulun runs")
    }

    /// Runs `khutulun ARGS` against this agent with `input` as its standard input.
    #[allow(dead_code)] // Not every test that includes this file runs commands with input.
    pub fn khutulun_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_khutulun"))
            .args(args)
            .env("KHUTULUN_RUNTIME", &self.runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("khutulun runs");
        let mut stdin = child.stdin.take().expect("its input is a pipe");
        stdin.write_all(input).expect("khutulun takes its input");
        drop(stdin);
        child.wait_with_output().expect("khutulun ends")
    }

    /// Runs `khutulun ARGS --format json`, which must succeed, and parses what it printed.
    pub fn json(&self, args: &[&str]) -> Json {
        let mut args = args.to_vec();
        args.extend(["--format", "json"]);
        let output = self.khutulun(&args);
        assert!(
            output.status.success(),
            "`khutulun {}` on {} failed: {}\n--- its log:\n{}",
            args.join(" "),
            self.name,
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
        serde_json::from_slice(&output.stdout).expect("JSON")
    }

    pub fn host_list_output(&self) -> Output {
        // The control socket is a file: it is reachable from outside the namespace.
        Command::new(env!("CARGO_BIN_EXE_khutulun"))
            .args(["host", "list", "--format", "json"])
            .env("KHUTULUN_RUNTIME", &self.runtime)
            .stdin(Stdio::null())
            .output()
            .expect("khutulun runs")
    }

    /// `host list` as this agent sees it: host name → (membership state, generation).
    pub fn host_list(&self) -> Vec<(String, String, Option<u64>)> {
        let output = self.host_list_output();
        assert!(
            output.status.success(),
            "host list on {}: {}",
            self.name,
            String::from_utf8_lossy(&output.stderr)
        );
        let hosts: Json = serde_json::from_slice(&output.stdout).expect("JSON");
        hosts
            .as_array()
            .expect("a list of hosts")
            .iter()
            .map(|host| {
                (
                    host["name"].as_str().unwrap().to_owned(),
                    host["membership"].as_str().unwrap().to_owned(),
                    host["generation"].as_u64(),
                )
            })
            .collect()
    }

    pub fn sees(&self, name: &str) -> Option<(String, Option<u64>)> {
        self.host_list()
            .into_iter()
            .find(|(host, _, _)| host == name)
            .map(|(_, state, generation)| (state, generation))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls until each observer sees `name` in `state`.
pub fn wait_until(observers: &[&Agent], name: &str, state: &str) {
    let began = Instant::now();
    for observer in observers {
        loop {
            let seen = observer.sees(name);
            if seen.as_ref().is_some_and(|(s, _)| s == state) {
                eprintln!(
                    "{} sees {name} {state} ({:.1} s of waiting)",
                    observer.name,
                    began.elapsed().as_secs_f64()
                );
                break;
            }
            assert!(
                began.elapsed() < PATIENCE,
                "{} never saw {name} {state}; it sees {seen:?}\n--- its log:\n{}",
                observer.name,
                observer.log()
            );
            sleep(Duration::from_millis(200));
        }
    }
}

/// Polls until `observer` has a host-to-host session with `name` (`host list` says linked).
pub fn wait_linked(observer: &Agent, name: &str) {
    let began = Instant::now();
    loop {
        let hosts = observer.json(&["host", "list"]);
        let linked = hosts
            .as_array()
            .into_iter()
            .flatten()
            .any(|host| host["name"] == name && host["linked"] == true);
        if linked {
            return;
        }
        assert!(
            began.elapsed() < PATIENCE,
            "{} never linked to {name}: {hosts:#}\n--- its log:\n{}",
            observer.name,
            observer.log()
        );
        sleep(Duration::from_millis(200));
    }
}

/// Polls until every agent sees every agent (itself included) alive.
pub fn wait_all_alive(agents: &[&Agent]) {
    for agent in agents {
        wait_until(agents, &agent.name, "alive");
    }
}

/// Whether the test may run: `false` (after saying so loudly) when network namespaces cannot
/// be used here; panics instead when KHUTULUN_REQUIRE_NETNS=1 (scripts/test sets it).
pub fn netns_usable(test: &str) -> bool {
    let Some(why) = netns_unavailable() else {
        return true;
    };
    if std::env::var("KHUTULUN_REQUIRE_NETNS").as_deref() == Ok("1") {
        panic!("network namespaces are required (KHUTULUN_REQUIRE_NETNS=1) but {why}");
    }
    // Straight to stderr: the test harness would swallow eprintln! of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!! SKIPPED {test}: {why}; this test needs root and iproute2 \
         (set KHUTULUN_REQUIRE_NETNS=1 to make this a failure) !!!\n"
    );
    false
}

/// A bridge of namespaces with an agent for each (not started yet), all on one store in a
/// scratch directory. Dropped in order: the agents, the directory, then the network.
pub struct Testbed {
    /// Agent `host1` first.
    pub agents: Vec<Agent>,
    /// The scratch directory (the shared store, the logs, templates).
    pub dir: tempfile::TempDir,
    /// The bridge and namespaces.
    pub network: Network,
}

impl Testbed {
    /// `hosts` namespaces and agents, none started.
    pub fn new(hosts: usize) -> Testbed {
        let network = Network::build(hosts);
        let dir = tempfile::Builder::new()
            .prefix("khutulun-netns-")
            .tempdir()
            .unwrap();
        let agents = (1..=hosts)
            .map(|h| Agent::new(dir.path(), &network, h))
            .collect();
        Testbed {
            agents,
            dir,
            network,
        }
    }

    /// `hosts` namespaces, every agent started and seeing every other alive.
    pub fn running(hosts: usize) -> Testbed {
        let mut testbed = Testbed::new(hosts);
        for agent in &mut testbed.agents {
            agent.start();
        }
        let all: Vec<&Agent> = testbed.agents.iter().collect();
        wait_all_alive(&all);
        testbed
    }
}
