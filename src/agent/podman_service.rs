//! `khutulun agent --start-podman`: the agent starts Podman's API service itself when Podman is
//! installed and nothing answers at the socket the podman delegate uses, and stops it when it
//! stops (containers keep running: conmon, not the service, holds them).
//!
//! The service gets a configuration that works on hosts without systemd as PID 1 and without
//! the capability to raise limits (as these machines are): no default ulimits, events in a
//! file, runc where it is installed, and cgroupfs where systemd does not run the host. A
//! `CONTAINERS_CONF` in the agent's environment is used instead, as it is.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::delegates::podman::PodmanSocket;
use crate::delegates::process::find_program;

/// How long the agent waits for the service it started to answer.
const ANSWER_DEADLINE: Duration = Duration::from_secs(20);

/// Podman's API service as the agent started it; stopped when dropped.
pub struct PodmanService {
    _child: tokio::process::Child,
}

/// Starts Podman's API service when it is needed and can be: `None` when something answers
/// already, or Podman is not installed, or the service could not start (each logged).
pub async fn start_if_needed(runtime: &Path) -> Option<PodmanService> {
    let socket = match PodmanSocket::from_environment() {
        Ok(socket) => socket,
        Err(error) => {
            tracing::warn!(%error, "not starting Podman's API");
            return None;
        }
    };
    if answers(socket.path()).await {
        tracing::info!(socket = %socket.uri(), "Podman's API answers already");
        return None;
    }
    let path = std::env::var("PATH").unwrap_or_default();
    if find_program("podman", &path, Path::new("/")).is_none() {
        tracing::warn!("--start-podman: Podman is not installed (Debian: apt-get install podman)");
        return None;
    }
    match spawn(&socket, runtime).await {
        Ok(service) => Some(service),
        Err(error) => {
            tracing::warn!(socket = %socket.uri(), %error, "could not start Podman's API");
            None
        }
    }
}

async fn spawn(socket: &PodmanSocket, runtime: &Path) -> std::io::Result<PodmanService> {
    if let Some(directory) = socket.path().parent() {
        std::fs::create_dir_all(directory)?;
    }
    // Nothing answers there, so a socket file left there is stale: the service binds anew.
    let _ = std::fs::remove_file(socket.path());
    let configuration = match std::env::var_os("CONTAINERS_CONF") {
        Some(given) => PathBuf::from(given),
        None => {
            let written = runtime.join("podman-containers.conf");
            std::fs::write(
                &written,
                configuration(&std::env::var("PATH").unwrap_or_default()),
            )?;
            written
        }
    };
    let log = runtime.join("podman-service.log");
    let output = std::fs::File::create(&log)?;
    let child = tokio::process::Command::new("podman")
        .args(["system", "service", "--time=0", &socket.uri()])
        .env("CONTAINERS_CONF", &configuration)
        // With either set, podman is a client of another service, not the service.
        .env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION")
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .kill_on_drop(true)
        .spawn()?;
    tracing::info!(socket = %socket.uri(), log = %log.display(), "started Podman's API");
    let deadline = tokio::time::Instant::now() + ANSWER_DEADLINE;
    while !answers(socket.path()).await {
        if tokio::time::Instant::now() > deadline {
            return Err(std::io::Error::other(format!(
                "it did not answer within {} s; see {}",
                ANSWER_DEADLINE.as_secs(),
                log.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(PodmanService { _child: child })
}

/// Whether something accepts connections at the socket.
async fn answers(socket: &Path) -> bool {
    tokio::net::UnixStream::connect(socket).await.is_ok()
}

/// The service's `containers.conf` for this host, whose programs are found in `path`.
fn configuration(path: &str) -> String {
    let mut engine = vec!["events_logger = \"file\"".to_owned()];
    if find_program("runc", path, Path::new("/")).is_some() {
        engine.push("runtime = \"runc\"".into());
    }
    let systemd_runs_the_host =
        std::fs::read_to_string("/proc/1/comm").is_ok_and(|name| name.trim() == "systemd");
    if !systemd_runs_the_host {
        engine.push("cgroup_manager = \"cgroupfs\"".into());
    }
    format!(
        "[containers]\ndefault_ulimits = []\n[engine]\n{}\n",
        engine.join("\n")
    )
}
