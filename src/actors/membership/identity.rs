//! Who a member is: a host's name, the socket address it answers SWIM on, and a generation
//! that only rises, so that an agent which restarts (or which the cluster declared down and
//! which rejoins) is a new identity that replaces the old one instead of fighting it.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// One member of the cluster, as SWIM knows it.
///
/// Two identities with the same socket address are the same member at two moments: the one
/// with the higher generation wins. The generation starts as the agent's start time in
/// milliseconds since the Unix epoch (so a restarted agent outranks its previous life without
/// any record of it) and rises by one each time the cluster declares this member down and it
/// rejoins.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostIdentity {
    /// The host's name in the cluster (its record is `hosts/<name>.yaml`).
    pub name: String,
    /// Where it receives SWIM datagrams: the member's unique address.
    pub address: SocketAddr,
    /// Which life of this member this is; higher replaces lower.
    pub generation: u64,
}

impl HostIdentity {
    /// The identity of an agent starting at `now_millis` (ms since the Unix epoch, by the
    /// store's clock).
    pub fn starting(name: &str, address: SocketAddr, now_millis: u64) -> Self {
        HostIdentity {
            name: name.to_owned(),
            address,
            generation: now_millis.max(1),
        }
    }

    /// A stand-in for a member known only by address (a seed or another host's record): SWIM
    /// accepts an announcement addressed to any identity with the receiver's address, so the
    /// name and generation are placeholders.
    pub fn reachable_at(name: &str, address: SocketAddr) -> Self {
        HostIdentity {
            name: name.to_owned(),
            address,
            generation: 0,
        }
    }
}

impl fmt::Display for HostIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}#{}", self.name, self.address, self.generation)
    }
}

impl foca::Identity for HostIdentity {
    type Addr = SocketAddr;

    fn renew(&self) -> Option<Self> {
        Some(HostIdentity {
            generation: self.generation.saturating_add(1),
            ..self.clone()
        })
    }

    fn addr(&self) -> SocketAddr {
        self.address
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.generation > adversary.generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foca::Identity;

    fn address() -> SocketAddr {
        "10.77.0.1:7946".parse().unwrap()
    }

    #[test]
    fn a_renewed_identity_keeps_its_address_and_replaces_the_old_one() {
        let first = HostIdentity::starting("alpha", address(), 1_700_000_000_000);
        let renewed = first.renew().expect("identities opt in to rejoining");
        assert_eq!(renewed.addr(), first.addr());
        assert_eq!(renewed.name, first.name);
        assert_ne!(renewed, first);
        assert!(renewed.win_addr_conflict(&first));
        assert!(!first.win_addr_conflict(&renewed));
    }

    #[test]
    fn a_restarted_agent_outranks_its_previous_life() {
        let before = HostIdentity::starting("alpha", address(), 1_700_000_000_000);
        let after = HostIdentity::starting("alpha", address(), 1_700_000_000_002);
        assert!(after.generation > before.generation);
        assert!(after.win_addr_conflict(&before));
    }

    #[test]
    fn a_stand_in_shares_the_members_address_and_loses_to_it() {
        let member = HostIdentity::starting("alpha", address(), 0);
        let stand_in = HostIdentity::reachable_at("alpha", address());
        assert_eq!(stand_in.addr(), member.addr());
        assert!(member.win_addr_conflict(&stand_in));
    }
}
