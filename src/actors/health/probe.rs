//! One try of one health check, within its timeout: an HTTP GET (the answer's status), a TCP
//! connection, or a command run where the workload runs (its exit code).

use std::process::Stdio;
use std::time::Duration;

use crate::delegates::profile::HealthCheck;
use crate::delegates::protocol::ExecSource;

/// What one check tries, resolved from its definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// GET this URL; accept these statuses (none listed: any 2xx or 3xx).
    Http {
        /// The URL.
        url: String,
        /// The accepted statuses.
        statuses: Vec<u16>,
    },
    /// Open a TCP connection to this `address:port`.
    Tcp(String),
    /// Run this command (program first) where the workload runs.
    Command(Vec<String>),
}

impl Probe {
    /// What `check` tries; why not, when it names none or several (the profile's validation
    /// refuses those in templates, but a value computed at run time is only checked here).
    pub fn of(check: &HealthCheck) -> Result<Probe, String> {
        let command = check.command.as_ref().filter(|c| !c.is_empty());
        match (&check.http, &check.tcp, command) {
            (Some(url), None, None) => Ok(Probe::Http {
                url: url.clone(),
                statuses: check.status.clone(),
            }),
            (None, Some(authority), None) => Ok(Probe::Tcp(authority.clone())),
            (None, None, Some(command)) => Ok(Probe::Command(command.clone())),
            _ => Err("a health check needs exactly one of http, tcp and command".into()),
        }
    }
}

/// Tries `probe` once, giving up after `timeout`; why it failed, if it did. `exec` says how a
/// command runs in the instance.
pub async fn try_once(probe: Probe, timeout: Duration, exec: ExecSource) -> Result<(), String> {
    let tried = async {
        match probe {
            Probe::Http { url, statuses } => http(url, statuses, timeout).await,
            Probe::Tcp(authority) => tokio::net::TcpStream::connect(&authority)
                .await
                .map(drop)
                .map_err(|error| format!("could not connect to {authority}: {error}")),
            Probe::Command(command) => run(command, exec).await,
        }
    };
    tokio::time::timeout(timeout, tried)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
}

async fn http(url: String, statuses: Vec<u16>, timeout: Duration) -> Result<(), String> {
    let got = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        agent
            .get(&url)
            .call()
            .map(|answer| answer.status().as_u16())
    });
    let status = got
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error| format!("GET failed: {error}"))?;
    let accepted = match statuses.is_empty() {
        true => (200..400).contains(&status),
        false => statuses.contains(&status),
    };
    accepted
        .then_some(())
        .ok_or_else(|| format!("GET answered {status}"))
}

async fn run(command: Vec<String>, exec: ExecSource) -> Result<(), String> {
    let Some(process) = exec.command(&command, &[], &[]) else {
        return Err("the instance runs nothing a command can run in".into());
    };
    let mut process = tokio::process::Command::from(process);
    process
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let status = process
        .status()
        .await
        .map_err(|error| format!("could not run {}: {error}", command[0]))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("{} exited with {status}", command[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(fields: serde_json::Value) -> HealthCheck {
        serde_json::from_value(fields).unwrap()
    }

    #[test]
    fn a_check_names_exactly_one_probe() {
        let cases = [
            (
                serde_json::json!({ "http": "http://127.0.0.1:1/", "status": [204] }),
                Ok(Probe::Http {
                    url: "http://127.0.0.1:1/".into(),
                    statuses: vec![204],
                }),
            ),
            (
                serde_json::json!({ "tcp": "127.0.0.1:1" }),
                Ok(Probe::Tcp("127.0.0.1:1".into())),
            ),
            (
                serde_json::json!({ "command": ["true"] }),
                Ok(Probe::Command(vec!["true".into()])),
            ),
            (serde_json::json!({}), Err(())),
            (serde_json::json!({ "command": [] }), Err(())),
            (
                serde_json::json!({ "tcp": "127.0.0.1:1", "command": ["true"] }),
                Err(()),
            ),
        ];
        for (fields, expected) in cases {
            let probe = Probe::of(&check(fields.clone())).map_err(|_| ());
            assert_eq!(probe, expected, "{fields}");
        }
    }

    fn beside() -> ExecSource {
        ExecSource::Beside {
            environment: [
                ("ANSWER".to_owned(), "42".to_owned()),
                ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
            ]
            .into(),
            directory: std::env::temp_dir(),
        }
    }

    #[tokio::test]
    async fn tries_tell_success_from_failure() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap().to_string();
        let second = Duration::from_secs(5);
        assert_eq!(
            try_once(Probe::Tcp(open), second, ExecSource::None).await,
            Ok(())
        );
        drop(listener);
        let closed = Probe::Tcp("127.0.0.1:1".into());
        assert!(try_once(closed, second, ExecSource::None).await.is_err());
        let sh = |script: &str| Probe::Command(vec!["sh".into(), "-c".into(), script.into()]);
        assert_eq!(
            try_once(sh("test \"$ANSWER\" = 42"), second, beside()).await,
            Ok(())
        );
        let failed = try_once(sh("exit 3"), second, beside()).await.unwrap_err();
        assert!(failed.contains("exit status: 3"), "{failed}");
        let slow = try_once(sh("sleep 10"), Duration::from_millis(200), beside()).await;
        assert!(slow.unwrap_err().contains("no answer within"));
    }
}
