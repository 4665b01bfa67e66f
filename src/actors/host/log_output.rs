//! `service logs` across hosts: the owning host turns where its instances write into the end
//! of what they wrote (the asker cannot read another host's files or run its engine), and the
//! asking host merges every host's answer into one.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use crate::actors::RuntimeError;
use crate::actors::peer::OUTPUT_CAP;
use crate::control::protocol::{LogCommand, LogOutput, Response};

/// How long a log command (`podman logs`, `journalctl`) may take.
const COMMAND_PATIENCE: Duration = Duration::from_secs(10);

/// The output of the instances `found` names (their files read, their commands run), for a
/// host that cannot reach them; an instance whose output cannot be had says why instead.
pub async fn capture(found: Response) -> Response {
    let Response::Logs { logs, commands, .. } = found else {
        return found;
    };
    let host = String::new();
    let mut output = Vec::new();
    for log in logs {
        let path = log.path.clone();
        let text = tokio::task::spawn_blocking(move || read_end(&path))
            .await
            .unwrap_or_else(|e| format!("(reading the output crashed: {e})\n"));
        output.push(LogOutput {
            instance: log.instance,
            host: host.clone(),
            text,
        });
    }
    for command in commands {
        output.push(LogOutput {
            text: run(&command).await,
            instance: command.instance,
            host: host.clone(),
        });
    }
    Response::Logs {
        logs: Vec::new(),
        commands: Vec::new(),
        output,
        missing: Vec::new(),
    }
}

/// The last [`OUTPUT_CAP`] bytes of a file, from a line's start.
fn read_end(path: &Path) -> String {
    let read = || -> std::io::Result<Vec<u8>> {
        let mut file = std::fs::File::open(path)?;
        let length = file.metadata()?.len();
        file.seek(SeekFrom::Start(length.saturating_sub(OUTPUT_CAP as u64)))?;
        let mut bytes = Vec::new();
        file.take(OUTPUT_CAP as u64).read_to_end(&mut bytes)?;
        if length > OUTPUT_CAP as u64
            && let Some(start) = bytes.iter().position(|b| *b == b'\n')
        {
            bytes.drain(..=start);
        }
        Ok(bytes)
    };
    match read() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) => format!("(could not read {}: {error})\n", path.display()),
    }
}

/// What a log command prints, its end within [`OUTPUT_CAP`].
async fn run(command: &LogCommand) -> String {
    let mut process = tokio::process::Command::new(&command.program);
    process
        .args(&command.arguments)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let shown = format!("`{} {}`", command.program, command.arguments.join(" "));
    match tokio::time::timeout(COMMAND_PATIENCE, process.output()).await {
        Ok(Ok(done)) => {
            let mut text = String::from_utf8_lossy(&done.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&done.stderr));
            let cut = text.len().saturating_sub(OUTPUT_CAP);
            let cut = (cut..=text.len())
                .find(|at| text.is_char_boundary(*at))
                .unwrap_or(0);
            text.split_off(cut)
        }
        Ok(Err(error)) => format!("(could not run {shown}: {error})\n"),
        Err(_) => format!("({shown} took over {} s)\n", COMMAND_PATIENCE.as_secs()),
    }
}

/// `answer` with `host`'s part added: its output, or why it is missing.
pub fn merge(
    answer: Result<Response, RuntimeError>,
    host: &str,
    part: Result<Response, RuntimeError>,
) -> Result<Response, RuntimeError> {
    let Ok(Response::Logs {
        logs,
        commands,
        mut output,
        mut missing,
    }) = answer
    else {
        return answer;
    };
    match part {
        Ok(Response::Logs { output: theirs, .. }) => {
            output.extend(theirs.into_iter().map(|log| LogOutput {
                host: host.to_owned(),
                ..log
            }));
        }
        Ok(_) => missing.push(format!("host {host} answered with something else")),
        Err(error) => missing.push(error.to_string()),
    }
    Ok(Response::Logs {
        logs,
        commands,
        output,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(output: Vec<LogOutput>, missing: Vec<String>) -> Response {
        Response::Logs {
            logs: Vec::new(),
            commands: Vec::new(),
            output,
            missing,
        }
    }

    #[test]
    fn another_host_s_output_is_named_after_it_and_a_silent_host_is_named_as_missing() {
        let theirs = LogOutput {
            instance: "web-1".into(),
            host: String::new(),
            text: "hello\n".into(),
        };
        let merged = merge(
            Ok(logs(vec![], vec![])),
            "b",
            Ok(logs(vec![theirs], vec![])),
        );
        let silent = RuntimeError::HostUnreachable {
            host: "c".into(),
            reason: "no session with it".into(),
        };
        let Ok(Response::Logs {
            output, missing, ..
        }) = merge(merged, "c", Err(silent))
        else {
            panic!("the answer stays logs");
        };
        assert_eq!(output[0].host, "b");
        assert_eq!(output[0].text, "hello\n");
        assert_eq!(
            missing,
            vec!["host c did not answer: no session with it".to_owned()]
        );
    }

    #[test]
    fn only_the_end_of_a_long_file_is_sent_from_a_line_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let line = "x".repeat(99) + "\n";
        std::fs::write(&path, line.repeat(3 * OUTPUT_CAP / 100)).unwrap();
        let end = read_end(&path);
        assert!(end.len() <= OUTPUT_CAP && end.len() > OUTPUT_CAP - 100);
        assert!(end.starts_with('x') && end.ends_with('\n'));
        assert!(read_end(&dir.path().join("none")).starts_with("(could not read"));
    }
}
