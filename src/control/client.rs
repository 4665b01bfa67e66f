//! The CLI's side of the control channel: a blocking client (the CLI does one request at a
//! time and needs no async runtime).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::paths::RuntimePaths;
use super::protocol::{Envelope, Failure, Reply, Request, Response};
use super::token;

/// Why the CLI could not get an answer from the agent.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nobody listens on the runtime directory's socket.
    #[error(
        "no Khutulun agent is running with runtime directory {runtime}; start one with `khutulun agent` (same --state and --runtime)"
    )]
    NotRunning {
        /// The runtime directory.
        runtime: PathBuf,
    },
    /// The token file cannot be read (another user's agent, or none).
    #[error("cannot read the agent's token {path}: {source} (is the agent run by another user?)")]
    Token {
        /// The token file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The agent did not accept the connection, or did not answer, in time (it is stuck,
    /// or overwhelmed).
    #[error("the agent did not {what} within {seconds} s")]
    Timeout {
        /// "accept the connection" or "answer".
        what: &'static str,
        /// The limit that passed.
        seconds: u64,
    },
    /// The connection broke.
    #[error("the connection to the agent failed: {0}")]
    Io(#[from] std::io::Error),
    /// The agent answered something that is not a reply.
    #[error("the agent's answer could not be read: {0}")]
    Protocol(String),
    /// The agent refused or failed the request.
    #[error("{}", .0.message)]
    Failed(Failure),
}

/// How long the agent may take to accept a connection. It accepts at once unless it is stuck
/// or flooded; a connection waits only while the socket's backlog is full.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the agent may take to answer a request. The slowest requests answer once their work
/// is recorded, not done (a deploy compiles its template and records the service; register
/// reads a CSAR), which takes seconds at most; this leaves a wide margin for a busy store.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// A connection to the local agent.
pub struct Client {
    paths: RuntimePaths,
    token: String,
    reply_timeout: Duration,
}

impl Client {
    /// Finds the agent of the runtime directory `paths` and reads its token.
    pub fn connect(paths: RuntimePaths) -> Result<Client, ClientError> {
        if !paths.socket().exists() {
            return Err(ClientError::NotRunning {
                runtime: paths.dir().to_owned(),
            });
        }
        let token = token::read(&paths.token()).map_err(|source| ClientError::Token {
            path: paths.token(),
            source,
        })?;
        Ok(Client::with_token(paths, token))
    }

    /// A client that sends `token` instead of the agent's (to test authentication).
    pub fn with_token(paths: RuntimePaths, token: String) -> Client {
        Client {
            paths,
            token,
            reply_timeout: REPLY_TIMEOUT,
        }
    }

    /// The same client waiting `limit` instead of [`REPLY_TIMEOUT`] for answers.
    pub fn reply_timeout(self, limit: Duration) -> Client {
        Client {
            reply_timeout: limit,
            ..self
        }
    }

    /// Sends one request and waits for its answer (up to the reply timeout).
    pub fn request(&self, request: Request) -> Result<Response, ClientError> {
        let mut stream = self.connect_stream()?;
        let envelope = Envelope {
            token: self.token.clone(),
            request,
        };
        let mut line =
            serde_json::to_vec(&envelope).map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push(b'\n');
        stream.set_write_timeout(Some(CONNECT_TIMEOUT))?;
        stream
            .write_all(&line)
            .map_err(|error| timed_out(error, "accept the request", CONNECT_TIMEOUT))?;
        stream.set_read_timeout(Some(self.reply_timeout))?;
        let mut answer = String::new();
        BufReader::new(stream)
            .read_line(&mut answer)
            .map_err(|error| timed_out(error, "answer", self.reply_timeout))?;
        if answer.is_empty() {
            return Err(ClientError::Protocol(
                "the agent closed the connection without answering".into(),
            ));
        }
        let reply: Reply =
            serde_json::from_str(&answer).map_err(|e| ClientError::Protocol(e.to_string()))?;
        reply.map_err(ClientError::Failed)
    }

    /// Connects to the agent's socket within [`CONNECT_TIMEOUT`].
    fn connect_stream(&self) -> Result<UnixStream, ClientError> {
        let connected =
            connect_within(&self.paths.socket(), CONNECT_TIMEOUT).ok_or(ClientError::Timeout {
                what: "accept the connection",
                seconds: CONNECT_TIMEOUT.as_secs(),
            })?;
        connected.map_err(|error| match error.kind() {
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound => {
                ClientError::NotRunning {
                    runtime: self.paths.dir().to_owned(),
                }
            }
            _ => ClientError::Io(error),
        })
    }
}

/// Connects to `socket`, or `None` when that takes longer than `limit`. A Unix socket's connect
/// blocks while the listener's backlog is full and has no timeout of its own, so it runs on a
/// thread of its own that is left behind (the CLI exits soon after) when it takes too long.
fn connect_within(socket: &Path, limit: Duration) -> Option<std::io::Result<UnixStream>> {
    let (send, receive) = std::sync::mpsc::channel();
    let socket = socket.to_owned();
    std::thread::spawn(move || {
        let _ = send.send(UnixStream::connect(socket));
    });
    receive.recv_timeout(limit).ok()
}

/// A read or write that timed out becomes [`ClientError::Timeout`]; other errors stay I/O ones.
fn timed_out(error: std::io::Error, what: &'static str, limit: Duration) -> ClientError {
    match error.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ClientError::Timeout {
            what,
            seconds: limit.as_secs(),
        },
        _ => ClientError::Io(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_that_does_not_answer_is_a_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let paths = RuntimePaths::new(dir.path());
        // Accepted by the kernel's backlog, never answered.
        let _listener = std::os::unix::net::UnixListener::bind(paths.socket()).unwrap();
        let client =
            Client::with_token(paths, "0".repeat(64)).reply_timeout(Duration::from_secs(1));
        let started = std::time::Instant::now();
        let answer = client.request(Request::Ping);
        assert!(
            matches!(
                answer,
                Err(ClientError::Timeout {
                    what: "answer",
                    seconds: 1
                })
            ),
            "{answer:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            answer.unwrap_err().to_string(),
            "the agent did not answer within 1 s"
        );
    }
}
