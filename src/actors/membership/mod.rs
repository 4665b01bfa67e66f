//! Cluster membership: which hosts are alive, by SWIM over UDP (the `foca` crate).
//!
//! Why: placement, failover and host-to-host messages all need to know which hosts are up,
//! without a central server. SWIM gives every agent that knowledge with a constant load per
//! host: each probes one other member per period (asking others to probe it indirectly when
//! it does not answer), suspects one that still does not answer, and declares it down when
//! the suspicion is not refuted in time; news rides on the probes and on periodic gossip.
//!
//! How: foca is the protocol core and knows no I/O; the [`Membership`] actor is its runtime.
//! Datagrams go through the [`Transport`] seam (a real UDP socket here, a fake network in the
//! simulator), timers are actor messages sent after a delay, and foca's random choices come
//! from a seeded generator. A member's [`HostIdentity`] is its host name, its socket address
//! and a generation, so an agent that restarts under the same name replaces its previous life.
//!
//! Only members take part: every datagram is sealed with the cluster's secret, which every
//! host reads from the shared store, and one that does not open (an outsider's, another
//! cluster's, a replay, a stale one) is dropped unanswered and counted ([`Seal`]). A member's
//! generation may not run ahead of the clock ([`GENERATION_LEAD`]), so no datagram can make a
//! host's real life lose to a forged one.
//!
//! Joining needs no seed list: every host mounts the shared store and its record
//! (`hosts/<name>.yaml`) carries the address it listens on. At start the actor announces
//! itself to the address of every other host record, and to `--join` addresses if given; one
//! answer is enough, since the answer carries the members the other host knows. It announces
//! again every few seconds to the hosts it does not see alive, which also rejoins the two
//! sides of a healed partition.
//!
//! With `--discover` agents on one LAN segment also find each other by multicast beacons
//! ([`Discovery`]), with no host record in common.
//!
//! The agent runs membership only when started with `--listen`; without it the host is alone
//! and `host list` shows the other hosts' states as unknown.

mod actor;
mod codec;
mod discovery;
mod identity;
mod messages;
mod seal;
mod transport;
mod tuning;
mod view;

pub use actor::{Membership, MembershipArgs, MembershipState};
pub use codec::{GENERATION_LEAD, MAX_DATAGRAM, WireCodec, WireError, wire_codec};
pub use discovery::{BEACON_INTERVAL, Beacon, DISCOVERY_GROUP, DISCOVERY_PORT, Discovery};
pub use identity::HostIdentity;
pub use messages::{DroppedDatagrams, MembershipMsg};
pub use seal::{FRESHNESS, Rejection, SEAL_OVERHEAD, Seal};
pub use transport::{Delivery, Transport, UdpTransport};
pub use tuning::{REJOIN_INTERVAL, lan_config};
pub use view::{MemberState, MemberView};

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// How an agent takes part in membership: its transport and any explicit seeds. Set up once
/// per agent (the socket is bound before the actors start) and handed to each Membership
/// actor the Host starts.
#[derive(Clone, Debug)]
pub struct MembershipNetwork {
    /// The datagram transport, already bound.
    pub transport: Arc<dyn Transport>,
    /// Addresses given with `--join`.
    pub seeds: Vec<SocketAddr>,
    /// The multicast discovery group, with `--discover`.
    pub discovery: Option<Arc<Discovery>>,
}

/// The UDP port membership uses when an address gives none.
pub const DEFAULT_PORT: u16 = 7946;

/// Reads a membership address as given on the command line: `IP:PORT`, `[IPv6]:PORT` or a
/// bare IP (port [`DEFAULT_PORT`]). The unspecified address (0.0.0.0, ::) is refused: other
/// hosts could not reach it.
pub fn parse_address(text: &str) -> Result<SocketAddr, String> {
    let address = match text.parse::<SocketAddr>() {
        Ok(address) => address,
        Err(_) => match text.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, DEFAULT_PORT),
            Err(_) => {
                return Err(format!(
                    "{text:?} is not an IP address with an optional port, like 10.0.0.5:{DEFAULT_PORT}"
                ));
            }
        },
    };
    if address.ip().is_unspecified() {
        return Err(format!(
            "{text:?} is not an address other hosts can reach; give this host's own IP address"
        ));
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_may_omit_its_port() {
        assert_eq!(
            parse_address("10.77.0.2").unwrap(),
            "10.77.0.2:7946".parse().unwrap()
        );
        assert_eq!(
            parse_address("10.77.0.2:9000").unwrap(),
            "10.77.0.2:9000".parse().unwrap()
        );
        assert_eq!(
            parse_address("[::1]:9000").unwrap(),
            "[::1]:9000".parse().unwrap()
        );
    }

    #[test]
    fn unreachable_or_malformed_addresses_are_refused() {
        assert!(parse_address("0.0.0.0:7946").is_err());
        assert!(parse_address("::").is_err());
        assert!(parse_address("host.example:7946").is_err());
        assert!(parse_address("10.77.0.2:70000").is_err());
    }
}
