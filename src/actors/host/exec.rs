//! `service exec`: how a command runs in an instance here (the CLI runs it itself, with its
//! terminal), and a command run in an instance on another host: asked of that host, which runs
//! it with the input sent and sends back its output and exit code once it ends (no terminal
//! crosses hosts).

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ractor::ActorRef;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::actors::RuntimeError;
use crate::actors::peer::{self, Part};
use crate::actors::service::ServiceMsg;
use crate::control::protocol::{EXEC_CAP, ExecAsk, Executed, Response};
use crate::delegates::protocol::{ExecSource, kept_environment, shell_code};

use super::messages::Answer;
use super::{HostState, LOGS_DEADLINE, answer_with};

/// How long a command run for another host may take: less than that host's deadline for an
/// asked part, so the asker hears why rather than a timeout.
pub const EXEC_DEADLINE: Duration = Duration::from_secs(90);

impl HostState {
    /// How a command runs in `instance` when it runs here; else which host runs it.
    pub(super) fn exec(&self, namespace: &str, name: &str, instance: String, reply: Answer) {
        let (local, others) = match self.owners(namespace, name, Some(&instance)) {
            Ok(owners) => owners,
            Err(error) => return answer_with(reply, Err(error)),
        };
        let Some(actor) = local else {
            let host = others.into_iter().next().unwrap_or_default();
            return answer_with(reply, Ok(Response::ExecElsewhere { host }));
        };
        tokio::spawn(async move {
            let how = exec_source(&actor, instance).await;
            answer_with(reply, how.map(|how| Response::Exec { how }));
        });
    }

    /// Runs `ask`'s command in its instance on the host that runs it (this one included).
    pub(super) fn exec_there(&self, ask: ExecAsk, reply: Answer) {
        let (local, others) = match self.owners(&ask.namespace, &ask.name, Some(&ask.instance)) {
            Ok(owners) => owners,
            Err(error) => return answer_with(reply, Err(error)),
        };
        let me = self.context.host.clone();
        tokio::spawn(async move {
            let answer = match (local, others.first()) {
                (Some(actor), _) => run_in(&actor, me, ask).await,
                (None, Some(host)) => peer::ask(host, &Part::Exec(ask)).await,
                (None, None) => Err(RuntimeError::NotFound(format!(
                    "instance {} has no host",
                    ask.instance
                ))),
            };
            answer_with(reply, answer);
        });
    }
}

/// How a command runs in `instance`, asked of its Service actor (`actor`, here).
async fn exec_source(
    actor: &ActorRef<ServiceMsg>,
    instance: String,
) -> Result<ExecSource, RuntimeError> {
    let asked = actor
        .call(
            |reply| ServiceMsg::Exec { instance, reply },
            Some(LOGS_DEADLINE),
        )
        .await;
    match asked {
        Ok(ractor::rpc::CallResult::Success(how)) => how,
        Ok(ractor::rpc::CallResult::Timeout) => Err(RuntimeError::Invalid(
            "the service did not answer in time (it is busy with a long step); try again".into(),
        )),
        _ => Err(RuntimeError::Unreachable("service actor")),
    }
}

/// Runs `ask`'s command in its instance, whose Service actor here is `actor`, on host `me`:
/// with the input sent, its outputs kept up to [`EXEC_CAP`] each, stopped after
/// [`EXEC_DEADLINE`].
pub(super) async fn run_in(
    actor: &ActorRef<ServiceMsg>,
    me: String,
    ask: ExecAsk,
) -> Result<Response, RuntimeError> {
    let invalid = |why: String| Err(RuntimeError::Invalid(why));
    let Some(program) = ask.command.first().cloned() else {
        return invalid("no command to run".into());
    };
    let input = match BASE64.decode(ask.input.as_bytes()) {
        Ok(input) if input.len() <= EXEC_CAP => input,
        Ok(input) => return invalid(format!("an input of {} bytes is too long", input.len())),
        Err(error) => return invalid(format!("the input is not base64: {error}")),
    };
    let how = exec_source(actor, ask.instance.clone()).await?;
    let kept = kept_environment();
    let Some(command) = how.command(&ask.command, &["--interactive".to_owned()], &kept) else {
        return invalid(format!(
            "instance {} runs nothing a command can join (a port, a directory)",
            ask.instance
        ));
    };
    let mut command = tokio::process::Command::from(command);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => return invalid(format!("could not run {program}: {error}")),
    };
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let run = async {
        let feed = async {
            if let Some(mut stdin) = stdin {
                // A command that does not read its input closes it: not an error.
                let _ = stdin.write_all(&input).await;
            }
        };
        let ((), (out, out_left), (err, err_left)) =
            tokio::join!(feed, capped(stdout), capped(stderr));
        let status = child.wait().await;
        (status, out, err, out_left + err_left)
    };
    match tokio::time::timeout(EXEC_DEADLINE, run).await {
        Err(_) => invalid(format!(
            "{program} did not end within {} s on host {me}; it was stopped",
            EXEC_DEADLINE.as_secs()
        )),
        Ok((Err(error), ..)) => invalid(format!("could not wait for {program}: {error}")),
        Ok((Ok(status), stdout, stderr, left_out)) => Ok(Response::Executed(Executed {
            host: me,
            code: shell_code(status),
            stdout: BASE64.encode(stdout),
            stderr: BASE64.encode(stderr),
            left_out,
        })),
    }
}

/// Everything `from` gives until it ends: the first [`EXEC_CAP`] bytes, and how many came
/// after them.
async fn capped(from: Option<impl AsyncRead + Unpin>) -> (Vec<u8>, u64) {
    let (mut kept, mut left_out) = (Vec::new(), 0u64);
    let Some(mut from) = from else {
        return (kept, left_out);
    };
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(read) = from.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        let room = EXEC_CAP.saturating_sub(kept.len()).min(read);
        kept.extend_from_slice(&buffer[..room]);
        left_out += (read - room) as u64;
    }
    (kept, left_out)
}
