//! The docker delegate: runs a `Container` (or `Pod`) instance as a container of a Docker Engine, through
//! its API socket (the `bollard` crate), as `docker run -d` would, when a Delegation policy
//! names `docker` for it.
//!
//! The container is the podman delegate's ([`crate::delegates::podman::ContainerPlan`]): the
//! same name `khutulun-<service>-<instance>` (so `docker ps` shows it), labels, image (the
//! local one when present, pulled only when missing, or loaded from an `OCIImageArchive`
//! artifact), command, environment, published reserved ports, bind-mounted directories, OCI
//! runtime and restart policy; only the API it is asked of differs. The engine's own restart
//! policy restarts it, so it outlives the agent, and `Adopt` finds it again by name and
//! labels.
//!
//! The socket is `$DOCKER_HOST` when set (`unix://` only), else dockerd's
//! `/var/run/docker.sock` when it exists, else Podman's API socket, which answers the Docker
//! API too (then `podman ps` shows the containers as well). `service logs` and `service exec`
//! run `docker -H SOCKET logs|exec`, or `podman --url SOCKET …` on Podman's socket where no
//! Docker CLI is installed.
//!
//! A `Pod` has no counterpart in the Docker API: its containers share the network namespace
//! of the first of them (in name order), which publishes the pod's ports (see `pod.rs`).
//!
//! Attributes: `container_id` and `name` (a pod: `pod_id`, the id of the container holding its
//! network, and `name`). Images stay in the engine when an instance is deleted.

mod actor;
mod connection;
mod create;
mod image;
mod lifecycle;
mod message;
mod pod;

pub use actor::{DockerConfig, DockerDelegate};
pub use connection::{DOCKERD_SOCKET, DockerSocket};
pub use message::DockerMsg;
