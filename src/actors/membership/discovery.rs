//! Multicast discovery (`khutulun agent --discover`): agents on one LAN segment find each other
//! with no host record in common and no `--join`. Every few seconds each agent sends a beacon
//! (its name and SWIM address, sealed like every SWIM datagram, so only hosts holding the
//! cluster's secret are heard) to a multicast group; an agent that hears a beacon from a host
//! it does not see alive announces itself to it, and SWIM does the rest.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use ractor::ActorRef;
use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;

use super::messages::MembershipMsg;
use super::transport::{Delivery, deliver};

/// The multicast group beacons go to (organisation-local scope).
pub const DISCOVERY_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 79, 46);

/// The UDP port beacons go to.
pub const DISCOVERY_PORT: u16 = 7947;

/// How often an agent sends its beacon.
pub const BEACON_INTERVAL: Duration = Duration::from_secs(3);

/// What a beacon says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    /// The host's name.
    pub name: String,
    /// Where it answers SWIM.
    pub address: SocketAddr,
}

impl Beacon {
    /// The beacon's bytes (before sealing).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a beacon always serializes")
    }

    /// A beacon from its bytes (after opening).
    pub fn decode(bytes: &[u8]) -> Result<Beacon, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a beacon: {e}"))
    }
}

/// The multicast socket of one agent, joined to [`DISCOVERY_GROUP`] on its interface.
#[derive(Debug)]
pub struct Discovery {
    socket: Arc<UdpSocket>,
}

impl Discovery {
    /// Joins the group on the interface with address `interface` (the agent's `--listen`
    /// address); other agents on the machine may join too.
    pub fn join(interface: Ipv4Addr) -> io::Result<Discovery> {
        use socket2::{Domain, Protocol, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DISCOVERY_PORT);
        socket.bind(&any.into())?;
        socket.join_multicast_v4(&DISCOVERY_GROUP, &interface)?;
        socket.set_multicast_if_v4(&interface)?;
        socket.set_multicast_loop_v4(true)?;
        let socket = UdpSocket::from_std(socket.into())?;
        Ok(Discovery {
            socket: Arc::new(socket),
        })
    }

    /// Sends a sealed beacon to the group, best effort.
    pub fn send(&self, datagram: &[u8]) {
        let group = SocketAddrV4::new(DISCOVERY_GROUP, DISCOVERY_PORT);
        if let Err(error) = self.socket.try_send_to(datagram, group.into()) {
            tracing::debug!(%error, "a beacon was not sent");
        }
    }

    /// Delivers the beacons heard to `actor` until the guard is dropped.
    pub fn deliver_to(&self, actor: ActorRef<MembershipMsg>) -> Delivery {
        deliver(self.socket.clone(), actor, |from, data| {
            MembershipMsg::Beacon { from, data }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beacon_survives_its_bytes_and_garbage_is_no_beacon() {
        let beacon = Beacon {
            name: "alpha".into(),
            address: "10.77.0.1:7946".parse().unwrap(),
        };
        assert_eq!(Beacon::decode(&beacon.encode()), Ok(beacon));
        assert!(Beacon::decode(b"{\"name\": 1}").is_err());
    }
}
