//! Where a Docker Engine API answers and how to reach it: the socket (`$DOCKER_HOST`, else
//! dockerd's `/var/run/docker.sock` when it is there, else Podman's socket, which serves the
//! same API), a client of it that agrees an API version with the engine once, and the engine's
//! errors as the delegates' one-sentence errors.

use std::path::{Path, PathBuf};

use bollard::{API_DEFAULT_VERSION, Docker};
use tokio::sync::OnceCell;

use crate::delegates::podman::PodmanSocket;
use crate::delegates::protocol::DelegateError;

/// dockerd's socket.
pub const DOCKERD_SOCKET: &str = "/var/run/docker.sock";

/// How long one API call may take; longer ones (an image load) are bounded by the caller.
const CALL_TIMEOUT_SECS: u64 = 120;

/// A Docker Engine API socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerSocket {
    path: PathBuf,
    /// Whether it is Podman's socket (which then also answers `podman --url`).
    podman: bool,
}

impl DockerSocket {
    /// The socket named by `uri` (`unix:///path` or a plain absolute path).
    pub fn at(uri: &str) -> Result<DockerSocket, DelegateError> {
        let path = match uri.strip_prefix("unix://") {
            Some(path) => path,
            None if uri.starts_with('/') => uri,
            None => {
                return Err(DelegateError::Unavailable(format!(
                    "the Docker API at {uri:?} is not a unix:// socket, the only kind the docker delegate talks to"
                )));
            }
        };
        Ok(DockerSocket {
            path: PathBuf::from(path),
            podman: false,
        })
    }

    /// The socket this agent should use: `$DOCKER_HOST` when set, else dockerd's socket when
    /// it exists, else Podman's API socket (see [`PodmanSocket::from_environment`]).
    pub fn from_environment() -> Result<DockerSocket, DelegateError> {
        DockerSocket::choose(
            std::env::var("DOCKER_HOST").ok().as_deref(),
            Path::new(DOCKERD_SOCKET).exists(),
            PodmanSocket::from_environment,
        )
    }

    /// The rule of [`DockerSocket::from_environment`], from the values it reads.
    fn choose(
        docker_host: Option<&str>,
        dockerd_socket_exists: bool,
        podman: impl FnOnce() -> Result<PodmanSocket, DelegateError>,
    ) -> Result<DockerSocket, DelegateError> {
        if let Some(uri) = docker_host.filter(|uri| !uri.is_empty()) {
            return DockerSocket::at(uri);
        }
        if dockerd_socket_exists {
            return DockerSocket::at(DOCKERD_SOCKET);
        }
        let podman = podman()?;
        Ok(DockerSocket {
            path: podman.path().to_owned(),
            podman: true,
        })
    }

    /// `unix:///path`, as `docker -H` and `DOCKER_HOST` take it.
    pub fn uri(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// The command line program that reaches the same containers through this socket, and its
    /// flag for the socket: `docker -H` where the Docker CLI is installed, else `podman --url`
    /// (which works when the socket is Podman's).
    pub fn cli(&self) -> (&'static str, &'static str) {
        if on_path("docker") {
            ("docker", "-H")
        } else {
            ("podman", "--url")
        }
    }

    /// How a person makes this socket answer, in one clause.
    fn how_to_start(&self) -> String {
        if self.podman {
            format!(
                "no dockerd runs here, so the docker delegate uses Podman's Docker-compatible API: start it with `podman system service --time=0 {}`, or install and start dockerd",
                self.uri()
            )
        } else {
            "start dockerd (`systemctl start docker`) or point DOCKER_HOST at a Docker API socket"
                .into()
        }
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// A client of one Docker API socket.
#[derive(Debug)]
pub struct Connection {
    socket: DockerSocket,
    /// The client, once it agreed an API version with the engine.
    docker: OnceCell<Docker>,
}

impl Connection {
    /// A client of `socket` (nothing is sent until it is used).
    pub fn new(socket: DockerSocket) -> Connection {
        Connection {
            socket,
            docker: OnceCell::new(),
        }
    }

    /// The socket it talks to.
    pub fn socket(&self) -> &DockerSocket {
        &self.socket
    }

    /// The client, once the engine has answered (the first answer fixes the API version both
    /// speak); otherwise an error that says how to start the engine.
    pub async fn check(&self) -> Result<&Docker, DelegateError> {
        let unavailable = |error: bollard::errors::Error| {
            DelegateError::Unavailable(format!(
                "the Docker API does not answer at {} ({}); {}",
                self.socket.uri(),
                one_line(&error.to_string()),
                self.socket.how_to_start()
            ))
        };
        let docker = self
            .docker
            .get_or_try_init(|| async {
                let path = self.socket.path.to_string_lossy();
                Docker::connect_with_unix(&path, CALL_TIMEOUT_SECS, API_DEFAULT_VERSION)
                    .map_err(unavailable)?
                    .negotiate_version()
                    .await
                    .map_err(unavailable)
            })
            .await?;
        docker.ping().await.map_err(unavailable)?;
        Ok(docker)
    }
}

fn status_of(error: &bollard::errors::Error) -> Option<u16> {
    match error {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Whether the engine answered that the thing asked about does not exist.
pub fn is_not_found(error: &bollard::errors::Error) -> bool {
    status_of(error) == Some(404)
}

/// Whether the engine answered that there was nothing to do (starting a running container,
/// stopping a stopped one).
pub fn is_not_modified(error: &bollard::errors::Error) -> bool {
    status_of(error) == Some(304)
}

/// A failed API call as a delegate error: "could not {action}: {the engine's reason}".
pub fn failed(action: impl AsRef<str>, error: bollard::errors::Error) -> DelegateError {
    let reason = match &error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => one_line(message),
        other => one_line(&other.to_string()),
    };
    DelegateError::Failed(format!("could not {}: {reason}", action.as_ref()))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn podman() -> Result<PodmanSocket, DelegateError> {
        PodmanSocket::at("/run/podman/podman.sock")
    }

    #[test]
    fn the_socket_is_docker_host_else_dockerds_else_podmans() {
        let uri = |host, dockerd| DockerSocket::choose(host, dockerd, podman).unwrap();
        assert_eq!(
            uri(Some("unix:///srv/d.sock"), true).uri(),
            "unix:///srv/d.sock"
        );
        assert_eq!(uri(Some(""), true).uri(), "unix:///var/run/docker.sock");
        let fallback = uri(None, false);
        assert_eq!(fallback.uri(), "unix:///run/podman/podman.sock");
        assert!(
            fallback
                .how_to_start()
                .contains("Podman's Docker-compatible API")
        );
        let remote = DockerSocket::choose(Some("tcp://10.0.0.1:2375"), false, podman);
        assert!(remote.unwrap_err().to_string().contains("unix://"));
    }

    #[tokio::test]
    async fn a_socket_nobody_listens_on_says_how_to_start_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let socket = DockerSocket::at(dir.path().join("none.sock").to_str().unwrap()).unwrap();
        let error = Connection::new(socket)
            .check()
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not answer at unix://"), "{error}");
        assert!(error.contains("start dockerd"), "{error}");
    }
}
