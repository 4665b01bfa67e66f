//! The podman delegate: runs each `Container` instance as a Podman container (and each `Pod`
//! as a Podman pod), the way a
//! sysadmin would by hand, through Podman's API socket (the `podman-api` crate).
//!
//! The container is named `khutulun-<service>-<instance>` (so `podman ps` shows it) and labelled
//! `khutulun.service`, `khutulun.instance` and `khutulun.node`, which find it again after an agent
//! restart; a container of that name without those labels is never touched. Its image is the
//! local one when present, pulled only when missing, or loaded from an `OCIImageArchive`
//! artifact of the node. Podman's own restart policy (from the template's `restart`) restarts
//! it, so it outlives the agent; `Adopt` finds it again and starts it when it ended while no
//! agent looked and its policy says so.
//!
//! What the container gets from its requirements, as a process does: for each connection to an
//! endpoint, `<NAME>_HOST` and `<NAME>_PORT`; for each attached directory, `<NAME>_PATH`
//! (NAME is the requirement's name in upper case, or the relationship's `variable`). In
//! addition, a connection to a reserved `Port` publishes it: `address:port` on the host goes to
//! the same port in the container, where a server listens on `$<NAME>_PORT` on all of the
//! container's addresses. An attached directory is bind-mounted at the same path (read-only
//! when the AttachesTo says `read_only`). The template's `environment` comes last and wins.
//!
//! The socket is `$CONTAINER_HOST` when set (`unix://` only), else `/run/podman/podman.sock`
//! for root, else `$XDG_RUNTIME_DIR/podman/podman.sock`; when it does not answer, every call
//! fails saying how to start the API service.
//!
//! A `Pod` instance is a Podman pod of the same name holding one container per entry of its
//! `containers` (named `<pod>-<entry>`, with the label `khutulun.member`): the pod publishes
//! the reserved ports, its containers share its network (they reach each other at 127.0.0.1)
//! and each gets the requirements' variables and mounts, the pod's `environment` and then its
//! own. The pod runs when all its containers run.
//!
//! Attributes: `container_id` and `name` for a container, `pod_id` and `name` for a pod. Images
//! stay in Podman when an instance is deleted.

mod actor;
mod connection;
pub mod health;
mod image;
mod lifecycle;
mod message;
mod plan;
mod pod_lifecycle;
mod pod_plan;

pub use actor::{PodmanConfig, PodmanDelegate};
pub use connection::{PodmanSocket, ROOTFUL_SOCKET};
pub use message::PodmanMsg;
pub use plan::{
    BindMount, ContainerIdentity, ContainerPlan, INSTANCE_LABEL, ImageSource, NAMESPACE_LABEL,
    NODE_LABEL, PublishedPort, SERVICE_LABEL, container_name, published_ports,
};
pub use pod_plan::{MEMBER_LABEL, PodPlan};
