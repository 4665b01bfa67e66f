//! Where the agent keeps its host-private files, and the default locations of the store and the
//! runtime directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::state::{Filesystem, RealFs};

/// The files of one agent's runtime directory, and the filesystem they are on (this machine's;
/// a simulated host's own in the simulator).
#[derive(Clone, Debug)]
pub struct RuntimePaths {
    dir: PathBuf,
    fs: Arc<dyn Filesystem>,
}

impl PartialEq for RuntimePaths {
    fn eq(&self, other: &Self) -> bool {
        self.dir == other.dir
    }
}

impl Eq for RuntimePaths {}

impl RuntimePaths {
    /// The runtime directory `dir` on this machine's filesystem.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RuntimePaths::on(dir, Arc::new(RealFs))
    }

    /// The runtime directory `dir` on `fs` (the simulator's seam).
    pub fn on(dir: impl Into<PathBuf>, fs: Arc<dyn Filesystem>) -> Self {
        RuntimePaths {
            dir: dir.into(),
            fs,
        }
    }

    /// The filesystem the directory is on: what the runtime lists and removes of its
    /// instances' private directories goes through it.
    pub fn filesystem(&self) -> &dyn Filesystem {
        &*self.fs
    }

    /// The directory itself (mode 0700).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `agent.sock`: the control socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("agent.sock")
    }

    /// `token`: the secret every request must carry (mode 0600).
    pub fn token(&self) -> PathBuf {
        self.dir.join("token")
    }

    /// `agent.lock`: held by the running agent, so a second agent on the same runtime directory
    /// refuses to start.
    pub fn agent_lock(&self) -> PathBuf {
        self.dir.join("agent.lock")
    }

    /// `instances/<namespace>/<service>/`: the host-private files of one service's instances.
    pub fn service_dir(&self, namespace: &str, service: &str) -> PathBuf {
        self.dir.join("instances").join(namespace).join(service)
    }

    /// `instances/<namespace>/<service>/<instance>/`: an instance's host-private files (logs,
    /// pid files), given to its delegate.
    pub fn instance_dir(&self, namespace: &str, service: &str, instance: &str) -> PathBuf {
        self.service_dir(namespace, service).join(instance)
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The store when neither `--state` nor `KHUTULUN_STATE` names one: `/var/lib/khutulun` for
/// root, else `$XDG_STATE_HOME/khutulun` (or `~/.local/state/khutulun`). A one-host cluster
/// needs nothing more.
pub fn default_state_dir() -> PathBuf {
    if is_root() {
        return PathBuf::from("/var/lib/khutulun");
    }
    if let Some(state) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(state).join("khutulun");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/state/khutulun"),
        None => std::env::temp_dir().join("khutulun-state"),
    }
}

/// The runtime directory when neither `--runtime` nor `KHUTULUN_RUNTIME` names one:
/// `/run/khutulun` for root, else `$XDG_RUNTIME_DIR/khutulun` (or a per-user folder in the
/// temporary directory).
pub fn default_runtime_dir() -> PathBuf {
    if is_root() {
        return PathBuf::from("/run/khutulun");
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("khutulun"),
        None => std::env::temp_dir().join(format!("khutulun-{}", nix::unistd::geteuid())),
    }
}
