//! The agent's side of the control channel: accepts connections on the Unix socket, checks the
//! token, and hands each request to a handler (the Host actor).

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use super::paths::RuntimePaths;
use super::protocol::{Envelope, Failure, FailureKind, Reply, Request};
use super::token;

/// The longest request line accepted (a deploy carries inputs, not templates).
const MAX_REQUEST: usize = 1 << 20;

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

/// Serves requests until the listener fails; each connection carries one request.
pub async fn serve<H, F>(listener: UnixListener, expected_token: String, handler: H)
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let handler = Arc::new(handler);
    let expected_token = Arc::new(expected_token);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "control socket accept failed");
                continue;
            }
        };
        let handler = handler.clone();
        let expected_token = expected_token.clone();
        tokio::spawn(async move {
            if let Err(error) = answer(stream, &expected_token, &*handler).await {
                tracing::debug!(%error, "control connection ended");
            }
        });
    }
}

async fn answer<H, F>(stream: UnixStream, expected_token: &str, handler: &H) -> std::io::Result<()>
where
    H: Fn(Request) -> F,
    F: Future<Output = Reply>,
{
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read).take(MAX_REQUEST as u64);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let reply: Reply = match serde_json::from_str::<Envelope>(&line) {
        Err(error) => Err(Failure {
            kind: FailureKind::BadRequest,
            message: format!("the request could not be read: {error}"),
        }),
        Ok(envelope) if !token::matches(expected_token, &envelope.token) => Err(Failure {
            kind: FailureKind::Unauthorized,
            message: "the request's token is wrong; only the agent's user may control it".into(),
        }),
        Ok(envelope) => handler(envelope.request).await,
    };
    let mut bytes = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await?;
    write.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::client::{Client, ClientError};
    use crate::control::protocol::Response;

    #[tokio::test(flavor = "multi_thread")]
    async fn the_right_token_is_served_and_a_wrong_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let paths = RuntimePaths::new(dir.path());
        let secret = token::generate().unwrap();
        token::write(&paths.token(), &secret).unwrap();
        let listener = bind(&paths).unwrap();
        let server = tokio::spawn(serve(listener, secret, |_request| async {
            Ok(Response::Pong {
                host: "alpha".into(),
                version: "test".into(),
            })
        }));
        let good = paths.clone();
        let answer = tokio::task::spawn_blocking(move || {
            Client::connect(good).unwrap().request(Request::Ping)
        })
        .await
        .unwrap()
        .unwrap();
        assert!(matches!(answer, Response::Pong { host, .. } if host == "alpha"));
        let bad = paths.clone();
        let answer = tokio::task::spawn_blocking(move || {
            Client::with_token(bad, "0".repeat(64)).request(Request::Ping)
        })
        .await
        .unwrap();
        assert!(
            matches!(&answer, Err(ClientError::Failed(f)) if f.kind == FailureKind::Unauthorized),
            "{answer:?}"
        );
        server.abort();
    }
}
