//! `service events`: every instance's last changes of state (the store keeps 20 per instance),
//! oldest first; with `--follow`, the ones that come after too. Also the ages `service status`
//! shows.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::connect::{AgentAddress, unexpected};
use super::output::{Format, print_document, print_table, write_out};
use crate::control::ClientError;
use crate::control::protocol::{
    Failure, FailureKind, Request, Response, ServiceEvent, state_label,
};

/// How often `--follow` asks again.
const FOLLOW_PERIOD: Duration = Duration::from_secs(1);

/// Prints the service's events, then (with `follow`) the new ones as they come, until the
/// service is gone.
pub fn run(
    agent: &AgentAddress,
    namespace: &str,
    name: &str,
    follow: bool,
    format: Format,
) -> Result<ExitCode, ClientError> {
    let first = events(agent, namespace, name)?;
    if !follow {
        return print(&first, format).map(|()| ExitCode::SUCCESS);
    }
    let mut seen: HashSet<ServiceEvent> = HashSet::new();
    let mut next = first;
    loop {
        for event in next {
            if !seen.contains(&event) {
                print_line(&event, format)?;
                seen.insert(event);
            }
        }
        std::thread::sleep(FOLLOW_PERIOD);
        next = match events(agent, namespace, name) {
            Ok(events) => events,
            Err(ClientError::Failed(Failure {
                kind: FailureKind::NotFound,
                ..
            })) => {
                eprintln!("service {name} is gone");
                return Ok(ExitCode::SUCCESS);
            }
            Err(error) => return Err(error),
        };
    }
}

fn events(
    agent: &AgentAddress,
    namespace: &str,
    name: &str,
) -> Result<Vec<ServiceEvent>, ClientError> {
    let response = agent.request(Request::Events {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    })?;
    match response {
        Response::Events { events } => Ok(events),
        other => Err(failed(unexpected(other))),
    }
}

fn print(events: &[ServiceEvent], format: Format) -> Result<(), ClientError> {
    if format != Format::Table {
        return print_document(format, &events).map_err(failed);
    }
    let rows: Vec<Vec<String>> = events.iter().map(row).collect();
    print_table(&["TIME", "INSTANCE", "HOST", "STATE", "WHY"], &rows);
    Ok(())
}

/// One event as it comes, while following: a line of text, or a JSON document on one line.
fn print_line(event: &ServiceEvent, format: Format) -> Result<(), ClientError> {
    match format {
        Format::Table => write_out(&(row(event).join("  ") + "\n")),
        _ => {
            let line = serde_json::to_string(event).map_err(|e| failed(e.to_string()))?;
            write_out(&(line + "\n"));
        }
    }
    Ok(())
}

fn row(event: &ServiceEvent) -> Vec<String> {
    vec![
        event.at.clone(),
        event.instance.clone(),
        event.host.clone(),
        state_label(event.state, event.health),
        event.message.clone().unwrap_or_default(),
    ]
}

/// How long ago `since` (RFC 3339) was, shortly: `42s`, `5m`, `3h`, `2d` (`?` if unreadable).
pub fn age(since: &str, now: DateTime<Utc>) -> String {
    let Ok(since) = DateTime::parse_from_rfc3339(since) else {
        return "?".into();
    };
    let seconds = (now - since.with_timezone(&Utc)).num_seconds().max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn failed(message: String) -> ClientError {
    ClientError::Failed(Failure {
        kind: FailureKind::Internal,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short_and_never_negative() {
        let now = DateTime::parse_from_rfc3339("2026-12-06T10:00:00.000Z")
            .unwrap()
            .with_timezone(&Utc);
        let cases = [
            ("2026-12-06T09:59:18.000Z", "42s"),
            ("2026-12-06T09:55:00.000Z", "5m"),
            ("2026-12-06T07:00:00.000Z", "3h"),
            ("2026-12-04T10:00:00.000Z", "2d"),
            ("2026-12-06T10:00:05.000Z", "0s"),
            ("yesterday", "?"),
        ];
        for (since, expected) in cases {
            assert_eq!(age(since, now), expected, "{since}");
        }
    }
}
