//! The CLI's side of the control channel: a blocking client (the CLI does one request at a
//! time and needs no async runtime).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

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

/// A connection to the local agent.
pub struct Client {
    paths: RuntimePaths,
    token: String,
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
        Ok(Client { paths, token })
    }

    /// A client that sends `token` instead of the agent's (to test authentication).
    pub fn with_token(paths: RuntimePaths, token: String) -> Client {
        Client { paths, token }
    }

    /// Sends one request and waits for its answer.
    pub fn request(&self, request: Request) -> Result<Response, ClientError> {
        let mut stream =
            UnixStream::connect(self.paths.socket()).map_err(|error| match error.kind() {
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound => {
                    ClientError::NotRunning {
                        runtime: self.paths.dir().to_owned(),
                    }
                }
                _ => ClientError::Io(error),
            })?;
        let envelope = Envelope {
            token: self.token.clone(),
            request,
        };
        let mut line =
            serde_json::to_vec(&envelope).map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push(b'\n');
        stream.write_all(&line)?;
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer)?;
        if answer.is_empty() {
            return Err(ClientError::Protocol(
                "the agent closed the connection without answering".into(),
            ));
        }
        let reply: Reply =
            serde_json::from_str(&answer).map_err(|e| ClientError::Protocol(e.to_string()))?;
        reply.map_err(ClientError::Failed)
    }
}
