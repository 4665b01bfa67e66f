//! SWIM's timings for a LAN, and what they mean for failure detection.
//!
//! Starting point: foca's `Config::new_lan`, itself modelled on memberlist's LAN defaults —
//! a probe every 1 s, 500 ms for the direct ack before 3 indirect probes, gossip every 200 ms
//! to 3 members, and a suspicion that lasts 4·max(1, log10 n) probe periods (4 s up to ten
//! hosts, 8 s at a hundred). Changed here:
//!
//! - announcing to members believed down every 10 s instead of 65 s, so both sides of a healed
//!   partition find each other quickly on a LAN (the actor also re-announces to the store's
//!   hosts every [`REJOIN_INTERVAL`]);
//! - a host that hears from no member for [`CUT_OFF_AFTER`] starts afresh (see there);
//! - SWIM's payload is at most the codec's [`MAX_DATAGRAM`] less what sealing adds, so a
//!   sealed datagram still fits a LAN's MTU.
//!
//! Failure detection, for a cluster of up to ten hosts: a dead host is suspected one probe
//! period after a member's probe of it fails (each member probes the others in a shuffled
//! round, one per period), and declared down 4 s after that. Measured on loopback
//! (benches/RESULTS.md): first suspicion after about 2 s (median), "down" on every other host
//! after about 6 s (median), 7.3 s at p90, 9 s at worst.

use std::num::NonZeroU32;
use std::time::Duration;

use foca::{Config, PeriodicParams};

use super::codec::MAX_DATAGRAM;
use super::seal::SEAL_OVERHEAD;

/// How often the actor announces itself again to the store's hosts it does not see alive.
pub const REJOIN_INTERVAL: Duration = Duration::from_secs(5);

/// How long a host that knows live members may hear from none before it judges itself cut off.
/// Each probe period it probes a member and expects an answer within the period, and every
/// other member probes it now and then, so three silent periods mean that every probe failed.
/// Knowing it is alone, the host forgets the members (they are down as it sees them) and starts
/// SWIM afresh as a newer identity; when the network heals it announces itself and is taken
/// back as that identity, so the hosts that stayed connected never hear from it that *they*
/// are down (SWIM's answer to a member it declared down) and keep their identities.
pub const CUT_OFF_AFTER: Duration = Duration::from_secs(3);

/// How often the actor checks whether it was cut off.
pub const LISTEN_INTERVAL: Duration = Duration::from_millis(500);

/// SWIM's configuration for a LAN cluster of about `hosts` hosts.
pub fn lan_config(hosts: usize) -> Config {
    let size =
        NonZeroU32::new(u32::try_from(hosts.max(1)).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
    let mut config = Config::new_lan(size);
    config.periodic_announce_to_down_members = Some(PeriodicParams {
        frequency: Duration::from_secs(10),
        num_members: std::num::NonZeroUsize::new(2).expect("two is not zero"),
    });
    config.max_packet_size =
        std::num::NonZeroUsize::new(MAX_DATAGRAM - SEAL_OVERHEAD).expect("not zero");
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_lan_cluster_declares_a_suspect_down_after_four_probe_periods() {
        let config = lan_config(3);
        assert_eq!(config.probe_period, Duration::from_secs(1));
        assert_eq!(config.suspect_to_down_after, 4 * config.probe_period);
        assert!(config.notify_down_members);
    }

    #[test]
    fn suspicion_grows_slowly_with_the_cluster() {
        assert!(lan_config(100).suspect_to_down_after > lan_config(10).suspect_to_down_after);
        assert_eq!(
            lan_config(0).suspect_to_down_after,
            lan_config(1).suspect_to_down_after
        );
    }
}
