//! The agent's side of the control channel: accepts connections on the Unix socket, checks the
//! token, and hands each request to a handler (the Host actor).
//!
//! Any local process of the agent's user can connect, and one that connects and sends nothing
//! must not cost the agent its file descriptors or its answers to the real CLI: a connection
//! has [`REQUEST_DEADLINE`] to send its request, at most [`MAX_WAITING`] connections wait for
//! theirs (a new one pushes the oldest out), and accept errors (such as running out of file
//! descriptors) pause the loop instead of spinning it, with one warning per second at most.

use std::collections::VecDeque;
use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::AbortHandle;

use super::paths::RuntimePaths;
use super::protocol::{Envelope, Failure, FailureKind, Reply, Request};
use super::token;
use crate::throttle::{Backoff, LogLimit};

/// The longest request line accepted (a deploy carries inputs, not templates).
const MAX_REQUEST: usize = 1 << 20;

/// How long a connection may take to send its whole request. The CLI sends it right after
/// connecting, so a few seconds is plenty; a client that sends nothing is dropped, and its file
/// descriptor with it.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);

/// How long a client may take to read its reply, so one that stops reading cannot hold its
/// connection for ever (the handling itself, e.g. a deploy, has no limit here).
const REPLY_DEADLINE: Duration = Duration::from_secs(10);

/// How many connections may wait for their request at once. A new connection beyond it drops
/// the one that has waited longest: a real client sends its request at once and is never the
/// oldest, so a flood of idle connections cannot lock it out, and the file descriptors the
/// flood costs stay bounded (far below the usual limit of 1024).
pub const MAX_WAITING: usize = 256;

/// The first pause after an accept error (e.g. EMFILE: out of file descriptors, which the
/// next accept would only report again).
const ACCEPT_BACKOFF_FIRST: Duration = Duration::from_millis(5);

/// The longest pause between accepts while they keep failing: the agent still notices within
/// a second when descriptors are free again.
const ACCEPT_BACKOFF_CEILING: Duration = Duration::from_secs(1);

/// At most one warning about failing accepts per this interval (each says how many were left
/// out), so a persistent error cannot fill the disk with log.
const ACCEPT_WARNING_INTERVAL: Duration = Duration::from_secs(1);

/// Binds the control socket in `paths` (replacing a stale one: the caller holds the agent lock)
/// with mode 0600.
pub fn bind(paths: &RuntimePaths) -> std::io::Result<UnixListener> {
    let socket = paths.socket();
    match std::fs::remove_file(&socket) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let listener = UnixListener::bind(&socket)?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves requests until the task is dropped; each connection carries one request.
pub async fn serve<H, F>(listener: UnixListener, expected_token: String, handler: H)
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let handler = Arc::new(handler);
    let expected_token: Arc<str> = expected_token.into();
    let mut waiting = Waiting::new(MAX_WAITING);
    let mut backoff = Backoff::new(ACCEPT_BACKOFF_FIRST, ACCEPT_BACKOFF_CEILING);
    let mut warnings = LogLimit::new(ACCEPT_WARNING_INTERVAL);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                backoff.succeeded();
                let task = tokio::spawn(receive(stream, expected_token.clone(), handler.clone()));
                waiting.admit(task.abort_handle());
            }
            Err(error) => {
                if let Some(suppressed) = warnings.allow(Instant::now()) {
                    tracing::warn!(%error, suppressed, "control socket accept failed; pausing");
                }
                tokio::time::sleep(backoff.failed()).await;
            }
        }
    }
}

/// The tasks of the connections that have not sent their request yet, oldest first.
struct Waiting {
    limit: usize,
    tasks: VecDeque<AbortHandle>,
}

impl Waiting {
    fn new(limit: usize) -> Waiting {
        Waiting {
            limit,
            tasks: VecDeque::new(),
        }
    }

    /// Adds a new connection's task; when `limit` connections wait already, the oldest is
    /// dropped (its task aborted, which closes its socket).
    fn admit(&mut self, task: AbortHandle) {
        self.tasks.retain(|waiting| !waiting.is_finished());
        if self.tasks.len() >= self.limit
            && let Some(oldest) = self.tasks.pop_front()
        {
            oldest.abort();
        }
        self.tasks.push_back(task);
    }
}

/// Reads the connection's request within [`REQUEST_DEADLINE`], then answers it from a task of
/// its own, which dropping waiting connections no longer reaches.
async fn receive<H, F>(stream: UnixStream, expected_token: Arc<str>, handler: Arc<H>)
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let (line, stream) = match tokio::time::timeout(REQUEST_DEADLINE, read_request(stream)).await {
        Ok(Ok(received)) => received,
        Ok(Err(error)) => {
            tracing::debug!(%error, "control connection ended before its request");
            return;
        }
        Err(_) => {
            tracing::debug!("control connection sent no request within {REQUEST_DEADLINE:?}");
            return;
        }
    };
    tokio::spawn(async move {
        let reply = reply_to(&line, &expected_token, &*handler).await;
        if let Err(error) = send_reply(stream, &reply).await {
            tracing::debug!(%error, "control connection ended before its reply");
        }
    });
}

/// The request line (up to [`MAX_REQUEST`] bytes), and the stream to answer on.
async fn read_request(mut stream: UnixStream) -> std::io::Result<(String, UnixStream)> {
    let mut line = String::new();
    BufReader::new(&mut stream)
        .take(MAX_REQUEST as u64)
        .read_line(&mut line)
        .await?;
    Ok((line, stream))
}

/// Checks the request's token and has `handler` answer it.
async fn reply_to<H, F>(line: &str, expected_token: &str, handler: &H) -> Reply
where
    H: Fn(Request) -> F,
    F: Future<Output = Reply>,
{
    match parse_request(line, expected_token) {
        Ok(request) => handler(request).await,
        Err(failure) => Err(failure),
    }
}

/// Reads one request line as the server does: the request when it parses and carries the
/// expected token, else the failure the client is sent. Pure, so it can be fuzzed on its own.
pub fn parse_request(line: &str, expected_token: &str) -> Result<Request, Failure> {
    match serde_json::from_str::<Envelope>(line) {
        Err(error) => Err(Failure {
            kind: FailureKind::BadRequest,
            message: format!("the request could not be read: {error}"),
        }),
        Ok(envelope) if !token::matches(expected_token, &envelope.token) => Err(Failure {
            kind: FailureKind::Unauthorized,
            message: "the request's token is wrong; only the agent's user may control it".into(),
        }),
        Ok(envelope) => Ok(envelope.request),
    }
}

/// Writes the reply line and closes, within [`REPLY_DEADLINE`].
async fn send_reply(mut stream: UnixStream, reply: &Reply) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    let sent = async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(REPLY_DEADLINE, sent)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::client::{Client, ClientError};
    use crate::control::protocol::Response;

    fn pong_server(paths: &RuntimePaths) -> tokio::task::JoinHandle<()> {
        let secret = token::generate().unwrap();
        token::write(&paths.token(), &secret).unwrap();
        let listener = bind(paths).unwrap();
        tokio::spawn(serve(listener, secret, |_request| async {
            Ok(Response::Pong {
                host: "alpha".into(),
                version: "test".into(),
            })
        }))
    }

    async fn ping(client: Client) -> Result<Response, ClientError> {
        tokio::task::spawn_blocking(move || client.request(Request::Ping))
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_right_token_is_served_and_a_wrong_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let paths = RuntimePaths::new(dir.path());
        let server = pong_server(&paths);
        let answer = ping(Client::connect(paths.clone()).unwrap()).await.unwrap();
        assert!(matches!(answer, Response::Pong { host, .. } if host == "alpha"));
        let answer = ping(Client::with_token(paths.clone(), "0".repeat(64))).await;
        assert!(
            matches!(&answer, Err(ClientError::Failed(f)) if f.kind == FailureKind::Unauthorized),
            "{answer:?}"
        );
        server.abort();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn idle_connections_beyond_the_limit_do_not_keep_a_request_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let paths = RuntimePaths::new(dir.path());
        let server = pong_server(&paths);
        let mut idle = Vec::new();
        for _ in 0..MAX_WAITING + 50 {
            idle.push(UnixStream::connect(paths.socket()).await.unwrap());
        }
        let client = Client::connect(paths.clone())
            .unwrap()
            .reply_timeout(Duration::from_secs(2));
        let started = Instant::now();
        let answer = ping(client).await;
        assert!(matches!(answer, Ok(Response::Pong { .. })), "{answer:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(idle);
        server.abort();
    }

    #[tokio::test]
    async fn a_new_connection_beyond_the_limit_drops_the_oldest_waiting_one() {
        let mut waiting = Waiting::new(2);
        let tasks: Vec<_> = (0..3)
            .map(|_| tokio::spawn(std::future::pending::<()>()))
            .collect();
        for task in &tasks {
            waiting.admit(task.abort_handle());
        }
        let mut tasks = tasks.into_iter();
        assert!(tasks.next().unwrap().await.unwrap_err().is_cancelled());
        for task in tasks {
            assert!(!task.is_finished());
            task.abort();
        }
    }
}
