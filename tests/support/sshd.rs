//! A real OpenSSH server of the test's own, for networked directories mounted with sshfs: its
//! host key, a client key it authorises and a known-hosts file, all generated in a scratch
//! directory, and `sshd` listening on a free port of one address. Stopped when dropped.

#![allow(dead_code)] // Each test file uses its own part of this.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Where Debian's openssh-server puts the daemon.
const SSHD: &str = "/usr/sbin/sshd";

/// Why sshfs against a local sshd cannot be tried here, if it cannot.
pub fn sshfs_unavailable() -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("not running as root (sshd and FUSE mounts need it)".into());
    }
    let missing = |program: &str| {
        Command::new(program)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
    };
    if missing("sshfs") {
        return Some("sshfs is not installed (apt-get install sshfs)".into());
    }
    if !Path::new(SSHD).exists() || missing("ssh-keygen") {
        return Some("openssh-server is not installed (apt-get install openssh-server)".into());
    }
    if !Path::new("/dev/fuse").exists() {
        return Some("there is no /dev/fuse".into());
    }
    None
}

/// Whether the test may run: `false` (after saying so loudly) when sshfs or sshd are missing;
/// panics instead when KHUTULUN_REQUIRE_SSHFS=1 (scripts/test sets it).
pub fn sshfs_usable(test: &str) -> bool {
    let Some(why) = sshfs_unavailable() else {
        return true;
    };
    if std::env::var("KHUTULUN_REQUIRE_SSHFS").as_deref() == Ok("1") {
        panic!("sshfs is required (KHUTULUN_REQUIRE_SSHFS=1) but {why}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n!!! SKIPPED {test}: {why} (set KHUTULUN_REQUIRE_SSHFS=1 to make this a failure) !!!\n"
    );
    false
}

/// A running sshd and what a client needs to log in to it as the test's user.
pub struct Sshd {
    dir: tempfile::TempDir,
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl Sshd {
    /// Starts sshd on `ip`, run by `runner` (e.g. `ip netns exec NS`, where port 22022 is free;
    /// empty to run it here, on a free port), and waits until it listens.
    pub fn start_with(ip: &str, runner: &[&str]) -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("khutulun-sshd-")
            .tempdir()
            .expect("a scratch directory");
        let path = dir.path();
        keygen(&path.join("host_key"));
        keygen(&path.join("client_key"));
        std::fs::copy(path.join("client_key.pub"), path.join("authorized_keys")).unwrap();
        std::fs::create_dir_all(path.join("srv")).unwrap();
        // sshd's privilege separation directory (Debian's service makes it at boot).
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = if runner.is_empty() {
            free_port(ip)
        } else {
            22022
        };
        let config = format!(
            "ListenAddress {ip}\nPort {port}\nHostKey {dir}/host_key\n\
             AuthorizedKeysFile {dir}/authorized_keys\nPidFile none\nUsePAM no\n\
             StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n",
            dir = path.display()
        );
        std::fs::write(path.join("sshd_config"), config).unwrap();
        let host_key = std::fs::read_to_string(path.join("host_key.pub")).unwrap();
        std::fs::write(
            path.join("known_hosts"),
            format!("[{ip}]:{port} {host_key}"),
        )
        .unwrap();
        let log = std::fs::File::create(path.join("sshd.log")).unwrap();
        let (program, arguments) = match runner.split_first() {
            Some((program, rest)) => (*program, [rest, &[SSHD]].concat()),
            None => (SSHD, Vec::new()),
        };
        let child = Command::new(program)
            .args(arguments)
            .args(["-D", "-e", "-f"])
            .arg(path.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sshd starts");
        let address: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let sshd = Sshd {
            dir,
            child,
            address,
        };
        sshd.wait_listening(runner.is_empty());
        sshd
    }

    /// Starts sshd on 127.0.0.1, on a free port.
    pub fn start() -> Sshd {
        Sshd::start_with("127.0.0.1", &[])
    }

    /// Waits until it listens: until it accepts a TCP connection when `connect` (it runs in
    /// this network namespace), else until its log says so.
    fn wait_listening(&self, connect: bool) {
        let began = Instant::now();
        let listening = || {
            if connect {
                TcpStream::connect_timeout(&self.address, Duration::from_millis(200)).is_ok()
            } else {
                self.log().contains("Server listening on")
            }
        };
        while !listening() {
            assert!(
                began.elapsed() < Duration::from_secs(20),
                "sshd did not listen on {}:\n{}",
                self.address,
                self.log()
            );
            sleep(Duration::from_millis(100));
        }
    }

    /// The directory on the server side that tests mount.
    pub fn served(&self) -> PathBuf {
        self.dir.path().join("srv")
    }

    /// The private key sshd lets the test's user in with.
    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// A known-hosts file that names this server's key.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// `root@ADDRESS:/<served>`, as the mount table shows the served directory.
    pub fn remote(&self) -> String {
        format!("root@{}:{}", self.address.ip(), self.served().display())
    }

    /// `sshfs://root@ADDRESS:PORT/<served>`.
    pub fn source(&self) -> String {
        format!(
            "sshfs://root@{}:{}{}",
            self.address.ip(),
            self.address.port(),
            self.served().display()
        )
    }

    /// The mount options a client needs to trust this server's key and no other.
    pub fn options(&self) -> Vec<String> {
        vec![
            format!("UserKnownHostsFile={}", self.known_hosts().display()),
            "StrictHostKeyChecking=yes".into(),
        ]
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sshfs mounts of `remote` (`user@host:/path`) in this process's mount table.
pub fn sshfs_mounts_of(remote: &str) -> Vec<String> {
    sshfs_mounts_seen_by("self", remote)
}

/// The sshfs mounts of `remote` in the mount table of process `pid` (`self` for this one),
/// which may be in a mount namespace of its own (`ip netns exec` makes one).
pub fn sshfs_mounts_seen_by(pid: &str, remote: &str) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(" - fuse.sshfs ") && line.contains(remote))
        .map(str::to_owned)
        .collect()
}

/// The sshfs processes whose command line names `remote`.
pub fn sshfs_processes_of(remote: &str) -> Vec<String> {
    sshfs_pids_of(remote)
        .into_iter()
        .map(|(_, cmdline)| cmdline)
        .collect()
}

/// The process ids and command lines of the sshfs processes whose command line names `remote`.
pub fn sshfs_pids_of(remote: &str) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.starts_with("sshfs ") && cmdline.contains(remote) {
            found.push((pid, cmdline));
        }
    }
    found
}
