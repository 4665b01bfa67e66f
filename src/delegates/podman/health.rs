//! What a container's state, as Podman or Docker inspects it, means for its instance: running,
//! stopped, failed, or ended and about to be started again by the engine's restart policy.

use std::time::Duration;

use chrono::{DateTime, Utc};
use podman_api::opts::ContainerRestartPolicy;

use crate::delegates::protocol::InstanceHealth;

/// The parts of Podman's container state that decide the instance's health.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerState {
    /// Podman's status word: `created`, `running`, `exited`, `paused`…
    pub status: String,
    /// The exit code of its last run, once it ran.
    pub exit_code: Option<i32>,
    /// Whether Podman says it is being restarted.
    pub restarting: bool,
    /// The error Podman recorded for it, if any.
    pub error: Option<String>,
    /// When its last run ended, once one ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// How long after a container ended Podman has surely started it again when its policy says
/// so (it does at once, from the container's exit): an ended container older than this stays
/// ended (stopped by hand, or by a reboot).
pub const RESTART_GRACE: Duration = Duration::from_secs(10);

impl ContainerState {
    /// Reads the state from an inspection.
    pub fn of(inspected: &podman_api::models::InspectContainerState) -> ContainerState {
        ContainerState {
            status: inspected.status.clone().unwrap_or_default(),
            exit_code: inspected.exit_code,
            restarting: inspected.restarting.unwrap_or(false),
            error: inspected.error.clone().filter(|e| !e.is_empty()),
            // Podman says 0001-01-01 for "never".
            finished_at: inspected.finished_at.filter(|at| at.timestamp() > 0),
        }
    }

    /// Whether the container runs.
    pub fn is_running(&self) -> bool {
        self.status == "running"
    }

    /// Whether it ran and ended (rather than never started).
    pub fn has_ended(&self) -> bool {
        matches!(self.status.as_str(), "exited" | "stopped")
    }
}

/// Whether Podman starts a container that ended with `exit_code` again under `policy`.
pub fn restarts_after(policy: ContainerRestartPolicy, exit_code: i32) -> bool {
    match policy {
        ContainerRestartPolicy::Always | ContainerRestartPolicy::UnlessStopped => true,
        ContainerRestartPolicy::OnFailure => exit_code != 0,
        ContainerRestartPolicy::No => false,
    }
}

/// The instance's health from its container's state and restart policy, at `now`; `engine`
/// ("Podman", "Docker") is who restarts it, for the messages.
pub fn health(
    engine: &str,
    name: &str,
    state: &ContainerState,
    policy: ContainerRestartPolicy,
    now: DateTime<Utc>,
) -> InstanceHealth {
    let code = state.exit_code.unwrap_or(0);
    let restarting_soon = restarts_after(policy, code)
        && state.finished_at.is_none_or(|at| {
            at > now
                || now
                    .signed_duration_since(at)
                    .to_std()
                    .is_ok_and(|ago| ago <= RESTART_GRACE)
        });
    let ended = || match (code, &state.error) {
        (_, Some(error)) => format!("container {name} ended with status {code} ({error})"),
        (0, None) => format!("container {name} exited"),
        (137, None) => format!("container {name} was killed (status 137)"),
        (_, None) => format!("container {name} exited with status {code}"),
    };
    match state.status.as_str() {
        "running" => InstanceHealth::Running,
        _ if state.restarting => InstanceHealth::Restarting {
            reason: format!("{}; {engine} starts it again", ended()),
        },
        "exited" | "stopped" if restarting_soon => InstanceHealth::Restarting {
            reason: format!(
                "{}; {engine} starts it again per its restart policy",
                ended()
            ),
        },
        "exited" | "stopped" if restarts_after(policy, code) => InstanceHealth::Failed {
            reason: format!(
                "{} and {engine} did not start it again (was it stopped by hand?)",
                ended()
            ),
        },
        "exited" | "stopped" if code == 0 && state.error.is_none() => InstanceHealth::Stopped,
        "exited" | "stopped" => InstanceHealth::Failed { reason: ended() },
        "created" | "configured" | "initialized" | "stopping" => InstanceHealth::Stopped,
        "removing" => InstanceHealth::Missing,
        other => InstanceHealth::Failed {
            reason: format!("container {name} is {other}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: &str, exit_code: i32) -> ContainerState {
        ContainerState {
            status: status.into(),
            exit_code: Some(exit_code),
            ..ContainerState::default()
        }
    }

    #[test]
    fn states_and_policies_decide_the_health() {
        use ContainerRestartPolicy::*;
        let now = Utc::now();
        let health =
            |name: &str, state: &ContainerState, policy| health("Podman", name, state, policy, now);
        assert_eq!(
            health("c", &state("running", 0), No),
            InstanceHealth::Running
        );
        assert_eq!(
            health("c", &state("created", 0), OnFailure),
            InstanceHealth::Stopped
        );
        assert_eq!(
            health("c", &state("exited", 0), OnFailure),
            InstanceHealth::Stopped
        );
        assert!(matches!(
            health("c", &state("exited", 137), OnFailure),
            InstanceHealth::Restarting { reason } if reason.contains("killed")
        ));
        assert!(matches!(
            health("c", &state("exited", 0), Always),
            InstanceHealth::Restarting { .. }
        ));
        assert!(matches!(
            health("c", &state("exited", 3), No),
            InstanceHealth::Failed { reason } if reason == "container c exited with status 3"
        ));
        assert!(matches!(
            health("c", &state("paused", 0), No),
            InstanceHealth::Failed { reason } if reason == "container c is paused"
        ));
        let mut broken = state("exited", 0);
        broken.error = Some("runc: exec failed".into());
        assert!(matches!(
            health("c", &broken, No),
            InstanceHealth::Failed { reason } if reason.contains("runc: exec failed")
        ));
    }

    #[test]
    fn an_ended_container_podman_left_ended_is_not_restarting() {
        let now = Utc::now();
        let mut just_killed = state("exited", 137);
        just_killed.finished_at = Some(now - chrono::Duration::seconds(1));
        assert!(matches!(
            health(
                "Podman",
                "c",
                &just_killed,
                ContainerRestartPolicy::OnFailure,
                now
            ),
            InstanceHealth::Restarting { .. }
        ));
        let mut long_ago = state("exited", 137);
        long_ago.finished_at = Some(now - chrono::Duration::seconds(60));
        assert!(matches!(
            health("Podman", "c", &long_ago, ContainerRestartPolicy::OnFailure, now),
            InstanceHealth::Failed { reason } if reason.contains("did not start it again")
        ));
    }
}
