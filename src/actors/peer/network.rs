//! The node server that links this agent to the others, and keeping the links in step with
//! membership: a session is opened to every member seen alive and closed for every member
//! seen down (TCP alone would take minutes to notice a host that vanished).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use ractor::{Actor, ActorRef};
use ractor_cluster::{NodeServer, NodeServerMessage, NodeSessionMessage};

use crate::actors::membership::MemberView;
use crate::state::{ClusterSecret, MemberState};

/// What the cookie of host-to-host sessions is derived for (see [`ClusterSecret::derive`]).
pub const COOKIE_PURPOSE: &str = "khutulun host-to-host session cookie";

/// The largest frame a peer may send (a reply with instances' output is the largest).
const MAX_FRAME: u64 = 2 * super::part::MAX_MESSAGE as u64;

/// How long opening a TCP connection to a member may take.
const CONNECT_PATIENCE: Duration = Duration::from_secs(2);

/// How long the node server may take to list its sessions.
const SESSIONS_PATIENCE: Duration = Duration::from_secs(2);

/// One session with another agent.
struct Session {
    /// The host name its peer gave.
    host: String,
    actor: ActorRef<NodeSessionMessage>,
}

/// This agent's node server.
#[derive(Clone, Debug)]
pub struct PeerNetwork {
    node_server: ActorRef<NodeServerMessage>,
}

impl PeerNetwork {
    /// Listens on TCP at `address` (membership's UDP address) as node `host`, admitting only
    /// peers that prove they hold `secret`.
    pub async fn start(
        host: &str,
        address: SocketAddr,
        secret: &ClusterSecret,
    ) -> Result<PeerNetwork, ractor::SpawnErr> {
        let server = NodeServer::new(
            address.port(),
            secret.derive(COOKIE_PURPOSE),
            host.to_owned(),
            address.ip().to_string(),
            None,
            Some(ractor_cluster::node::NodeConnectionMode::Isolated),
        )
        .with_listen_addr(address.ip())
        .with_max_inbound_frame_size(MAX_FRAME);
        let (node_server, _) = Actor::spawn(None, server, ()).await?;
        Ok(PeerNetwork { node_server })
    }

    /// Opens a session to every member of `views` seen alive that has none, and closes the
    /// session of every member seen down.
    pub async fn keep_in_step(&self, me: &str, views: &[MemberView]) {
        let sessions = self.sessions().await;
        let linked: HashSet<&str> = sessions.iter().map(|s| s.host.as_str()).collect();
        for view in views {
            let alive = view.state == MemberState::Alive;
            if alive && view.name != me && !linked.contains(view.name.as_str()) {
                self.open(view.name.clone(), view.address);
            }
        }
        for session in &sessions {
            let down = views
                .iter()
                .any(|view| view.name == session.host && view.state == MemberState::Down);
            if down {
                tracing::info!(host = %session.host, "closing the session with a host seen down");
                session
                    .actor
                    .stop(Some("membership sees the host down".into()));
            }
        }
    }

    /// The hosts this agent has a session with that passed authentication and exchanged
    /// their actors: those it can send to.
    pub async fn linked(&self) -> Vec<String> {
        let mut linked = Vec::new();
        for session in self.sessions().await {
            let ready = session
                .actor
                .call(NodeSessionMessage::GetReadyState, Some(SESSIONS_PATIENCE))
                .await;
            if let Ok(ractor::rpc::CallResult::Success(true)) = ready {
                linked.push(session.host);
            }
        }
        linked.sort();
        linked
    }

    /// The sessions open or opening, whose peer said its name.
    async fn sessions(&self) -> Vec<Session> {
        let listed = self
            .node_server
            .call(NodeServerMessage::GetSessions, Some(SESSIONS_PATIENCE))
            .await;
        let Ok(ractor::rpc::CallResult::Success(sessions)) = listed else {
            return Vec::new();
        };
        sessions
            .into_values()
            .filter_map(|session| {
                let full = session.peer_name?.name;
                let host = full.split_once('@').map_or(full.as_str(), |(host, _)| host);
                Some(Session {
                    host: host.to_owned(),
                    actor: session.actor,
                })
            })
            .collect()
    }

    /// Opens a session to `host` at `address` beside the caller.
    fn open(&self, host: String, address: SocketAddr) {
        let node_server = self.node_server.clone();
        tokio::spawn(async move {
            let connect = ractor_cluster::client_connect(&node_server, address);
            match tokio::time::timeout(CONNECT_PATIENCE, connect).await {
                Ok(Ok(())) => tracing::debug!(%host, %address, "session opened"),
                Ok(Err(error)) => tracing::debug!(%host, %address, %error, "no session yet"),
                Err(_) => tracing::debug!(%host, %address, "no session yet: no answer"),
            }
        });
    }

    /// Opens a session to the agent at `address` (another cluster's node server, in tests).
    pub fn connect(&self, address: SocketAddr) {
        self.open(address.to_string(), address);
    }

    /// Stops the node server and its sessions (the agent stops).
    pub fn stop(&self) {
        self.node_server.stop(Some("the agent stops".into()));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use ractor_cluster::NodeEventSubscription;
    use ractor_cluster::node::NodeServerSessionInformation;

    use super::*;

    /// A node server on a free loopback port.
    async fn start(host: &str, secret: &ClusterSecret) -> (PeerNetwork, SocketAddr) {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = free.local_addr().unwrap();
        drop(free);
        (
            PeerNetwork::start(host, address, secret).await.unwrap(),
            address,
        )
    }

    /// Each session event, as `(event, peer name)`.
    #[derive(Clone, Default)]
    struct Events(Arc<Mutex<Vec<(&'static str, String)>>>);

    impl Events {
        fn push(&self, event: &'static str, session: NodeServerSessionInformation) {
            let name = session.peer_name.map(|n| n.name).unwrap_or_default();
            self.0.lock().unwrap().push((event, name));
        }

        fn saw(&self, event: &str, host: &str) -> bool {
            let events = self.0.lock().unwrap();
            events
                .iter()
                .any(|(e, name)| *e == event && name.starts_with(host))
        }
    }

    impl NodeEventSubscription for Events {
        fn node_session_opened(&self, session: NodeServerSessionInformation) {
            self.push("opened", session);
        }
        fn node_session_disconnected(&self, session: NodeServerSessionInformation) {
            self.push("disconnected", session);
        }
        fn node_session_authenticated(&self, session: NodeServerSessionInformation) {
            self.push("authenticated", session);
        }
    }

    async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !check().await {
            assert!(std::time::Instant::now() < deadline, "never: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn only_agents_holding_the_cluster_s_secret_are_linked() {
        let secret = ClusterSecret::generate().unwrap();
        let (alpha, alpha_address) = start("alpha", &secret).await;
        let (gamma, _) = start("gamma", &secret).await;
        let (outsider, _) = start("beta", &ClusterSecret::generate().unwrap()).await;
        let events = Events::default();
        let subscription = NodeServerMessage::SubscribeToEvents {
            id: "test".into(),
            subscription: Box::new(events.clone()),
        };
        alpha.node_server.cast(subscription).unwrap();

        outsider.connect(alpha_address);
        gamma.connect(alpha_address);
        eventually("gamma is linked to alpha", async || {
            alpha.linked().await == ["gamma"] && gamma.linked().await == ["alpha"]
        })
        .await;
        eventually("the outsider's session ends", async || {
            events.saw("disconnected", "beta")
        })
        .await;
        assert!(!events.saw("authenticated", "beta"));
        assert_eq!(alpha.linked().await, ["gamma"]);
        assert!(outsider.linked().await.is_empty());
    }
}
