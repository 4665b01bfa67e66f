//! `service exec NAME INSTANCE -- COMMAND…`: runs a command in an instance, on its host, the
//! way the instance itself runs: a process's command gets its environment and directory; a
//! container's or pod's runs inside it (`podman exec`), a system container's inside its
//! namespaces (`nsenter`). The command's input and output are the CLI's, and so is its exit
//! code. An instance on another host runs the command there: its input (when not a terminal)
//! is sent whole, and its output comes back when it ends (see `actors::host::exec`).

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::connect::{AgentAddress, unexpected};
use crate::control::ClientError;
use crate::control::protocol::{
    EXEC_CAP, ExecAsk, Executed, Failure, FailureKind, Request, Response,
};
use crate::delegates::protocol::{kept_environment, shell_code};

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
    let how = match response {
        Response::Exec { how } => how,
        Response::ExecElsewhere { host } => {
            let ask = ExecAsk {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                instance: instance.to_owned(),
                command: command.to_vec(),
                input: BASE64.encode(input_for(instance, &host)?),
            };
            return match agent.request(Request::ExecThere(ask))? {
                Response::Executed(executed) => show(executed),
                other => Err(failed(FailureKind::Internal, unexpected(other))),
            };
        }
        other => return Err(failed(FailureKind::Internal, unexpected(other))),
    };
    let kept = kept_environment();
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
    ExitCode::from(u8::try_from(shell_code(status)).unwrap_or(1))
}

/// The input of a command run on another host: the CLI's whole input, unless it is a
/// terminal (then none, and the user is told why the command gets no terminal).
fn input_for(instance: &str, host: &str) -> Result<Vec<u8>, ClientError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!(
            "instance {instance} runs on host {host}: the command runs there without a \
             terminal, and its output comes when it ends"
        );
        return Ok(Vec::new());
    }
    let mut input = Vec::new();
    let limit = EXEC_CAP as u64 + 1;
    stdin
        .lock()
        .take(limit)
        .read_to_end(&mut input)
        .map_err(|error| {
            failed(
                FailureKind::BadRequest,
                format!("could not read the input: {error}"),
            )
        })?;
    if input.len() > EXEC_CAP {
        return Err(failed(
            FailureKind::BadRequest,
            format!(
                "a command run on another host ({host}) takes at most {} KiB of input",
                EXEC_CAP / 1024
            ),
        ));
    }
    Ok(input)
}

/// Writes what a command run on another host printed, says what was left out, and gives
/// its exit code.
fn show(executed: Executed) -> Result<ExitCode, ClientError> {
    let decode = |text: &str| {
        BASE64
            .decode(text)
            .map_err(|error| failed(FailureKind::Internal, format!("unreadable output: {error}")))
    };
    let (stdout, stderr) = (decode(&executed.stdout)?, decode(&executed.stderr)?);
    // A closed pipe (`| head`) is not the command's failure.
    let _ = std::io::stdout().write_all(&stdout);
    let _ = std::io::stderr().write_all(&stderr);
    if executed.left_out > 0 {
        eprintln!(
            "({} bytes of output past the first {} KiB of each stream were left out on host {})",
            executed.left_out,
            EXEC_CAP / 1024,
            executed.host
        );
    }
    Ok(ExitCode::from(u8::try_from(executed.code).unwrap_or(1)))
}

fn failed(kind: FailureKind, message: String) -> ClientError {
    ClientError::Failed(Failure { kind, message })
}
