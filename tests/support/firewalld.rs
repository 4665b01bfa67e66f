//! A real Firewalld of a test's own, isolated from the machine: it runs inside a network
//! namespace (it filters that namespace's traffic only, never the root namespace's, where
//! other tests run Podman, libvirt and bridges), on a D-Bus system bus of its own (a
//! `dbus-daemon` with a small config on a socket in a scratch directory), with its permanent
//! configuration in that scratch directory (`--system-config`), never in /etc/firewalld.
//! Everything is stopped when dropped, also when a test fails.

#![allow(dead_code)] // Each test file uses its own part of this.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long Firewalld may take to come up (not a performance bound).
const PATIENCE: Duration = Duration::from_secs(60);

/// A bus that lets root (the only user here) own and call anything.
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"#;

/// Why Firewalld cannot be run here, if it cannot.
pub fn firewalld_unavailable() -> Option<String> {
    for program in ["firewalld", "firewall-cmd", "dbus-daemon", "nft"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !found {
            return Some(format!("{program} is not installed"));
        }
    }
    None
}

/// Whether the test may run: `false` (after saying so loudly) when Firewalld or network
/// namespaces are missing; panics instead when KHUTULUN_REQUIRE_FIREWALLD=1 (scripts/test
/// sets it).
pub fn firewalld_usable(test: &str, netns_unavailable: Option<String>) -> bool {
    let Some(why) = firewalld_unavailable().or(netns_unavailable) else {
        return true;
    };
    if std::env::var("KHUTULUN_REQUIRE_FIREWALLD").as_deref() == Ok("1") {
        panic!("Firewalld is required (KHUTULUN_REQUIRE_FIREWALLD=1) but {why}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n!!! SKIPPED {test}: {why}; this test needs root, iproute2, dbus, firewalld and \
         nftables (set KHUTULUN_REQUIRE_FIREWALLD=1 to make this a failure) !!!\n"
    );
    false
}

/// Starts a D-Bus system bus of its own at `dir/bus` (in network namespace `namespace`, if
/// given), with its log in `dir/bus.log`, and waits for its socket.
pub fn start_bus(namespace: Option<&str>, dir: &Path) -> Child {
    std::fs::create_dir_all(dir).unwrap();
    let socket = dir.join("bus");
    let config = dir.join("bus.conf");
    let text = BUS_CONFIG.replace("SOCKET", socket.to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    let log = std::fs::File::create(dir.join("bus.log")).unwrap();
    let mut command = match namespace {
        Some(namespace) => {
            let mut command = Command::new("ip");
            command.args(["netns", "exec", namespace, "dbus-daemon"]);
            command
        }
        None => Command::new("dbus-daemon"),
    };
    let child = command
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--nopidfile"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("dbus-daemon starts");
    let began = Instant::now();
    while !socket.exists() {
        assert!(began.elapsed() < PATIENCE, "dbus-daemon made no socket");
        sleep(Duration::from_millis(50));
    }
    child
}

/// A running Firewalld on its own bus, in network namespace `namespace`.
pub struct PrivateFirewalld {
    namespace: String,
    dir: PathBuf,
    bus: Option<Child>,
    firewalld: Option<Child>,
}

impl PrivateFirewalld {
    /// Starts a bus and a Firewalld in `namespace` (which must exist), keeping their files in
    /// `dir`, and waits until Firewalld says it runs.
    pub fn start(namespace: &str, dir: &Path) -> PrivateFirewalld {
        let dir = dir.join("firewalld");
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        let bus = start_bus(Some(namespace), &dir);
        let mut firewalld = PrivateFirewalld {
            namespace: namespace.to_owned(),
            dir,
            bus: Some(bus),
            firewalld: None,
        };
        firewalld.start_firewalld();
        firewalld
    }

    fn log(&self, name: &str) -> std::fs::File {
        std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.join(name))
            .unwrap()
    }

    /// Starts Firewalld itself (again, after [`PrivateFirewalld::stop_firewalld`]).
    pub fn start_firewalld(&mut self) {
        assert!(self.firewalld.is_none(), "firewalld already runs");
        let child = self
            .in_namespace("firewalld")
            .args(["--nofork", "--nopid", "--log-target", "console"])
            .arg("--system-config")
            .arg(self.dir.join("etc"))
            .stdout(Stdio::null())
            .stderr(self.log("firewalld.log"))
            .spawn()
            .expect("firewalld starts");
        self.firewalld = Some(child);
        let began = Instant::now();
        while !self.firewall_cmd(&["--state"]).status.success() {
            assert!(
                began.elapsed() < PATIENCE,
                "firewalld did not come up:\n{}",
                self.firewalld_log()
            );
            sleep(Duration::from_millis(200));
        }
    }

    /// Stops Firewalld (its bus stays); it flushes its rules as it goes.
    pub fn stop_firewalld(&mut self) {
        if let Some(mut child) = self.firewalld.take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let _ = child.wait();
        }
    }

    /// The D-Bus address of its bus, for the agent's `--firewalld-bus`.
    pub fn bus_address(&self) -> String {
        format!("unix:path={}", self.dir.join("bus").display())
    }

    /// Its permanent configuration's directory (what `/etc/firewalld` is to a real one).
    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("etc")
    }

    fn in_namespace(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.namespace, program])
            .env("DBUS_SYSTEM_BUS_ADDRESS", self.bus_address())
            .stdin(Stdio::null());
        command
    }

    /// Runs `firewall-cmd ARGS` against it.
    pub fn firewall_cmd(&self, args: &[&str]) -> Output {
        self.in_namespace("firewall-cmd")
            .args(args)
            .output()
            .expect("firewall-cmd runs")
    }

    /// Runs `firewall-cmd ARGS`, which must succeed; what it printed.
    pub fn firewall_cmd_ok(&self, args: &[&str]) -> String {
        let output = self.firewall_cmd(args);
        assert!(
            output.status.success(),
            "firewall-cmd {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The ports open in `zone`, in the running firewall or (`permanent`) its configuration.
    pub fn ports(&self, zone: &str, permanent: bool) -> Vec<String> {
        let mut args = vec!["--zone", zone, "--list-ports"];
        if permanent {
            args.insert(0, "--permanent");
        }
        self.firewall_cmd_ok(&args)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// `nft list ruleset` in its namespace: what the kernel really filters by.
    pub fn ruleset(&self) -> String {
        let output = Command::new("ip")
            .args(["netns", "exec", &self.namespace, "nft", "list", "ruleset"])
            .output()
            .expect("nft runs");
        assert!(
            output.status.success(),
            "nft list ruleset: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// How many rules of the ruleset accept TCP port `port`.
    pub fn accept_rules(&self, port: u16) -> usize {
        let rule = format!("tcp dport {port} accept");
        self.ruleset()
            .lines()
            .filter(|line| line.trim() == rule)
            .count()
    }

    pub fn firewalld_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("firewalld.log")).unwrap_or_default()
    }
}

impl Drop for PrivateFirewalld {
    fn drop(&mut self) {
        self.stop_firewalld();
        if let Some(mut bus) = self.bus.take() {
            let _ = bus.kill();
            let _ = bus.wait();
        }
    }
}
