//! `service logs` of a pod: each container's log in turn (an engine's client reads one
//! container at a time), each line after the container's name and a `|`.

use crate::delegates::protocol::LogSource;

/// The log command of containers `names`, read with `client` (the engine's command line up to
/// its `logs` subcommand, e.g. `podman --url 'unix:///run/podman/podman.sock'`).
pub fn pod_logs(client: &str, names: &[String]) -> LogSource {
    let each = |follow: &str, separator: &str| -> String {
        names
            .iter()
            .map(|name| format!("{client} logs {follow}\"$@\" {name} 2>&1 | sed 's/^/{name} | /'"))
            .collect::<Vec<_>>()
            .join(separator)
    };
    // The options the CLI adds come after `sh` (the script's $0) and reach each member's
    // `logs` as "$@".
    LogSource::Command {
        program: "sh".into(),
        arguments: vec!["-c".into(), each("", "; "), "sh".into()],
        follow_arguments: vec![
            "-c".into(),
            format!("{} & wait", each("--follow ", " & ")),
            "sh".into(),
        ],
        options_at: 3,
    }
}

/// `text` in single quotes for `sh`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
