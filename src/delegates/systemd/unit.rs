//! What a transient unit is made of, and what systemd says about one.

use std::path::PathBuf;
use std::time::Duration;

use crate::delegates::profile::RestartPolicy;

/// A command to run as a transient service unit.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitSpec {
    /// The unit's name, ending in `.service` (see [`unit_name`]).
    pub name: String,
    /// A line for `systemctl status`.
    pub description: String,
    /// The program (an absolute path) and its arguments.
    pub program: PathBuf,
    /// The arguments after the program.
    pub arguments: Vec<String>,
    /// The directory it starts in.
    pub working_directory: PathBuf,
    /// `NAME=value` pairs.
    pub environment: Vec<String>,
    /// The user it runs as (`None`: the manager's user).
    pub user: Option<String>,
    /// systemd's `Restart=`.
    pub restart: RestartPolicy,
    /// systemd's `RestartSec=`.
    pub restart_delay: Duration,
    /// The file standard output and error are appended to.
    pub log_file: PathBuf,
    /// A command (program and arguments) systemd runs once the unit's process started, at
    /// every start, its failure ignored: e.g. noting the start where an agent that died while
    /// starting the unit finds it, so that a unit gone since is known to have run.
    pub on_started: Option<Vec<String>>,
}

/// What systemd reports about a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitStatus {
    /// The unit's name.
    pub name: String,
    /// `active`, `activating`, `deactivating`, `inactive`, `failed`, …
    pub active_state: String,
    /// e.g. `running`, `exited`, `auto-restart`, `dead`.
    pub sub_state: String,
    /// The main process id (0 when none runs).
    pub main_pid: u32,
    /// How the last run ended (`success`, `exit-code`, `signal`, …).
    pub result: String,
    /// The exit code or signal number of the last main process.
    pub exit_status: i32,
    /// How often systemd restarted it.
    pub restarts: u32,
}

impl UnitStatus {
    /// Whether its command is running now.
    pub fn is_running(&self) -> bool {
        self.active_state == "active" && self.main_pid != 0
    }
}

/// The unit of instance `instance` of `namespace/service`: its workload name (see
/// [`crate::delegates::naming`]) and `.service`.
pub fn unit_name(namespace: &str, service: &str, instance: &str) -> String {
    format!(
        "{}.service",
        crate::delegates::naming::workload_name(namespace, service, instance)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_hold_only_what_systemd_accepts() {
        assert_eq!(
            unit_name("default", "hello", "web-0"),
            "khutulun-default.hello.web-0.service"
        );
        assert_eq!(
            unit_name("ns", "team/shop", "api gateway@1"),
            "khutulun-ns.team_shop.api_gateway_1.service"
        );
    }
}
