//! Where Podman's API answers and how to reach it: the socket (`$CONTAINER_HOST`, else the
//! rootful socket for root, else the user's socket), a client of it that checks the socket
//! answers before every operation, and Podman's errors as the delegates' one-sentence errors.

use std::path::PathBuf;

use podman_api::Podman;

use crate::delegates::protocol::DelegateError;

/// The rootful API socket, where `podman.socket` (or `podman system service`) listens for root.
pub const ROOTFUL_SOCKET: &str = "/run/podman/podman.sock";

/// Podman's API socket, as a `unix://` URI and a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodmanSocket {
    path: PathBuf,
    /// Whether it is the socket systemd's system `podman.socket` provides.
    rootful_default: bool,
    /// Whether it is the socket systemd's user `podman.socket` provides.
    user_default: bool,
}

impl PodmanSocket {
    /// The socket named by `uri` (`unix:///path` or a plain absolute path).
    pub fn at(uri: &str) -> Result<PodmanSocket, DelegateError> {
        let path = match uri.strip_prefix("unix://") {
            Some(path) => path,
            None if uri.starts_with('/') => uri,
            None => {
                return Err(DelegateError::Unavailable(format!(
                    "the Podman API at {uri:?} is not a unix:// socket, the only kind the podman delegate talks to"
                )));
            }
        };
        Ok(PodmanSocket {
            rootful_default: path == ROOTFUL_SOCKET,
            user_default: false,
            path: PathBuf::from(path),
        })
    }

    /// The socket this agent should use: `$CONTAINER_HOST` when set, else the rootful socket
    /// when running as root, else `$XDG_RUNTIME_DIR/podman/podman.sock`.
    pub fn from_environment() -> Result<PodmanSocket, DelegateError> {
        PodmanSocket::choose(
            std::env::var("CONTAINER_HOST").ok().as_deref(),
            nix::unistd::geteuid().is_root(),
            std::env::var("XDG_RUNTIME_DIR").ok().as_deref(),
        )
    }

    /// The rule of [`PodmanSocket::from_environment`], from the values it reads.
    fn choose(
        container_host: Option<&str>,
        root: bool,
        runtime_dir: Option<&str>,
    ) -> Result<PodmanSocket, DelegateError> {
        if let Some(uri) = container_host.filter(|uri| !uri.is_empty()) {
            return PodmanSocket::at(uri);
        }
        if root {
            return PodmanSocket::at(ROOTFUL_SOCKET);
        }
        let runtime = runtime_dir.filter(|dir| !dir.is_empty()).ok_or_else(|| {
            DelegateError::Unavailable(
                "neither CONTAINER_HOST nor XDG_RUNTIME_DIR is set, so the podman delegate does not know where Podman's API socket is".into(),
            )
        })?;
        Ok(PodmanSocket {
            path: PathBuf::from(runtime).join("podman/podman.sock"),
            rootful_default: false,
            user_default: true,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// `unix:///path`, as Podman's `--url` and `CONTAINER_HOST` take it.
    pub fn uri(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// How a person makes this socket answer, in one clause.
    pub fn how_to_start(&self) -> String {
        let service = format!("`podman system service --time=0 {}`", self.uri());
        let agent = "or run the agent with --start-podman";
        if self.rootful_default {
            format!("start it with {service} or `systemctl enable --now podman.socket`, {agent}")
        } else if self.user_default {
            format!(
                "start it with {service} or `systemctl --user enable --now podman.socket`, {agent}"
            )
        } else {
            format!("start it with {service}, {agent}")
        }
    }
}

/// A client of one Podman API socket.
#[derive(Clone, Debug)]
pub struct Connection {
    socket: PodmanSocket,
    podman: Podman,
}

impl Connection {
    /// A client of `socket` (nothing is sent until it is used).
    pub fn new(socket: PodmanSocket) -> Connection {
        let podman = Podman::unix(&socket.path);
        Connection { socket, podman }
    }

    /// The socket it talks to.
    pub fn socket(&self) -> &PodmanSocket {
        &self.socket
    }

    /// The client, once the socket has answered a ping; otherwise an error that says how to
    /// start the API service.
    pub async fn check(&self) -> Result<&Podman, DelegateError> {
        match self.podman.ping().await {
            Ok(_) => Ok(&self.podman),
            Err(error) => Err(DelegateError::Unavailable(format!(
                "Podman's API does not answer at {} ({}); {}",
                self.socket.uri(),
                one_line(&error.to_string()),
                self.socket.how_to_start()
            ))),
        }
    }
}

fn status_of(error: &podman_api::Error) -> Option<u16> {
    match error {
        podman_api::Error::Fault { code, .. } => Some(code.as_u16()),
        _ => None,
    }
}

/// Whether Podman answered that the thing asked about does not exist.
pub fn is_not_found(error: &podman_api::Error) -> bool {
    status_of(error) == Some(404)
}

/// Whether Podman answered that there was nothing to do (starting a running container,
/// stopping a stopped one).
pub fn is_not_modified(error: &podman_api::Error) -> bool {
    status_of(error) == Some(304)
}

/// A failed API call as a delegate error: "could not {action}: {Podman's reason}".
pub fn failed(action: impl AsRef<str>, error: podman_api::Error) -> DelegateError {
    let reason = match &error {
        podman_api::Error::Fault { message, .. } => reason(message),
        other => one_line(&other.to_string()),
    };
    DelegateError::Failed(format!("could not {}: {reason}", action.as_ref()))
}

/// Podman's error text as the client renders it (`{message}: {cause}`, where the message
/// often ends with the cause already), on one line and without the repeated cause.
fn reason(message: &str) -> String {
    let text = one_line(message);
    let text = text.trim_end_matches(':').trim_end();
    match text.rsplit_once(": ") {
        Some((head, cause)) if head.ends_with(cause) => head.to_owned(),
        _ => text.to_owned(),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_are_read_from_unix_uris_and_paths() {
        let rootful = PodmanSocket::at("unix:///run/podman/podman.sock").unwrap();
        assert_eq!(rootful.uri(), "unix:///run/podman/podman.sock");
        assert!(
            rootful
                .how_to_start()
                .contains("systemctl enable --now podman.socket")
        );
        assert!(
            rootful
                .how_to_start()
                .contains("podman system service --time=0 unix:///run/podman/podman.sock")
        );
        let custom = PodmanSocket::at("/tmp/p.sock").unwrap();
        assert_eq!(custom.uri(), "unix:///tmp/p.sock");
        assert!(!custom.how_to_start().contains("systemctl"));
        let remote = PodmanSocket::at("ssh://core@host/run/podman/podman.sock").unwrap_err();
        assert!(remote.to_string().contains("unix://"), "{remote}");
    }

    #[test]
    fn the_socket_is_container_host_else_roots_else_the_users() {
        let uri = |host, root, runtime| {
            PodmanSocket::choose(host, root, runtime)
                .map(|socket| socket.uri())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            uri(Some("unix:///srv/p.sock"), true, None).unwrap(),
            "unix:///srv/p.sock"
        );
        assert_eq!(
            uri(Some(""), true, None).unwrap(),
            "unix:///run/podman/podman.sock"
        );
        assert_eq!(
            uri(None, false, Some("/run/user/1000")).unwrap(),
            "unix:///run/user/1000/podman/podman.sock"
        );
        let user = PodmanSocket::choose(None, false, Some("/run/user/1000")).unwrap();
        assert!(
            user.how_to_start()
                .contains("systemctl --user enable --now podman.socket")
        );
        assert!(
            uri(None, false, None)
                .unwrap_err()
                .contains("XDG_RUNTIME_DIR")
        );
    }

    #[tokio::test]
    async fn a_socket_nobody_listens_on_says_how_to_start_the_service() {
        let dir = tempfile::tempdir().unwrap();
        let socket = PodmanSocket::at(dir.path().join("none.sock").to_str().unwrap()).unwrap();
        let error = Connection::new(socket)
            .check()
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not answer at unix://"), "{error}");
        assert!(error.contains("podman system service --time=0"), "{error}");
    }

    #[test]
    fn api_errors_read_as_one_sentence() {
        assert_eq!(
            reason("no container with name \"x\" found: no such container: no such container"),
            "no container with name \"x\" found: no such container"
        );
        assert_eq!(reason("image not known: \n"), "image not known");
        assert_eq!(reason("a: b"), "a: b");
    }
}
