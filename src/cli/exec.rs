//! `service exec NAME INSTANCE -- COMMAND…`: runs a command in an instance, on its host, the
//! way the instance itself runs: a process's command gets its environment and directory; a
//! container's or pod's runs inside it (`podman exec`), a system container's inside its
//! namespaces (`nsenter`). The command's input and output are the CLI's, and so is its exit
//! code.

use std::io::IsTerminal;
use std::process::ExitCode;

use super::connect::{AgentAddress, unexpected};
use crate::control::ClientError;
use crate::control::protocol::{Failure, FailureKind, Request, Response};

/// What a command run beside a process keeps of the caller's environment (the process's own
/// environment has no `HOME`, which depends on who runs it).
const KEPT: [&str; 5] = ["HOME", "USER", "TERM", "LANG", "LOGNAME"];

/// Runs `command` in the instance; its exit code.
pub fn run(
    agent: &AgentAddress,
    namespace: &str,
    name: &str,
    instance: &str,
    command: &[String],
) -> Result<ExitCode, ClientError> {
    let response = agent.request(Request::Exec {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        instance: instance.to_owned(),
    })?;
    let Response::Exec { how } = response else {
        return Err(failed(FailureKind::Internal, unexpected(response)));
    };
    let kept: Vec<(&str, String)> = KEPT
        .iter()
        .filter_map(|name| std::env::var(name).ok().map(|value| (*name, value)))
        .collect();
    let mut options = vec!["--interactive".to_owned()];
    if std::io::stdin().is_terminal() {
        options.push("--tty".to_owned());
    }
    let Some(mut process) = how.command(command, &options, &kept) else {
        return Err(failed(
            FailureKind::BadRequest,
            format!("instance {instance} runs nothing a command can join (a port, a directory)"),
        ));
    };
    let status = process.status().map_err(|error| {
        failed(
            FailureKind::BadRequest,
            format!("could not run {}: {error}", command[0]),
        )
    })?;
    Ok(exit_code(status))
}

/// The exit code of the command, as a shell gives it (128 + the signal that killed it).
fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn failed(kind: FailureKind, message: String) -> ClientError {
    ClientError::Failed(Failure { kind, message })
}
