//! Failover decisions: which hosts have failed, whether this host is the one that moves their
//! instances, and where each moves. Pure functions over what membership and the store say.
//!
//! A host has failed when SWIM does not see it alive (down, or never heard of) and its lease
//! in the store ran out: a host cut off from the others but still renewing its lease keeps
//! its instances, so a partition never runs an instance twice; a host that lost the store and
//! the network both is replaced once its lease runs out. Of the live hosts (seen alive, lease
//! fresh), the one first by name moves the instances; two that both think so write through the
//! plan's version check, and the second finds nothing left to move.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::actors::membership::{MemberState, MemberView};
use crate::state::ServiceView;
use crate::state::records::{HostRecord, InstanceMove, ServicePhase};

use super::placement::{Candidate, place_beside};
use super::policy::{Policy, Rule};
use super::{PlacementError, units};

/// How long a lease lasts without renewal. Agents renew theirs every 2 s.
pub const LEASE_TERM: Duration = Duration::from_secs(6);

/// Who is live and who has failed, as this host sees the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Liveness {
    /// Hosts seen alive with a fresh lease (this host always), by name.
    pub live: BTreeSet<String>,
    /// Hosts not seen alive whose lease ran out.
    pub failed: BTreeSet<String>,
    /// Live hosts that are drained: their instances move, no new ones come.
    pub drained: BTreeSet<String>,
}

impl Liveness {
    /// Judges every host in `hosts` by SWIM's `views` and the `leases` (host, renewed at),
    /// at `now` (ms since the Unix epoch); `me` is live.
    pub fn judge(
        me: &str,
        hosts: &[HostRecord],
        views: &[MemberView],
        leases: &std::collections::BTreeMap<String, u64>,
        now: u64,
    ) -> Liveness {
        let term = LEASE_TERM.as_millis() as u64;
        let fresh = |host: &str| {
            leases
                .get(host)
                .is_some_and(|&at| now.saturating_sub(at) <= term)
        };
        let mut liveness = Liveness::default();
        liveness.live.insert(me.to_owned());
        for record in hosts {
            if record.drained {
                liveness.drained.insert(record.name.clone());
            }
        }
        for host in hosts.iter().map(|h| &h.name).filter(|host| *host != me) {
            let state = MemberView::latest(views, host).map(|view| view.state);
            let seen = matches!(state, Some(MemberState::Alive | MemberState::Suspect));
            match (seen, fresh(host)) {
                (true, true) if state == Some(MemberState::Alive) => {
                    liveness.live.insert(host.clone());
                }
                (false, false) => {
                    liveness.failed.insert(host.clone());
                }
                _ => {}
            }
        }
        liveness.drained.retain(|host| liveness.live.contains(host));
        liveness
    }

    /// Whether `me` is the live host that moves the failed hosts' instances.
    pub fn leads(&self, me: &str) -> bool {
        self.live.first().is_some_and(|first| first == me)
    }

    /// The hosts whose instances move, each with why: failed, or drained.
    pub fn leaving(&self) -> BTreeMap<String, &'static str> {
        let failed = self.failed.iter().map(|h| (h.clone(), "failed"));
        let drained = self.drained.iter().map(|h| (h.clone(), "is drained"));
        failed.chain(drained).collect()
    }

    /// The live hosts that take instances (not drained).
    pub fn eligible(&self, host: &str) -> bool {
        self.live.contains(host) && !self.drained.contains(host)
    }
}

/// Where the instances of `view` on `leaving` hosts (with why they leave) move among `hosts`
/// (eligible ones), beside those that stay; none when the service is not active. An instance
/// of a Distribution target stays with its host: one per selected host, it has nowhere else
/// to go.
pub fn moves(
    view: &ServiceView,
    leaving: &BTreeMap<String, &'static str>,
    hosts: &[Candidate],
) -> Result<Vec<InstanceMove>, PlacementError> {
    if view.service.phase != ServicePhase::Active {
        return Ok(Vec::new());
    }
    let instantiation = &view.service.instantiation;
    let policies = Policy::read_all(&instantiation.policies)?;
    let distributed = |template: &str| {
        policies
            .iter()
            .any(|p| p.targets(template) && matches!(p.rule, Rule::Distribution { .. }))
    };
    let placements = &view.plan.placements;
    let on_failed = |id: &str| {
        placements
            .get(id)
            .is_some_and(|host| leaving.contains_key(host))
    };
    let moving: Vec<_> = units(instantiation)
        .into_iter()
        .filter(|unit| on_failed(&unit.id) && !distributed(&unit.template))
        .collect();
    if moving.is_empty() {
        return Ok(Vec::new());
    }
    let template_of = |id: &str| {
        instantiation
            .nodes
            .iter()
            .find(|node| node.id == id)
            .map(|node| node.template.clone())
    };
    let staying: Vec<(String, String)> = placements
        .iter()
        .filter(|(id, _)| !on_failed(id))
        .filter_map(|(id, host)| Some((template_of(id)?, host.clone())))
        .collect();
    let placed = place_beside(&moving, &policies, hosts, &staying)?;
    Ok(placed
        .into_iter()
        .map(|(id, placed)| InstanceMove {
            why: format!(
                "moved from {}, which {}: {}",
                placements[&id], leaving[&placements[&id]], placed.why
            ),
            id,
            host: placed.host,
        })
        .collect())
}
