//! The datagram seam under SWIM. The Membership actor sends through a [`Transport`] and
//! receives [`MembershipMsg::Datagram`]s from whoever delivers them: here a real UDP socket
//! with a receiving task; in the simulator, a fake network that drops, delays and partitions.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use ractor::ActorRef;
use tokio::net::UdpSocket;

use super::codec::MAX_DATAGRAM;
use super::messages::MembershipMsg;

/// Sends datagrams and delivers received ones to a Membership actor.
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    /// The address other members reach this one at.
    fn local_address(&self) -> SocketAddr;

    /// Sends one datagram, best effort: a datagram that cannot be sent now is dropped, as the
    /// network may drop any datagram; SWIM copes with loss.
    fn send(&self, to: SocketAddr, datagram: &[u8]);

    /// Starts delivering received datagrams to `actor` until the returned guard is dropped.
    fn deliver_to(&self, actor: ActorRef<MembershipMsg>) -> Delivery;
}

/// Stops a transport's delivery to an actor when dropped (when the actor stops or crashes).
pub struct Delivery(Option<Box<dyn FnOnce() + Send>>);

impl Delivery {
    /// A guard that runs `stop` when dropped.
    pub fn stopping_with(stop: impl FnOnce() + Send + 'static) -> Self {
        Delivery(Some(Box::new(stop)))
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            stop();
        }
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Delivery")
    }
}

/// A real UDP socket.
#[derive(Debug, Clone)]
pub struct UdpTransport {
    socket: Arc<UdpSocket>,
    local: SocketAddr,
}

impl UdpTransport {
    /// Binds a UDP socket on `address` (port 0 picks a free port; [`Transport::local_address`]
    /// tells which).
    pub async fn bind(address: SocketAddr) -> std::io::Result<Self> {
        let socket = UdpSocket::bind(address).await?;
        let local = socket.local_addr()?;
        Ok(UdpTransport {
            socket: Arc::new(socket),
            local,
        })
    }
}

impl Transport for UdpTransport {
    fn local_address(&self) -> SocketAddr {
        self.local
    }

    fn send(&self, to: SocketAddr, datagram: &[u8]) {
        if let Err(error) = self.socket.try_send_to(datagram, to) {
            tracing::debug!(%to, %error, "a SWIM datagram was not sent");
        }
    }

    fn deliver_to(&self, actor: ActorRef<MembershipMsg>) -> Delivery {
        deliver(self.socket.clone(), actor, |from, data| {
            MembershipMsg::Datagram { from, data }
        })
    }
}

/// Delivers what `socket` receives to `actor`, each datagram as `message` makes it, until the
/// returned guard is dropped.
pub(super) fn deliver(
    socket: Arc<UdpSocket>,
    actor: ActorRef<MembershipMsg>,
    message: fn(SocketAddr, Vec<u8>) -> MembershipMsg,
) -> Delivery {
    let task = tokio::spawn(async move {
        // One byte more than accepted, so an oversized datagram is seen as oversized.
        let mut buffer = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            match socket.recv_from(&mut buffer).await {
                Ok((length, from)) => {
                    let data = buffer[..length].to_vec();
                    if actor.cast(message(from, data)).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    // Errors on an unconnected UDP socket are transient (an ICMP report
                    // about an earlier send); pause so a persistent one cannot spin.
                    tracing::debug!(%error, "receiving a datagram failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    });
    Delivery::stopping_with(move || task.abort())
}
